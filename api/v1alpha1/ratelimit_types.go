package v1alpha1

// RateLimit caps the traffic of each selected pod, across all the policy's
// providers. A request that cannot go at once waits up to MaxWait, then is
// refused with HTTP 429, tollgate_rate_limited and a Retry-After header.
//
// +kubebuilder:validation:XValidation:rule="has(self.requestsPerMinute) || has(self.tokensPerMinute) || has(self.maxConcurrent)",message="set at least one of rateLimit.requestsPerMinute, rateLimit.tokensPerMinute and rateLimit.maxConcurrent, or remove rateLimit"
type RateLimit struct {
	// RequestsPerMinute caps requests started per minute.
	// Between 1 and 1000000.
	//
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 1000000",message="must be between 1 and 1000000"
	// +optional
	RequestsPerMinute *int32 `json:"requestsPerMinute,omitempty"`

	// TokensPerMinute caps tokens per minute. A request is admitted on an
	// estimate (its prompt plus its max output tokens) and charged its actual
	// usage once it completes.
	// Between 1 and 1000000000.
	//
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 1000000000",message="must be between 1 and 1000000000"
	// +optional
	TokensPerMinute *int64 `json:"tokensPerMinute,omitempty"`

	// MaxConcurrent caps requests in flight at once; a stream counts until it
	// ends.
	// Between 1 and 100000.
	//
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 100000",message="must be between 1 and 100000"
	// +optional
	MaxConcurrent *int32 `json:"maxConcurrent,omitempty"`

	// MaxWait is how long a request may wait for capacity before it is
	// refused. Default 10s.
	//
	// +kubebuilder:default="10s"
	// +optional
	MaxWait Duration `json:"maxWait,omitempty"`
}
