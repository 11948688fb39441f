package policy

import (
	"errors"
	"time"
)

// Attempt is one step of a request's way through the policy, as the policy
// saw it: an attempt sent to a target, or a target passed over without one
// (its breaker open, or the retry budget spent before a retry). Result.Trace
// lists them in order; a failure record shows them.
type Attempt struct {
	// N numbers the attempts sent upstream, from 1 (the Call.Attempt call
	// it was); 0 for a target passed over without an attempt.
	N int
	// Rung is 0 for the primary target, i for the i-th fallback rung.
	Rung int
	// Target is where the attempt went.
	Target Target
	// Failure classifies the attempt: NoFailure for a good answer, Timeout
	// for one that exceeded the first-token timeout, and so on.
	Failure Failure
	// Status is the HTTP status of the answer; 0 when there was none.
	Status int
	// Err is why there was no answer: a connection error, ErrTimeout,
	// ErrCircuitOpen or ErrRetryBudget; nil when there was one.
	Err error
	// Start is when the attempt was sent; Latency how long it took until
	// its answer's first byte (for a success; its headers for an error
	// answer) or its error.
	Start   time.Time
	Latency time.Duration
}

// Skipped tells whether the policy passed the target over without
// sending anything.
func (a Attempt) Skipped() bool { return a.N == 0 }

// Reason names what went wrong with the attempt as a failure record says
// it: the failure class ("server_error", "timeout", ...), "circuit_open" or
// "retry_budget_exhausted" for a target passed over, "none" for a good
// answer.
func (a Attempt) Reason() string {
	switch {
	case errors.Is(a.Err, ErrCircuitOpen):
		return "circuit_open"
	case errors.Is(a.Err, ErrRetryBudget):
		return "retry_budget_exhausted"
	}
	return a.Failure.String()
}

// traceInline is how many steps a request's trace holds before it
// allocates: most requests make one attempt.
const traceInline = 1

// record appends one step to the request's trace.
func (st *callState) record(a Attempt) {
	if st.trace == nil {
		st.trace = st.traceBuf[:0]
	}
	st.trace = append(st.trace, a)
}

// recordPassedOver notes a target the policy passed over without an
// attempt: its breaker was open, or the retry budget refused the retry.
func (st *callState) recordPassedOver(t Target, rung int, err error) {
	if errors.Is(err, ErrCircuitOpen) || errors.Is(err, ErrRetryBudget) {
		st.record(Attempt{Rung: rung, Target: t, Failure: failureOf(nil, err), Err: err, Start: time.Now()})
	}
}
