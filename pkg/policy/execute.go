package policy

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/fallback"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// Errors Execute reports when no provider answered.
var (
	// ErrCircuitOpen: the target's breaker is open.
	ErrCircuitOpen = circuitbreaker.ErrOpen
	// ErrTimeout: the attempt exceeded the first-token timeout.
	ErrTimeout = timeout.ErrExceeded
	// ErrRetryBudget: a retry was due but the retry budget was spent.
	ErrRetryBudget = budget.ErrExceeded
)

// Call is one request's way through the policy.
type Call struct {
	// Primary is the target the request asked for.
	Primary Target
	// Rungs are the policy's fallback rungs, in order: the target of each,
	// or nil for a rung that cannot take this request (another API shape).
	Rungs []*Target
	// Attempt sends the request to t once. ctx ends when the attempt times
	// out or the request ends. For a successful answer it returns once the
	// first byte of the body has arrived (so that the first-token timeout
	// covers it), with the body still readable.
	Attempt func(ctx context.Context, t Target) (*http.Response, error)
	// Classify judges an answer of t. For failures it may read (at most a
	// bounded part of) the body, and must leave resp.Body readable again.
	Classify func(t Target, resp *http.Response) Failure
	// Static, when the policy ends in a static response, renders it for
	// this request; nil when the request's shape has none.
	Static func() (*http.Response, error)
	// Cached, when the policy has a cachedResponse rung, returns the last
	// good answer to this request young enough to serve, or nil when there
	// is none (the chain then goes on to the next rung). Nil when the
	// request cannot have one.
	Cached func() *http.Response
}

// Result is how a request fared.
type Result struct {
	// Response is the answer for the app: a success, a static response, or
	// the provider's own error. Nil when no provider answered; Err says why.
	Response *http.Response
	// Err is why there is no Response: ErrCircuitOpen, ErrTimeout,
	// ErrRetryBudget, a connection error, or the request's context error.
	Err error
	// Failure classifies the final outcome.
	Failure Failure
	// Target is the target that gave the final outcome.
	Target Target
	// Rung is 0 for the primary target, i for the i-th fallback rung.
	Rung int
	// Static is true when the answer is the static response.
	Static bool
	// Cached is true when the answer is the cachedResponse rung's: the
	// last good answer to the same request, from memory.
	Cached bool
	// Attempts counts the attempts sent upstream, over all rungs.
	Attempts int
	// Trace is every attempt, and every target passed over, in order.
	Trace []Attempt
	// BreakerOpen is set in DryRun mode when an attempt went to a target
	// whose breaker was open (or half-open with its trials taken): Enforce
	// would have skipped that target, for the next rung or a refusal.
	BreakerOpen bool
}

// outcome is the result type of every failsafe-go policy here: one
// attempt's answer and what the policy needs to know about it.
type outcome struct {
	resp          *http.Response
	failure       Failure
	target        Target
	rung          int
	static        bool
	cached        bool
	retryAfter    time.Duration
	hasRetryAfter bool
	// step is the attempt's index in the request's trace, where its
	// failure is noted once it is judged.
	step int
}

// callState is one Execute's bookkeeping. Policies run the attempts of one
// request one after another on the caller's goroutine, so it needs no lock.
type callState struct {
	ctx      context.Context
	call     *Call
	attempts int
	// answered are outcomes with open bodies; all but the final one are
	// closed when Execute returns. cancels holds each one's cancel.
	answered []*outcome
	cancels  []context.CancelFunc
	// The room of answered and cancels for the attempts of most requests:
	// one, or a retry.
	answeredRoom [2]*outcome
	cancelsRoom  [2]context.CancelFunc
	// trace is what Result.Trace reports, in traceBuf while it fits.
	trace    []Attempt
	traceBuf [traceInline]Attempt
	// breakerOpen is Result.BreakerOpen.
	breakerOpen bool
}

type callStateKey struct{}

// Execute runs c under the policy. ctx bounds the whole request (its
// deadline is the total timeout) and must stay alive while the caller reads
// the answer's body.
func (s *Set) Execute(ctx context.Context, c *Call) Result {
	st := &callState{ctx: ctx, call: c}
	st.answered, st.cancels = st.answeredRoom[:0], st.cancelsRoom[:0]
	var o *outcome
	var err error
	if s.chain != nil {
		o, err = s.chain.WithContext(context.WithValue(ctx, callStateKey{}, st)).
			GetWithExecution(func(failsafe.Execution[*outcome]) (*outcome, error) {
				return s.runTarget(st, c.Primary, 0)
			})
	} else {
		o, err = s.runTarget(st, c.Primary, 0)
	}
	if o == nil && errors.Is(err, ErrRetryBudget) && len(st.answered) > 0 {
		// The budget stopped a retry: the app gets the answer that was to
		// be retried (the provider's own error), not a bare refusal.
		o, err = st.answered[len(st.answered)-1], nil
	}
	if f := failureOf(o, err); f != NoFailure && f != InvalidOutput && f != Canceled {
		// A rung after an invalid answer failed outright: the app gets the
		// last complete answer, which was paid for, rather than an error.
		if last := st.lastInvalid(); last != nil {
			o, err = last, nil
		}
	}
	st.release(o)

	res := Result{Attempts: st.attempts, Failure: failureOf(o, err), BreakerOpen: st.breakerOpen, Trace: st.trace}
	if o != nil {
		res.Response, res.Target, res.Rung, res.Static, res.Cached = o.resp, o.target, o.rung, o.static, o.cached
	}
	if res.Response == nil {
		res.Err = err
		if res.Err == nil {
			res.Err = errors.New("no answer")
		}
		if ctx.Err() != nil {
			res.Err, res.Failure = ctx.Err(), Canceled
		}
	}
	return res
}

// runTarget runs the attempts for one target: Retry ∘ Breaker ∘ Timeout,
// or in DryRun mode Retry ∘ observe(Breaker) ∘ Timeout.
func (s *Set) runTarget(st *callState, t Target, rung int) (*outcome, error) {
	run := func(exec failsafe.Execution[*outcome]) (*outcome, error) {
		return s.attempt(exec, st, t, rung)
	}
	if s.dryRun && s.breakers != nil {
		run = func(exec failsafe.Execution[*outcome]) (*outcome, error) {
			return s.observe(exec, st, t, rung)
		}
	}
	o, err := s.executor(t).WithContext(st.ctx).GetWithExecution(run)
	if err != nil {
		st.recordPassedOver(t, rung, err)
	}
	return o, err
}

// observe runs one attempt to t under the first-token timeout, past t's
// breaker whatever its state, and tells the breaker how it went exactly
// as the breaker's own policy would: an attempt it would have admitted is
// recorded (a failure when it counts one), one it would have refused is
// sent anyway but not recorded, and marks the request. The breaker so
// moves through closed, open and half-open as it would in Enforce mode,
// without ever keeping a request from its provider.
func (s *Set) observe(exec failsafe.Execution[*outcome], st *callState, t Target, rung int) (*outcome, error) {
	cb := s.breakers.get(t)
	admitted := cb.TryAcquirePermit()
	if !admitted {
		st.breakerOpen = true
	}
	o, err := s.attempt(exec, st, t, rung) // under the timeout: s.timed is set
	if admitted {
		s.breakers.record(cb, o, err)
	}
	return o, err
}

// attempt sends one attempt under the first-token timeout, then judges its
// answer (Call.Classify); under validation outside the timeout, since
// judging may read the whole answer, whose first byte arrived in time.
func (s *Set) attempt(exec failsafe.Execution[*outcome], st *callState, t Target, rung int) (*outcome, error) {
	var o *outcome
	var err error
	if s.timed == nil {
		o, err = s.send(exec, st, t, rung) // exec is the timeout's
	} else {
		o, err = s.timed.WithContext(exec.Context()).GetWithExecution(func(timed failsafe.Execution[*outcome]) (*outcome, error) {
			return s.send(timed, st, t, rung)
		})
	}
	if err != nil || o == nil || o.resp == nil {
		return o, err
	}
	o.failure = st.call.Classify(t, o.resp)
	st.trace[o.step].Failure = o.failure
	if o.failure != NoFailure {
		o.retryAfter, o.hasRetryAfter = ParseRetryAfter(o.resp.Header, s.opts.Now())
	}
	return o, nil
}

// send sends one attempt. Its upstream context is a child of the
// request's context rather than of exec's, because failsafe-go cancels
// exec's context when the attempt returns, while the answer's body must
// stay readable; exec's cancellation (a timeout) is forwarded only while the
// attempt is under way.
func (s *Set) send(exec failsafe.Execution[*outcome], st *callState, t Target, rung int) (*outcome, error) {
	st.attempts++
	step := Attempt{N: st.attempts, Rung: rung, Target: t, Start: time.Now()}
	ctx, cancel := context.WithCancel(st.ctx)
	stop := context.AfterFunc(exec.Context(), cancel)
	resp, err := st.call.Attempt(ctx, t)
	timedOut := !stop()
	step.Latency = time.Since(step.Start)
	if err != nil || timedOut {
		cancel()
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			err = exec.Context().Err()
		}
		f := ConnectionError
		if st.ctx.Err() != nil {
			f = Canceled
		}
		step.Failure, step.Err = f, err
		if timedOut && f != Canceled {
			// The first-token timeout cut it: the timeout policy reports
			// it as such to the retries.
			step.Failure, step.Err = Timeout, ErrTimeout
		}
		st.record(step)
		return &outcome{failure: f, target: t, rung: rung}, err
	}
	step.Status = resp.StatusCode
	st.record(step)
	o := &outcome{resp: resp, target: t, rung: rung, step: len(st.trace) - 1}
	st.answered = append(st.answered, o)
	st.cancels = append(st.cancels, cancel)
	return o, nil
}

// lastInvalid is the last answer classified InvalidOutput, or nil.
func (st *callState) lastInvalid() *outcome {
	for i := len(st.answered) - 1; i >= 0; i-- {
		if st.answered[i].failure == InvalidOutput {
			return st.answered[i]
		}
	}
	return nil
}

// release closes the bodies of every answer but the final one.
func (st *callState) release(final *outcome) {
	for i, o := range st.answered {
		if o == final {
			continue
		}
		_ = o.resp.Body.Close()
		st.cancels[i]()
	}
}

// buildFallbacks composes one fallback policy per rung, the last rung
// outermost, so that each handles the failure of everything inside it.
func (s *Set) buildFallbacks() failsafe.Executor[*outcome] {
	rungs := s.cfg.Fallbacks
	policies := make([]failsafe.Policy[*outcome], 0, len(rungs))
	for i := len(rungs) - 1; i >= 0; i-- {
		rung := i + 1
		static := rungs[i].StaticResponse != ""
		cached := rungs[i].CachedResponse != nil
		policies = append(policies, fallback.NewBuilderWithFunc(func(exec failsafe.Execution[*outcome]) (*outcome, error) {
			st := exec.Context().Value(callStateKey{}).(*callState)
			switch {
			case static:
				return st.static(exec, rung)
			case cached:
				return st.cached(exec, rung)
			}
			if i >= len(st.call.Rungs) || st.call.Rungs[i] == nil {
				return exec.LastResult(), exec.LastError()
			}
			return s.runTarget(st, *st.call.Rungs[i], rung)
		}).HandleIf(needsFallback).Build())
	}
	return failsafe.With(policies...)
}

// static answers with the policy's static response, when the request's
// shape has one.
func (st *callState) static(exec failsafe.Execution[*outcome], rung int) (*outcome, error) {
	if st.call.Static == nil {
		return exec.LastResult(), exec.LastError()
	}
	resp, err := st.call.Static()
	if err != nil {
		return exec.LastResult(), exec.LastError()
	}
	o := &outcome{resp: resp, rung: rung, static: true, failure: NoFailure}
	st.answered = append(st.answered, o)
	st.cancels = append(st.cancels, func() {})
	return o, nil
}

// cached answers with the last good answer to the request, when there is
// one young enough; otherwise the failure so far goes on to the next rung.
func (st *callState) cached(exec failsafe.Execution[*outcome], rung int) (*outcome, error) {
	if st.call.Cached == nil {
		return exec.LastResult(), exec.LastError()
	}
	resp := st.call.Cached()
	if resp == nil {
		return exec.LastResult(), exec.LastError()
	}
	o := &outcome{resp: resp, rung: rung, cached: true, failure: NoFailure}
	st.answered = append(st.answered, o)
	st.cancels = append(st.cancels, func() {})
	return o, nil
}

// needsFallback tells whether the next rung should be tried: the provider
// failed in a way another provider might not (not the app's own error, and
// not a request the app abandoned).
func needsFallback(o *outcome, err error) bool {
	switch failureOf(o, err) {
	case Timeout, ConnectionError, RateLimited, ServerError, InvalidOutput:
		return true
	}
	return errors.Is(err, ErrCircuitOpen) || errors.Is(err, ErrRetryBudget)
}

// failureOf classifies what a policy sees: an outcome, or an error raised
// by a policy (timeout, open breaker, spent retry budget).
func failureOf(o *outcome, err error) Failure {
	switch {
	case errors.Is(err, timeout.ErrExceeded):
		return Timeout
	case o != nil:
		return o.failure
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Canceled
	case err != nil:
		return ConnectionError
	}
	return NoFailure
}
