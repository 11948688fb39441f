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
	//
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
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
}

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

// BudgetStatus is the spend of the current budget period.
type BudgetStatus struct {
	// PeriodStart is when the current period began (UTC).
	PeriodStart metav1.Time `json:"periodStart"`

	// Spent is the USD spent so far this period, as a decimal string.
	Spent string `json:"spent"`

	// Remaining is the USD left this period, as a decimal string; "0" once
	// the budget is exhausted.
	Remaining string `json:"remaining"`

	// State is Ok, SoftLimit (spend passed softLimitPercent) or Exhausted.
	State BudgetState `json:"state"`
}
