package v1alpha1

// FallbackRung is one step of the fallback chain: either another provider and
// model, or a static response.
//
// A provider rung re-sends the request, with its model rewritten, to that
// provider. That works wherever the provider accepts the request's API shape:
// OpenAI chat completions requests can fall back to any provider type (each
// has an OpenAI-compatible endpoint); other requests only to a provider of the
// same type. Rungs that cannot take a request are skipped.
//
// +kubebuilder:validation:XValidation:rule="has(self.provider) != has(self.staticResponse)",message="each fallback rung sets exactly one of provider (with an optional model) or staticResponse"
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
