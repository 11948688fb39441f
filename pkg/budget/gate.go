package budget

import (
	"time"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Gate decides, before a request is sent, whether the budget admits it. Local
// enforces a budget within one process; a namespace-wide ledger can
// implement Gate as well. Implementations are safe for concurrent use.
type Gate interface {
	// Reserve decides on a request that may cost up to maxCost USD. When the
	// decision admits the request (Allow or Downgrade), the Reservation
	// holds maxCost against the budget until it is settled with the actual
	// cost or released; on Block it is nil.
	Reserve(maxCost proxyconfig.USD) (*Reservation, Decision)
	// ReserveDryRun decides on a request like Reserve, for a policy in
	// DryRun mode, but admits it whatever the decision, at once: the
	// Reservation is never nil and holds maxCost until it settles, so that
	// spend is counted exactly while nothing is blocked or delayed. The
	// Decision says what Reserve would have decided (a ledger's Reserve
	// may wait for an allowance first; ReserveDryRun never does).
	ReserveDryRun(maxCost proxyconfig.USD) (*Reservation, Decision)
	// Status is the spend of the current period.
	Status() Status
}

// State is where spend stands against a budget. The values are those of
// the LLMPolicy API's budget status.
type State string

// Budget states.
const (
	// StateOk: spend is below the soft limit.
	StateOk State = "Ok"
	// StateSoftLimit: spend reached softLimitPercent of the limit; answers
	// carry x-tollgate-budget: soft-limit.
	StateSoftLimit State = "SoftLimit"
	// StateExhausted: the limit is reached; requests are blocked or
	// downgraded until the period ends.
	StateExhausted State = "Exhausted"
)

// Action is what the caller does with a request.
type Action string

// Actions.
const (
	// Allow: send the request as it is.
	Allow Action = "Allow"
	// Block: do not send it; answer 429 tollgate_budget_exhausted.
	Block Action = "Block"
	// Downgrade: send it to Decision.DowngradeTo instead.
	Downgrade Action = "Downgrade"
)

// Decision is the gate's answer for one request.
type Decision struct {
	// Action is what to do with the request. It is Allow unless State is
	// Exhausted, and then the budget's onExhausted action.
	Action Action
	// State is the state the request was decided in. It is Exhausted when
	// what remains of the limit, less the reservations of requests in
	// flight, does not cover the request (admitting it could overshoot),
	// SoftLimit when spent reached the soft limit, Ok otherwise.
	State State
	// FirstSoftCrossing is true for exactly one decision per period: the
	// first whose State is not Ok. The caller logs the crossing then.
	FirstSoftCrossing bool
	// FirstExhausted is true for exactly one decision per period: the first
	// whose State is Exhausted. A gate may skip Held decisions, whose
	// money may come free within seconds (the ledger's does).
	FirstExhausted bool
	// PeriodStart is when the current period began; ResetAt when it ends.
	PeriodStart, ResetAt time.Time
	// Spent is the USD settled this period, not counting this request.
	Spent proxyconfig.USD
	// Reserved is the USD held by requests in flight, not counting this
	// request.
	Reserved proxyconfig.USD
	// Limit is the budget's limit.
	Limit proxyconfig.USD
	// Held is set on an Exhausted decision taken while some of the limit
	// remains (Spent is below Limit) but cannot be drawn on now: it is
	// reserved by requests in flight or, under a ledger's shared budget,
	// held by other pods' allowances. It may come free before the period
	// ends. When it is not set and Spent is below Limit, what remains is
	// less than a request needs.
	Held bool
	// Available is, on a Held decision, what the gate itself could still
	// admit: less than the request may cost. Under a ledger it is the
	// pod's allowance not reserved; the rest of what remains, beyond
	// Reserved and Available, is held by the allowances of other pods.
	Available proxyconfig.USD
	// DowngradeTo is where to send the request when Action is Downgrade;
	// nil otherwise.
	DowngradeTo *proxyconfig.ModelRef
	// Unavailable is set on a Block because the gate cannot verify spend:
	// a ledger's allowance is spent and the ledger cannot be reached (or
	// did not answer in time), and the policy blocks rather than admit
	// unverified spend.
	Unavailable bool
	// Unverified is set on an Allow admitted without an allowance, because
	// the ledger cannot be reached and the policy admits unverified spend.
	Unverified bool
}

// Status is the spend of the current period, as LLMPolicy status reports it.
type Status struct {
	// PeriodStart is when the current period began; ResetAt when it ends.
	PeriodStart, ResetAt time.Time
	// Spent is the USD settled this period.
	Spent proxyconfig.USD
	// Reserved is the USD held by requests in flight.
	Reserved proxyconfig.USD
	// Remaining is Limit minus Spent, and zero once Spent reaches Limit.
	Remaining proxyconfig.USD
	// Limit is the budget's limit.
	Limit proxyconfig.USD
	// State is Exhausted when Spent reached Limit, SoftLimit when it
	// reached the soft limit, Ok otherwise. Unlike Decision.State it ignores
	// reservations: it reports money spent, not money promised.
	State State
}
