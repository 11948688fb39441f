package v1alpha1

// ProviderType is the API family a provider speaks.
//
// +kubebuilder:validation:Enum=OpenAI;Anthropic;AzureOpenAI;Gemini;OpenAICompatible
type ProviderType string

// Provider types.
const (
	// ProviderOpenAI is api.openai.com: chat completions, responses, embeddings.
	ProviderOpenAI ProviderType = "OpenAI"
	// ProviderAnthropic is api.anthropic.com: messages, and its
	// OpenAI-compatible chat completions endpoint.
	ProviderAnthropic ProviderType = "Anthropic"
	// ProviderAzureOpenAI is an Azure OpenAI resource.
	ProviderAzureOpenAI ProviderType = "AzureOpenAI"
	// ProviderGemini is the Gemini API: generateContent, and its
	// OpenAI-compatible endpoint.
	ProviderGemini ProviderType = "Gemini"
	// ProviderOpenAICompatible is any server speaking the OpenAI API, such as
	// vLLM, Ollama or llama.cpp.
	ProviderOpenAICompatible ProviderType = "OpenAICompatible"
)

// Provider is one LLM endpoint the selected pods call.
//
// +kubebuilder:validation:XValidation:rule="has(self.baseURL) || !(self.type in ['AzureOpenAI', 'OpenAICompatible'])",message="baseURL is required for providers of type AzureOpenAI and OpenAICompatible; set it to the server's URL, e.g. https://my-resource.openai.azure.com",fieldPath=".baseURL",reason=FieldValueRequired
type Provider struct {
	// Name identifies the provider in this policy and is the sidecar's route
	// prefix for it: requests to http://127.0.0.1:15000/<name>/<path> go to
	// <baseURL>/<path>. A DNS label: lower case letters, digits and '-'.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lower case letters, digits and '-', starting and ending with a letter or digit, e.g. openai"
	Name string `json:"name"`

	// Type is the API the provider speaks: OpenAI, Anthropic, AzureOpenAI,
	// Gemini or OpenAICompatible. It decides how requests, usage and errors
	// are read and which header carries the API key.
	Type ProviderType `json:"type"`

	// BaseURL is the provider's URL without the API version path, e.g.
	// https://api.openai.com (the app's SDK keeps adding /v1/...). Defaults by
	// type: https://api.openai.com, https://api.anthropic.com and
	// https://generativelanguage.googleapis.com; required for AzureOpenAI and
	// OpenAICompatible.
	//
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="baseURL must be an absolute http or https URL such as https://api.openai.com"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="baseURL must not contain a query or fragment; the app's request supplies those"
	// +optional
	BaseURL string `json:"baseURL,omitempty"`

	// CredentialsSecretRef names a Secret key holding the provider's API key.
	// When set, the sidecar sets the provider's auth header from it and
	// replaces whatever the app sent, so the app never holds the key.
	//
	// +optional
	CredentialsSecretRef *SecretKeyRef `json:"credentialsSecretRef,omitempty"`

	// Models, when set, is the allow-list of models the app may request from
	// this provider; other models are refused with tollgate_model_not_allowed.
	//
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Models []string `json:"models,omitempty"`

	// ForwardTraceContext sends the W3C trace context (the traceparent and
	// tracestate headers) on to this provider, so that a server traced by
	// the same OpenTelemetry collector, such as a self-hosted vLLM,
	// continues the app's trace. When the sidecar exports traces, the
	// provider's span becomes a child of the sidecar's span of the attempt
	// it answers; otherwise the app's own headers go on unchanged. Default
	// false: trace context is dropped, so that hosted providers learn no
	// trace ids. The baggage header, which may carry the app's data, is
	// never sent to any provider.
	//
	// +kubebuilder:default=false
	// +optional
	ForwardTraceContext *bool `json:"forwardTraceContext,omitempty"`
}

// SecretKeyRef names one key of a Secret in the policy's namespace.
type SecretKeyRef struct {
	// Name is the Secret's name.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`

	// Key is the key within the Secret whose value is the API key.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}
