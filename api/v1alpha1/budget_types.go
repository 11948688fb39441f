package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// BudgetPeriod is the length of a budget period. Periods start at 00:00 UTC:
// every day, every Monday, or on the first of every month.
//
// +kubebuilder:validation:Enum=Daily;Weekly;Monthly
type BudgetPeriod string

// Budget periods.
const (
	BudgetDaily   BudgetPeriod = "Daily"
	BudgetWeekly  BudgetPeriod = "Weekly"
	BudgetMonthly BudgetPeriod = "Monthly"
)

// ExhaustedAction is what happens to requests once a budget is spent.
//
// +kubebuilder:validation:Enum=Block;Downgrade
type ExhaustedAction string

// Exhausted actions.
const (
	// ExhaustedBlock refuses requests with HTTP 429 and
	// tollgate_budget_exhausted until the next period.
	ExhaustedBlock ExhaustedAction = "Block"
	// ExhaustedDowngrade sends requests to budget.downgradeTo instead.
	ExhaustedDowngrade ExhaustedAction = "Downgrade"
)

// BudgetState is where spend stands against a budget.
//
// +kubebuilder:validation:Enum=Ok;SoftLimit;Exhausted
type BudgetState string

// Budget states.
const (
	BudgetOk        BudgetState = "Ok"
	BudgetSoftLimit BudgetState = "SoftLimit"
	BudgetExhausted BudgetState = "Exhausted"
)

// Budget caps the USD spend of the selected pods per period, priced from
// each response's token usage.
//
// +kubebuilder:validation:XValidation:rule="has(self.downgradeTo) == (self.onExhausted == 'Downgrade')",message="budget.downgradeTo is required when budget.onExhausted is Downgrade, and must be omitted otherwise",fieldPath=".downgradeTo"
type Budget struct {
	// Period is how often spend resets: Daily, Weekly (Mondays) or Monthly,
	// at 00:00 UTC. Default Monthly.
	//
	// +kubebuilder:default=Monthly
	// +optional
	Period BudgetPeriod `json:"period,omitempty"`

	// Limit is the most the selected pods may spend per period, in USD, as a
	// decimal string such as "250" or "19.99".
	//
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,9}([.][0-9]{1,6})?$')",message="must be a USD amount as a decimal string with at most 6 decimals, such as \"250\" or \"19.99\""
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0.]+$')",message="must be greater than zero"
	Limit string `json:"limit"`

	// SoftLimitPercent is the share of Limit at which the sidecar warns: it
	// logs once per period and marks responses with
	// x-tollgate-budget: soft-limit. Default 80.
	// Between 1 and 100.
	//
	// +kubebuilder:default=80
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 100",message="must be between 1 and 100"
	// +optional
	SoftLimitPercent int32 `json:"softLimitPercent,omitempty"`

	// OnExhausted is what happens once Limit is reached: Block refuses
	// requests with HTTP 429 tollgate_budget_exhausted; Downgrade sends them
	// to DowngradeTo. Default Block.
	//
	// +kubebuilder:default=Block
	// +optional
	OnExhausted ExhaustedAction `json:"onExhausted,omitempty"`

	// DowngradeTo is the cheaper provider and model used once the budget is
	// spent. Required when OnExhausted is Downgrade.
	//
	// +optional
	DowngradeTo *ModelRef `json:"downgradeTo,omitempty"`

	// WhenLedgerUnreachable is what a sidecar does once it has spent the
	// allowance it holds while it cannot reach the operator's budget
	// ledger: Block refuses requests with HTTP 503
	// tollgate_budget_unavailable until the ledger answers again; Allow
	// admits them, counted as unverified spend (a metric, a log line and
	// the policy's BudgetUnverified condition say so). Unset takes the
	// operator's default (the Helm value budget.whenLedgerUnreachable,
	// Block unless changed). Either way a sidecar first spends the
	// allowance it holds: the operator being down for a moment blocks
	// nothing.
	//
	// +optional
	WhenLedgerUnreachable LedgerUnreachableAction `json:"whenLedgerUnreachable,omitempty"`
}

// LedgerUnreachableAction is what a sidecar does, once its allowance is
// spent, while it cannot reach the budget ledger.
//
// +kubebuilder:validation:Enum=Block;Allow
type LedgerUnreachableAction string

// Actions when the ledger cannot be reached.
const (
	// LedgerUnreachableBlock refuses requests until the ledger answers.
	LedgerUnreachableBlock LedgerUnreachableAction = "Block"
	// LedgerUnreachableAllow admits them as unverified spend.
	LedgerUnreachableAllow LedgerUnreachableAction = "Allow"
)

// ModelRef names a model of one of the policy's providers.
type ModelRef struct {
	// Provider is the name of a provider declared in spec.providers.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Provider string `json:"provider"`

	// Model is the model to request from it.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Model string `json:"model"`
}

// BudgetStatus is the spend of the current budget period, summed by the
// operator's budget ledger over every pod the policy applies to.
type BudgetStatus struct {
	// PeriodStart is when the current period began (UTC).
	PeriodStart metav1.Time `json:"periodStart"`

	// PeriodEnd is when the current period ends and spend starts again
	// from zero (UTC).
	//
	// +optional
	PeriodEnd *metav1.Time `json:"periodEnd,omitempty"`

	// Spent is the USD spent so far this period, as a decimal string.
	Spent string `json:"spent"`

	// Remaining is the USD left this period, as a decimal string; "0" once
	// the budget is exhausted.
	Remaining string `json:"remaining"`

	// State is Ok, SoftLimit (spend passed softLimitPercent) or Exhausted.
	State BudgetState `json:"state"`

	// Requests counts the requests whose cost is in Spent.
	//
	// +optional
	Requests int64 `json:"requests,omitempty"`

	// Unverified is the part of Spent that sidecars admitted while they
	// could not reach the ledger and the policy allowed it
	// (whenLedgerUnreachable: Allow), as a decimal string.
	//
	// +optional
	Unverified string `json:"unverified,omitempty"`

	// LastPeriod is the total of the previous period.
	//
	// +optional
	LastPeriod *BudgetPeriodTotal `json:"lastPeriod,omitempty"`

	// TopSpenders is this period's spend by workload (the Deployment,
	// StatefulSet, DaemonSet or Job of the pods, else the pod), largest
	// first.
	//
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +optional
	TopSpenders []WorkloadSpend `json:"topSpenders,omitempty"`

	// Ledger is the budget ledger's own bookkeeping: what each reporting
	// pod was last acknowledged and holds. It lives here, in the same
	// object as Spent, because the two must be written together: a spend
	// that is persisted and the batches it includes are restored as one
	// on an operator restart or leader change, so that no batch is lost or
	// counted twice. It is not for people to read.
	//
	// +optional
	Ledger *LedgerStatus `json:"ledger,omitempty"`

	// UpdatedAt is when the ledger last wrote this status.
	//
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// BudgetPeriodTotal is the spend of a finished budget period.
type BudgetPeriodTotal struct {
	// Start is when the period began (UTC).
	Start metav1.Time `json:"start"`

	// Spent is the USD the period cost in the end, as a decimal string.
	Spent string `json:"spent"`

	// Requests counts the requests whose cost is in Spent.
	//
	// +optional
	Requests int64 `json:"requests,omitempty"`
}

// WorkloadSpend is the spend of one workload in the current period.
type WorkloadSpend struct {
	// Workload is Kind/name: Deployment/chat, StatefulSet/db, Job/nightly,
	// or Pod/name for a pod without a controller.
	Workload string `json:"workload"`

	// Spent is the USD its pods spent this period, as a decimal string.
	Spent string `json:"spent"`
}

// MaxReporters is how many pods status.budget.ledger.reporters and
// status.dryRun.reporters list at most: their MaxItems. An entry takes
// about 180 bytes, and as much again in managedFields; both lists full (a
// DryRun policy with a budget), with names of 63 characters, make an
// object of about 800 KiB, half of etcd's 1.5 MiB limit (test/crd writes
// such a status). The ledger takes no report from a pod beyond it. Keep it
// and the markers in step (test/crd checks).
const MaxReporters = 1000

// LedgerStatus is the budget ledger's bookkeeping of the pods that report.
type LedgerStatus struct {
	// Reporters are the pods that reported or hold an allowance.
	//
	// +listType=map
	// +listMapKey=podUID
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Reporters []Reporter `json:"reporters,omitempty"`
}

// Reporter is one pod's standing with the ledger.
type Reporter struct {
	// PodUID is the pod's UID.
	PodUID string `json:"podUID"`

	// Pod is the pod's name.
	Pod string `json:"pod"`

	// Workload is the pod's workload, as in topSpenders.
	//
	// +optional
	Workload string `json:"workload,omitempty"`

	// Epoch identifies the sidecar state the pod's batches come from.
	//
	// +optional
	Epoch string `json:"epoch,omitempty"`

	// Seq is the sequence number of the pod's last applied batch.
	Seq int64 `json:"seq"`

	// Allowance is the USD the pod may still spend this period, as a
	// decimal string.
	Allowance string `json:"allowance"`
}
