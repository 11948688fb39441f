package v1alpha1

// Condition types of an LLMPolicy.
const (
	// ConditionReady is true when the policy is valid and rendered into its
	// namespace's sidecar config.
	ConditionReady = "Ready"
	// ConditionConflict is true when another, older policy selects some of
	// the same pods; those pods follow the older policy.
	ConditionConflict = "Conflict"
)

// Condition reasons of an LLMPolicy.
const (
	ReasonRendered            = "Rendered"
	ReasonInvalid             = "Invalid"
	ReasonCredentialsNotFound = "CredentialsNotFound"
	ReasonOverlap             = "Overlap"
	ReasonNoOverlap           = "NoOverlap"
)
