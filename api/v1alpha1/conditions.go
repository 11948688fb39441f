package v1alpha1

// Condition types of an LLMPolicy.
const (
	// ConditionReady is true when the policy is valid and rendered into its
	// namespace's sidecar config.
	ConditionReady = "Ready"
	// ConditionConflict is true when another, older policy selects some of
	// the same pods; those pods follow the older policy.
	ConditionConflict = "Conflict"
	// ConditionBudgetSoftLimit is true once the period's spend passed the
	// budget's softLimitPercent.
	ConditionBudgetSoftLimit = "BudgetSoftLimit"
	// ConditionBudgetExhausted is true once the period's spend reached the
	// budget's limit: sidecars block or downgrade.
	ConditionBudgetExhausted = "BudgetExhausted"
	// ConditionBudgetUnverified is true while spend goes unverified: pods
	// that hold an allowance stopped reporting, or sidecars admitted
	// requests without one while they could not reach the ledger.
	ConditionBudgetUnverified = "BudgetUnverified"
	// ConditionDryRun is present while the policy's mode is DryRun: True
	// once a sidecar reported a request Enforce would have acted on, with
	// the counts by action of the current period in its message.
	ConditionDryRun = "DryRun"
)

// Condition reasons of an LLMPolicy.
const (
	ReasonRendered            = "Rendered"
	ReasonInvalid             = "Invalid"
	ReasonCredentialsNotFound = "CredentialsNotFound"
	ReasonOverlap             = "Overlap"
	ReasonNoOverlap           = "NoOverlap"
	// ReasonBundleTooLarge: the namespace's policies together render to
	// more than a ConfigMap holds; the sidecars keep the last bundle.
	ReasonBundleTooLarge = "BundleTooLarge"

	ReasonSoftLimitReached = "SoftLimitReached"
	ReasonBelowSoftLimit   = "BelowSoftLimit"
	ReasonLimitReached     = "LimitReached"
	ReasonWithinLimit      = "WithinLimit"
	ReasonReportsMissing   = "ReportsMissing"
	ReasonSpentUnverified  = "SpentUnverified"
	ReasonVerified         = "Verified"

	ReasonWouldHaveActed = "WouldHaveActed"
	ReasonNothingToDo    = "NothingWouldHaveActed"
)
