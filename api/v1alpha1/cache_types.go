package v1alpha1

// Cache answers repeated identical requests from the sidecar's memory. Two
// requests are identical when every field that changes the output (model,
// messages, tools, temperature, max tokens, ...) is equal; entries are kept
// apart per API key, so tenants never share answers. Only complete 2xx
// answers are stored. Hits cost nothing and carry x-tollgate-cache: hit.
type Cache struct {
	// Enabled turns the cache on. Set it to false to switch caching off
	// while keeping its settings. Default true.
	//
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// TTL is how long an answer is served from the cache. Default 5m.
	//
	// +kubebuilder:default="5m"
	// +optional
	TTL Duration `json:"ttl,omitempty"`

	// MaxEntries caps the answers each sidecar keeps; the least recently
	// used are evicted first. Default 1000.
	// Between 1 and 1000000.
	//
	// +kubebuilder:default=1000
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 1000000",message="must be between 1 and 1000000"
	// +optional
	MaxEntries int32 `json:"maxEntries,omitempty"`

	// OnlyDeterministic caches only requests whose temperature is 0, so apps
	// asking for varied answers keep getting them. Default true.
	//
	// +kubebuilder:default=true
	// +optional
	OnlyDeterministic *bool `json:"onlyDeterministic,omitempty"`
}
