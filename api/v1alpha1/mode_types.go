package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// PolicyMode is whether a policy acts on requests or only says what it
// would do.
//
// +kubebuilder:validation:Enum=Enforce;DryRun
type PolicyMode string

// Policy modes.
const (
	// ModeEnforce refuses, delays and downgrades requests as the policy
	// says.
	ModeEnforce PolicyMode = "Enforce"
	// ModeDryRun evaluates the policy on every request but refuses
	// nothing and downgrades nothing; it counts what it would have done.
	ModeDryRun PolicyMode = "DryRun"
)

// DryRunStatus is what the sidecars of a policy in DryRun mode would have
// done in the current period, summed by the operator's budget ledger over
// every pod the policy applies to. The period is the budget's when the
// policy has one, else the UTC day.
type DryRunStatus struct {
	// PeriodStart is when the current period began (UTC).
	PeriodStart metav1.Time `json:"periodStart"`

	// PeriodEnd is when the current period ends and the counts start again
	// from zero (UTC).
	//
	// +optional
	PeriodEnd *metav1.Time `json:"periodEnd,omitempty"`

	// Decisions counts the requests of the period that Enforce would have
	// acted on, by action: model_not_allowed, model_unpriced,
	// budget_exhausted (refused), budget_downgrade (sent to
	// budget.downgradeTo), budget_unavailable, rate_limited and
	// circuit_open. Each request counts once, under the first check that
	// would have acted, in the order Enforce checks.
	//
	// +optional
	Decisions map[string]int64 `json:"decisions,omitempty"`

	// Reporters are the ledger's bookkeeping of the pods that reported:
	// what each sidecar's counts were when it last reported, so that a
	// report sent again is not counted twice. They are not for people to
	// read.
	//
	// +listType=map
	// +listMapKey=podUID
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Reporters []DryRunReporter `json:"reporters,omitempty"`

	// UpdatedAt is when the ledger last wrote this status.
	//
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// DryRunReporter is one pod's last dry-run report.
type DryRunReporter struct {
	// PodUID is the pod's UID.
	PodUID string `json:"podUID"`

	// Pod is the pod's name.
	Pod string `json:"pod"`

	// Epoch identifies the sidecar process whose counts these are: a
	// sidecar that restarts counts from zero under a new epoch.
	Epoch string `json:"epoch"`

	// Decisions are the sidecar's counts of the period, by action.
	//
	// +optional
	Decisions map[string]int64 `json:"decisions,omitempty"`
}
