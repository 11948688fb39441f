package policy

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Options tune how a Set reports what it does. All fields are optional.
type Options struct {
	// OnBreakerStateChange is called when a target's circuit breaker
	// changes state, from the goroutine that caused the change.
	OnBreakerStateChange func(t Target, from, to circuitbreaker.State)
	// OnRetry is called when a retry is scheduled, with the attempt number
	// it will be (2 for the first retry), the failure that caused it and the
	// delay before it.
	OnRetry func(t Target, attempt int, f Failure, delay time.Duration)
	// Now is the clock; tests replace it. Defaults to time.Now.
	Now func() time.Time
}

// Set is one compiled policy: executors, breakers and limiters for every
// request the policy governs. It is safe for concurrent use.
type Set struct {
	cfg  proxyconfig.Policy
	opts Options

	// retryOn holds the failures retries act on; breakerOn those breakers
	// count: the same, without InvalidOutput.
	retryOn   []Failure
	breakerOn []Failure
	retry     retrypolicy.RetryPolicy[*outcome] // nil without retries
	budget    budget.Budget                     // retry budget, nil without retries
	timeout   timeout.Timeout[*outcome]
	// timed, under validation, runs one attempt under the first-token
	// timeout, so that the answer is judged (Call.Classify) after it,
	// outside the timeout: judging may read a whole answer whose first
	// byte arrived in time. Nil without validation, where the timeout is
	// the innermost policy of each target's executor (one execution per
	// attempt fewer).
	timed    failsafe.Executor[*outcome]
	breakers *breakers // nil without a circuit breaker
	limits   *Limits   // nil without rate limits
	// dryRun observes the breakers instead of obeying them (see
	// Set.observe); with a breaker, timed is then set, so that the
	// observation sees the timeout's verdict on each attempt.
	dryRun bool
	// chain holds the fallback policies, outermost first; nil without
	// fallbacks.
	chain failsafe.Executor[*outcome]

	// executors caches one executor per target, built on first use, up to
	// maxTargets; later targets share their provider's overflow executor.
	executors     sync.Map // Target -> failsafe.Executor[*outcome]
	executorCount atomic.Int32
}

// Compile builds the enforcement of p. When prev (the Set p replaces) has
// the same circuit breaker, rate limit or retry budget settings, the new Set
// takes over prev's breakers, limiters and budget with their state.
func Compile(p proxyconfig.Policy, prev *Set, opts Options) (*Set, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.Ref(), err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Set{cfg: p.Clone(), opts: opts}
	p = s.cfg
	s.retryOn = failuresFor(p.Retry, p.Validation != nil)
	s.breakerOn = slices.DeleteFunc(slices.Clone(s.retryOn), func(f Failure) bool { return f == InvalidOutput })
	s.timeout = timeout.New[*outcome](p.Timeouts.FirstToken.D())
	s.dryRun = p.DryRun()
	if p.Validation != nil || (s.dryRun && p.CircuitBreaker != nil) {
		s.timed = failsafe.With[*outcome](s.timeout)
	}

	if r := p.Retry; r != nil {
		if prev != nil && prev.cfg.Retry != nil && prev.cfg.Retry.BudgetPercent == r.BudgetPercent {
			s.budget = prev.budget
		} else {
			s.budget = budget.NewBuilder().WithMaxRate(float64(r.BudgetPercent) / 100).Build()
		}
		s.retry = s.buildRetry(*r)
	}

	if cb := p.CircuitBreaker; cb != nil {
		if prev != nil && prev.breakers != nil && reflect.DeepEqual(prev.cfg.CircuitBreaker, cb) && slices.Equal(prev.breakerOn, s.breakerOn) {
			s.breakers = prev.breakers
		} else {
			s.breakers = newBreakers(*cb, s.breakerOn, opts.OnBreakerStateChange)
		}
	}

	if rl := p.RateLimit; rl != nil {
		if prev != nil && prev.limits != nil && reflect.DeepEqual(prev.cfg.RateLimit, rl) {
			s.limits = prev.limits
		} else {
			s.limits = newLimits(*rl, opts.Now)
		}
	}

	if len(p.Fallbacks) > 0 {
		s.chain = s.buildFallbacks()
	}
	return s, nil
}

// Policy returns the policy s enforces.
func (s *Set) Policy() *proxyconfig.Policy { return &s.cfg }

// RetryOn returns the failures a retry is scheduled for, the reasons
// Options.OnRetry reports; nil when the policy does not retry.
func (s *Set) RetryOn() []Failure {
	if s.retry == nil {
		return nil
	}
	return slices.Clone(s.retryOn)
}

// Limits returns the admission limits, or nil when the policy sets none.
func (s *Set) Limits() *Limits { return s.limits }

// BreakerState returns the state of t's circuit breaker; closed when the
// policy has no breaker or t has not been used yet.
func (s *Set) BreakerState(t Target) circuitbreaker.State {
	if s.breakers == nil {
		return circuitbreaker.ClosedState
	}
	if cb := s.breakers.peek(t); cb != nil {
		return cb.State()
	}
	return circuitbreaker.ClosedState
}

// DryRun reports whether s observes its breakers rather than obeying
// them: the policy's mode is DryRun.
func (s *Set) DryRun() bool { return s.dryRun }

// executor returns t's executor: Retry ∘ CircuitBreaker(t) ∘ Timeout, or,
// under validation, Retry ∘ CircuitBreaker(t) with each attempt run under
// the timeout by Set.attempt; in DryRun mode with a breaker, Retry alone,
// each attempt run by Set.observe, which observes the breaker around
// Set.attempt.
func (s *Set) executor(t Target) failsafe.Executor[*outcome] {
	if e, ok := s.executors.Load(t); ok {
		return e.(failsafe.Executor[*outcome])
	}
	if s.executorCount.Add(1) > maxTargets {
		t = overflow(t)
		if e, ok := s.executors.Load(t); ok {
			return e.(failsafe.Executor[*outcome])
		}
	}
	policies := make([]failsafe.Policy[*outcome], 0, 3)
	if s.retry != nil {
		policies = append(policies, s.retry)
	}
	if s.breakers != nil && !s.dryRun {
		policies = append(policies, s.breakers.get(t))
	}
	if s.timed == nil {
		policies = append(policies, s.timeout)
	}
	e, _ := s.executors.LoadOrStore(t, failsafe.With(policies...))
	return e.(failsafe.Executor[*outcome])
}

// failuresFor lists the failures retry.retryOn names; without a retry
// block, every retryable failure (which is what breakers then count).
// InvalidOutput is left out of a policy that does not validate, where it
// cannot happen.
func failuresFor(r *proxyconfig.Retry, validates bool) []Failure {
	all := []Failure{Timeout, ConnectionError, RateLimited, ServerError}
	if r == nil {
		return all
	}
	if validates {
		all = append(all, InvalidOutput)
	}
	var out []Failure
	for _, f := range all {
		if slices.Contains(r.RetryOn, f.condition()) {
			out = append(out, f)
		}
	}
	return out
}

// RemainingOpen returns how long t's open breaker stays open, or 0.
func (s *Set) RemainingOpen(t Target) time.Duration {
	if s.breakers == nil {
		return 0
	}
	if cb := s.breakers.peek(t); cb != nil {
		return cb.RemainingDelay()
	}
	return 0
}
