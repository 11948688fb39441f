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

	// Semantic also answers requests that differ from an earlier one only
	// in the wording of their last user message, when it means nearly the
	// same. Absent means off. It follows onlyDeterministic, and is off
	// whenever the cache is.
	//
	// +optional
	Semantic *SemanticCache `json:"semantic,omitempty"`
}

// SemanticCache answers a request from the answer to an earlier request
// whose context is the same and whose last user message means nearly the
// same: "How do I reset my password?" and "how can I reset my password" may
// share an answer. Everything but the wording of the last user message must
// be identical (model, parameters, system prompt, tools, earlier turns and
// the credential), and the two messages must be close in meaning: the
// cosine similarity of their embeddings at least Threshold. Entries are
// kept apart per credential, like the exact cache's. A hit carries
// x-tollgate-cache: semantic-hit and costs only its embedding.
//
// Each request that misses the exact cache asks Embedding's provider for
// the embedding of its last user message, under the policy's timeouts,
// retries, circuit breaker and budget; that call is priced and charged like
// any other. When it fails the request goes on uncached.
type SemanticCache struct {
	// Embedding is the provider and model that embed the last user
	// message. The provider must be one of spec.providers with an
	// embeddings endpoint: OpenAI, AzureOpenAI (the model is the
	// deployment), Gemini or OpenAICompatible; Anthropic has none.
	Embedding SemanticEmbedding `json:"embedding"`

	// Threshold is the cosine similarity, as a decimal string, at or
	// above which two last user messages share an answer. Default "0.95".
	// Between 0.5 and 1, with at most 4 decimals. Lower it with care:
	// embeddings place "turn on the lights" and "turn off the lights" close
	// together, and every step down trades wrong answers for hits. Start at
	// the default, watch tollgate_semantic_cache_similarity, and lower it
	// in steps of 0.01 while the answers a sample of hits got stay right.
	//
	// +kubebuilder:default="0.95"
	// +kubebuilder:validation:MaxLength=6
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0[.][0-9]{1,4}|1([.]0{1,4})?)$') && double(self) >= 0.5",message="must be a decimal between 0.5 and 1 with at most 4 decimals, such as \"0.95\""
	// +optional
	Threshold string `json:"threshold,omitempty"`

	// MaxEntries caps the answers the semantic cache of each sidecar keeps,
	// apart from the exact cache's; the least recently used are evicted
	// first. Default 1000. Between 1 and 100000.
	//
	// +kubebuilder:default=1000
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 100000",message="must be between 1 and 100000"
	// +optional
	MaxEntries int32 `json:"maxEntries,omitempty"`

	// TTL is how long an answer is served from the semantic cache. Default
	// 5m.
	//
	// +kubebuilder:default="5m"
	// +optional
	TTL Duration `json:"ttl,omitempty"`

	// AllowToolCalls also stores answers that call tools (a function call,
	// a tool_use block). Default false: such an answer acts on the wording
	// of the message it answered, so it is only shared through the exact
	// cache.
	//
	// +kubebuilder:default=false
	// +optional
	AllowToolCalls *bool `json:"allowToolCalls,omitempty"`
}

// SemanticEmbedding is the model the semantic cache embeds messages with.
type SemanticEmbedding struct {
	// Provider is the name of a provider declared in spec.providers, of a
	// type with an embeddings endpoint (not Anthropic). Unless it names a
	// credentialsSecretRef, only requests the app sends to that same
	// provider can be embedded (with the app's own key); others go on
	// uncached.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Provider string `json:"provider"`

	// Model is the embedding model, e.g. text-embedding-3-small. Changing
	// it empties the semantic cache: vectors of two models do not compare.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Model string `json:"model"`

	// Timeout bounds the embedding call, retries included; past it the
	// request goes on uncached. Default 2s.
	//
	// +kubebuilder:default="2s"
	// +optional
	Timeout Duration `json:"timeout,omitempty"`
}
