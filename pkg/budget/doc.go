// Package budget is the cost-budget gate: before a request is sent it
// decides, from the USD spent in the current period, whether the request
// goes ahead, is blocked, or is downgraded to a cheaper model. It knows
// nothing of HTTP or Kubernetes; the caller prices requests and answers.
//
// # Periods
//
// A budget period is Daily, Weekly or Monthly and starts at 00:00 UTC: each
// day, each Monday, or on the first of each month, whatever the location of
// the clock's times (PeriodStart, PeriodEnd). Spend resets to zero when a
// period begins. A clock that steps back never reopens an earlier period.
//
// # Reserve, then settle
//
// Each request calls Gate.Reserve with its maximum cost (its prompt and
// its max tokens, priced). The gate admits it when
//
//	spent + reserved + maxCost <= limit (and spent + reserved < limit)
//
// where reserved is the sum of the maximum costs of admitted requests not
// yet settled, so that concurrent requests cannot all slip through on the
// same remaining budget and spend overshoots the limit only when a request
// costs more than its estimate. An admitted request holds its maximum cost in a
// Reservation until it settles with its actual cost, or releases it when it
// failed before costing anything. Spent equal to the limit is exhausted.
//
// A request that is still in flight when a period ends settles into the
// new period: the old period's spend has already been reset, and the money
// is spent when the answer arrives. Reservations therefore carry over a
// rollover and count against the new period's admissions.
//
// # States and actions
//
// Spend below the soft limit (softLimitPercent of the limit) is Ok; at or
// above it, SoftLimit, and the caller marks answers with
// x-tollgate-budget: soft-limit; at or above the limit, Exhausted. A
// Decision is Exhausted as soon as spent plus reserved reaches the limit;
// Status, which reports money spent rather than promised, only once spent
// does.
//
// An Exhausted decision blocks the request (the caller answers 429
// tollgate_budget_exhausted until Decision.ResetAt) or, with onExhausted
// Downgrade, sends it to the downgrade model. A downgraded request costs
// money too: it reserves and settles like any other, so spend keeps
// counting past the limit and Status shows Exhausted.
//
// Exactly one decision per period carries FirstSoftCrossing (the first
// that is not Ok) and exactly one carries FirstExhausted (the first that is
// Exhausted), however many requests race, so the caller logs each crossing
// once.
//
// # Reloads
//
// Local.Update replaces a gate's settings in place and keeps the spend and
// reservations of the current period, whatever the new limit. Only a change
// of period restarts the accounting from zero at the new period's start,
// because spend of a period of another length cannot be split.
//
// # Sharing spend
//
// Local keeps spend in one process. A namespace-wide ledger that sums the
// spend of every sidecar of a policy can implement Gate, building its
// reservations with NewReservation.
package budget
