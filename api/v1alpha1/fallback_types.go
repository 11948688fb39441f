package v1alpha1

// FallbackRung is one step of the fallback chain: another provider and
// model, the last good answer to the same request (cachedResponse), or a
// static response.
//
// A provider rung re-sends the request, with its model rewritten, to that
// provider. That works wherever the provider accepts the request's API shape:
// OpenAI chat completions requests can fall back to any provider type (each
// has an OpenAI-compatible endpoint); other requests only to a provider of the
// same type. Rungs that cannot take a request are skipped, and so is a
// cachedResponse rung that holds no answer to it.
//
// +kubebuilder:validation:XValidation:rule="(has(self.provider) ? 1 : 0) + (has(self.staticResponse) ? 1 : 0) + (has(self.cachedResponse) ? 1 : 0) == 1",message="each fallback rung sets exactly one of provider (with an optional model), cachedResponse or staticResponse"
// +kubebuilder:validation:XValidation:rule="!has(self.model) || has(self.provider)",message="a fallback rung with a model must also name its provider",fieldPath=".model"
type FallbackRung struct {
	// Provider is the name of a provider declared in spec.providers.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Provider string `json:"provider,omitempty"`

	// Model replaces the request's model. Absent keeps the request's model.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Model string `json:"model,omitempty"`

	// CachedResponse answers, when every earlier rung failed (or its
	// circuit breaker is open), with the last good answer the provider gave
	// to the same request, even one older than cache.ttl, up to maxStale.
	// With such a rung the sidecar keeps the last complete 2xx answer of
	// the provider and model the app asked for to each request it can key
	// (the exact cache's key: same provider, path, model, messages,
	// parameters and API key), whether or not spec.cache is enabled and
	// whatever the request's temperature. Answers are kept apart per API
	// key and never served across keys; error answers, fallbacks' answers
	// and static responses are never kept. A kept answer is replayed in the
	// request's own shape (the JSON body, or the SSE stream event by
	// event), with X-Tollgate-Fallback: cache, X-Tollgate-Cache: stale and
	// Age, and costs nothing against the budget. When the sidecar holds no
	// answer to the request, the chain goes on to the next rung.
	// `cachedResponse: {}` takes the defaults. At most one rung may be a
	// cachedResponse.
	//
	// +optional
	CachedResponse *CachedResponse `json:"cachedResponse,omitempty"`

	// StaticResponse is returned as a successful completion when every
	// earlier rung failed, in the request's own response shape (JSON, or an
	// SSE stream when the request streams). Only allowed as the last rung.
	//
	// +optional
	StaticResponse *StaticResponse `json:"staticResponse,omitempty"`
}

// StaticResponse is a canned answer for when no provider can answer.
type StaticResponse struct {
	// Content is the text of the assistant's reply.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Content string `json:"content"`
}

// CachedResponse is the fallback rung that answers from the sidecar's
// memory when the providers cannot.
//
// (The range rule skips a value that is not a duration: it fails the
// duration's own rule with a clearer message.)
//
// +kubebuilder:validation:XValidation:rule="!has(self.maxStale) || !self.maxStale.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || (duration(self.maxStale) >= duration('1s') && duration(self.maxStale) <= duration('720h'))",message="cachedResponse.maxStale must be between 1s and 720h (30 days)",fieldPath=".maxStale"
type CachedResponse struct {
	// MaxStale is how old a kept answer may be and still be served: an
	// answer older than that is forgotten, and the chain goes on to the
	// next rung. With spec.cache enabled it must be longer than cache.ttl
	// (younger answers are served by the cache itself, before any
	// attempt). Default 24h. Between 1s and 720h.
	//
	// +kubebuilder:default="24h"
	// +optional
	MaxStale Duration `json:"maxStale,omitempty"`

	// MaxEntries caps the answers each sidecar keeps for this rung; the
	// least recently used are evicted first. With spec.cache enabled the
	// two share one store, which keeps the larger of the two maxEntries.
	// Default 1000. Between 1 and 1000000.
	//
	// +kubebuilder:default=1000
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 1000000",message="must be between 1 and 1000000"
	// +optional
	MaxEntries int32 `json:"maxEntries,omitempty"`
}
