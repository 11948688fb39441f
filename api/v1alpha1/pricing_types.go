package v1alpha1

// ModelPrice is the price of one model, in USD per million tokens, as decimal
// strings such as "2.50".
type ModelPrice struct {
	// Model is the model name as the app requests it, e.g. gpt-4o-mini.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Model string `json:"model"`

	// InputPerMillion is the USD price of one million input tokens.
	//
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,9}([.][0-9]{1,6})?$')",message="must be a USD price per million tokens as a decimal string with at most 6 decimals, such as \"2.50\""
	InputPerMillion string `json:"inputPerMillion"`

	// OutputPerMillion is the USD price of one million output tokens.
	//
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,9}([.][0-9]{1,6})?$')",message="must be a USD price per million tokens as a decimal string with at most 6 decimals, such as \"2.50\""
	OutputPerMillion string `json:"outputPerMillion"`

	// CachedInputPerMillion is the USD price of one million input tokens
	// served from the provider's prompt cache. Defaults to InputPerMillion.
	//
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,9}([.][0-9]{1,6})?$')",message="must be a USD price per million tokens as a decimal string with at most 6 decimals, such as \"2.50\""
	// +optional
	CachedInputPerMillion string `json:"cachedInputPerMillion,omitempty"`

	// CacheWritePerMillion is the USD price of one million input tokens
	// written to the provider's prompt cache: Anthropic's 5-minute cache, and
	// writes whose lifetime the provider does not report. Defaults to 1.25 ×
	// InputPerMillion, Anthropic's rate.
	//
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,9}([.][0-9]{1,6})?$')",message="must be a USD price per million tokens as a decimal string with at most 6 decimals, such as \"2.50\""
	// +optional
	CacheWritePerMillion string `json:"cacheWritePerMillion,omitempty"`

	// CacheWrite1hPerMillion is the USD price of one million input tokens
	// written to Anthropic's one-hour prompt cache. Defaults to 2 ×
	// InputPerMillion, Anthropic's rate.
	//
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,9}([.][0-9]{1,6})?$')",message="must be a USD price per million tokens as a decimal string with at most 6 decimals, such as \"2.50\""
	// +optional
	CacheWrite1hPerMillion string `json:"cacheWrite1hPerMillion,omitempty"`

	// MaxOutputTokens is the most output tokens the model writes in one
	// answer: a request that sets no max tokens reserves this much output
	// under a budget. Defaults to the built-in table's figure for the
	// models it knows, else 4096.
	// Between 1 and 10000000.
	//
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 10000000",message="must be between 1 and 10000000"
	// +optional
	MaxOutputTokens *int64 `json:"maxOutputTokens,omitempty"`
}
