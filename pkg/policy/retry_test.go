package policy

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestRetry_RetriesOnlyWhatRetryOnNames(t *testing.T) {
	tests := map[string]struct {
		retryOn      []proxyconfig.RetryCondition
		answers      []answer
		wantAttempts int
		wantStatus   int
	}{
		"a 503 is retried until it succeeds": {
			answers: []answer{{status: 503}, {status: 503}}, wantAttempts: 3, wantStatus: 200,
		},
		"a 429 is retried": {
			answers: []answer{{status: 429}}, wantAttempts: 2, wantStatus: 200,
		},
		"a connection error is retried": {
			answers: []answer{{err: errors.New("connection refused")}}, wantAttempts: 2, wantStatus: 200,
		},
		"attempts run out and the last provider error is returned": {
			answers: []answer{{status: 500}, {status: 502}, {status: 503}}, wantAttempts: 3, wantStatus: 503,
		},
		"a 429 is not retried when retryOn names only ServerError": {
			retryOn: []proxyconfig.RetryCondition{proxyconfig.RetryOnServerError},
			answers: []answer{{status: 429}}, wantAttempts: 1, wantStatus: 429,
		},
		"a 400 is never retried": {answers: []answer{{status: 400}}, wantAttempts: 1, wantStatus: 400},
		"a 401 is never retried": {answers: []answer{{status: 401}}, wantAttempts: 1, wantStatus: 401},
		"a 403 is never retried": {answers: []answer{{status: 403}}, wantAttempts: 1, wantStatus: 403},
		"a 404 is never retried": {answers: []answer{{status: 404}}, wantAttempts: 1, wantStatus: 404},
		"a 422 is never retried": {answers: []answer{{status: 422}}, wantAttempts: 1, wantStatus: 422},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := basePolicy()
			p.Retry = fastRetry(3)
			if tc.retryOn != nil {
				p.Retry.RetryOn = tc.retryOn
			}
			s := compile(t, p, nil, Options{})
			up := newUpstream().on(primary, tc.answers...)

			res := s.Execute(context.Background(), up.call(primary))
			require.NotNil(t, res.Response, "err=%v", res.Err)
			assert.Equal(t, tc.wantStatus, res.Response.StatusCode)
			assert.Equal(t, tc.wantAttempts, res.Attempts)
			assert.Equal(t, tc.wantAttempts, up.count(primary))
		})
	}
}

func TestRetry_HonoursRetryAfterUpToCap(t *testing.T) {
	tests := map[string]struct {
		retryAfter   string
		honor        bool
		wantAttempts int
		wantDelay    time.Duration // scheduled delay of the retry, when one happens
	}{
		"seconds within the cap are waited":        {retryAfter: "0.05", honor: true, wantAttempts: 2, wantDelay: 50 * time.Millisecond},
		"longer than the cap fails fast":           {retryAfter: "120", honor: true, wantAttempts: 1},
		"an HTTP date in the past retries at once": {retryAfter: "Mon, 02 Jan 2006 15:04:05 GMT", honor: true, wantAttempts: 2, wantDelay: 0},
		"ignored when honorRetryAfter is false":    {retryAfter: "120", honor: false, wantAttempts: 2, wantDelay: time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := basePolicy()
			p.Retry = fastRetry(2)
			p.Retry.HonorRetryAfter = tc.honor
			var delays []time.Duration
			s := compile(t, p, nil, Options{OnRetry: func(_ Target, _ int, _ Failure, d time.Duration) { delays = append(delays, d) }})
			up := newUpstream().on(primary, answer{status: 429, retryAfter: tc.retryAfter})

			res := s.Execute(context.Background(), up.call(primary))
			require.NotNil(t, res.Response)
			assert.Equal(t, tc.wantAttempts, up.count(primary))
			if tc.wantAttempts == 1 {
				assert.Equal(t, 429, res.Response.StatusCode, "the provider's own error comes back")
				assert.Empty(t, delays)
				return
			}
			require.Len(t, delays, 1)
			assert.Equal(t, tc.wantDelay, delays[0])
		})
	}
}

func TestRetry_ReportsAttemptNumbersAndCauses(t *testing.T) {
	p := basePolicy()
	p.Retry = fastRetry(3)
	type event struct {
		attempt int
		failure Failure
	}
	var events []event
	s := compile(t, p, nil, Options{OnRetry: func(tg Target, n int, f Failure, _ time.Duration) {
		assert.Equal(t, primary, tg)
		events = append(events, event{n, f})
	}})
	up := newUpstream().on(primary, answer{status: 503}, answer{status: 429})
	s.Execute(context.Background(), up.call(primary))
	assert.Equal(t, []event{{2, ServerError}, {3, RateLimited}}, events)
}

func TestBackoff_DoublesUpToMaxWithJitter(t *testing.T) {
	const initial, maxDelay = 100 * time.Millisecond, time.Second
	tests := map[string]struct {
		attempts int
		jitter   proxyconfig.Jitter
		lo, hi   time.Duration
	}{
		"first retry waits initial":      {attempts: 1, jitter: proxyconfig.JitterNone, lo: initial, hi: initial},
		"third retry waits four times":   {attempts: 3, jitter: proxyconfig.JitterNone, lo: 400 * time.Millisecond, hi: 400 * time.Millisecond},
		"late retries are capped at max": {attempts: 10, jitter: proxyconfig.JitterNone, lo: maxDelay, hi: maxDelay},
		"full jitter is within [0, d]":   {attempts: 2, jitter: proxyconfig.JitterFull, lo: 0, hi: 200 * time.Millisecond},
		"equal jitter is within [d/2,d]": {attempts: 2, jitter: proxyconfig.JitterEqual, lo: 100 * time.Millisecond, hi: 200 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for range 200 {
				d := backoff(tc.attempts, initial, maxDelay, tc.jitter)
				require.GreaterOrEqual(t, d, tc.lo)
				require.LessOrEqual(t, d, tc.hi)
			}
		})
	}
}

func TestRetry_BudgetCapsConcurrentRetries(t *testing.T) {
	p := basePolicy()
	p.Retry = fastRetry(2)
	p.Retry.BudgetPercent = 1 // failsafe-go still allows its minimum of 3 concurrent retries
	s := compile(t, p, nil, Options{})

	// Every first attempt fails; every retry blocks until released, so
	// retries pile up and the budget has to refuse the excess.
	const requests = 20
	release := make(chan struct{})
	var retried, refused atomic.Int32
	var wg sync.WaitGroup
	for range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			res := s.Execute(context.Background(), &Call{Primary: primary, Classify: classify,
				Attempt: func(ctx context.Context, tg Target) (*http.Response, error) {
					if first {
						first = false
						return nil, errors.New("connection reset")
					}
					retried.Add(1)
					<-release
					return newUpstream().attempt(ctx, tg)
				}})
			if errors.Is(res.Err, ErrRetryBudget) {
				refused.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return retried.Load()+refused.Load() == requests },
		10*time.Second, 5*time.Millisecond, "retried=%d refused=%d", retried.Load(), refused.Load())
	close(release)
	wg.Wait()

	assert.Greater(t, refused.Load(), int32(0), "the budget refused no retry")
	assert.LessOrEqual(t, retried.Load(), int32(3), "more retries ran at once than the budget allows")
}

func TestSet_RetryOnIsWhatRetriesAreScheduledFor(t *testing.T) {
	p := basePolicy()
	set, err := Compile(p, nil, Options{})
	require.NoError(t, err)
	assert.Nil(t, set.RetryOn(), "without a retry block nothing is retried")

	p.Retry = fastRetry(2)
	p.Retry.RetryOn = []proxyconfig.RetryCondition{proxyconfig.RetryOnRateLimited, proxyconfig.RetryOnServerError}
	set, err = Compile(p, nil, Options{})
	require.NoError(t, err)
	assert.Equal(t, []Failure{RateLimited, ServerError}, set.RetryOn())
}
