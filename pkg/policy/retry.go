package policy

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// buildRetry turns the retry block into a failsafe-go retry policy:
//   - it retries only the failures retry.retryOn names;
//   - a Retry-After longer than maxRetryAfter aborts at once, returning the
//     provider's answer rather than holding the app;
//   - delays are exponential backoff with jitter, or the provider's
//     Retry-After when honoured;
//   - retries draw on the policy's retry budget;
//   - when attempts run out, the last answer is returned as it is (the
//     provider's own error), not wrapped.
func (s *Set) buildRetry(r proxyconfig.Retry) retrypolicy.RetryPolicy[*outcome] {
	maxRetryAfter := r.MaxRetryAfter.D()
	b := retrypolicy.NewBuilder[*outcome]().
		WithMaxAttempts(r.MaxAttempts).
		HandleIf(func(o *outcome, err error) bool {
			return slices.Contains(s.retryOn, failureOf(o, err))
		}).
		AbortIf(func(o *outcome, _ error) bool {
			return r.HonorRetryAfter && o != nil && o.hasRetryAfter && o.retryAfter > maxRetryAfter
		}).
		WithDelayFunc(func(exec failsafe.ExecutionAttempt[*outcome]) time.Duration {
			if o := exec.LastResult(); r.HonorRetryAfter && o != nil && o.hasRetryAfter {
				return o.retryAfter
			}
			return backoff(exec.Attempts(), r.BackoffInitial.D(), r.BackoffMax.D(), r.Jitter)
		}).
		WithBudget(s.budget).
		ReturnLastFailure()
	if s.opts.OnRetry != nil {
		b = b.OnRetryScheduled(func(e failsafe.ExecutionScheduledEvent[*outcome]) {
			o := e.LastResult()
			var t Target
			if o != nil {
				t = o.target
			}
			s.opts.OnRetry(t, e.Attempts()+1, failureOf(o, e.LastError()), e.Delay)
		})
	}
	return b.Build()
}

// backoff is the delay before retry number attempts (1 for the first
// retry): initial doubled per retry, capped at max, then jittered.
func backoff(attempts int, initial, maxDelay time.Duration, jitter proxyconfig.Jitter) time.Duration {
	d := initial
	for i := 1; i < attempts && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	switch jitter {
	case proxyconfig.JitterFull:
		return rand.N(d + 1)
	case proxyconfig.JitterEqual:
		return d/2 + rand.N(d/2+1)
	}
	return d
}
