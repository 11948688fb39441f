package policy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/ratelimiter"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Limit names, as LimitError and metrics report them.
const (
	LimitRequests    = "requests_per_minute"
	LimitTokens      = "tokens_per_minute"
	LimitConcurrency = "concurrency"
)

// LimitError is a refusal by the rate limits: which limit refused, and when
// capacity frees up (for the answer's Retry-After).
type LimitError struct {
	Limit      string
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s limit reached; retry after %s", e.Limit, e.RetryAfter.Round(time.Second))
}

// Limits admits requests under a policy's requests-per-minute,
// tokens-per-minute and concurrency limits, built from failsafe-go's bursty
// rate limiters (a fresh allowance every minute, like providers' own limits)
// and bulkhead. A nil *Limits admits everything.
type Limits struct {
	cfg   proxyconfig.RateLimit
	now   func() time.Time
	start time.Time // when the limiters' minute windows began

	requests    ratelimiter.RateLimiter[any] // nil when unlimited
	tokens      ratelimiter.RateLimiter[any] // nil when unlimited
	concurrency bulkhead.Bulkhead[any]       // nil when unlimited

	// Token admission charges an estimate; when the answer used fewer
	// tokens, the difference becomes credit that later requests of the same
	// minute spend before asking the limiter (which cannot give permits
	// back). mu guards credit and creditWindow.
	mu           sync.Mutex
	credit       int64
	creditWindow int64
}

func newLimits(cfg proxyconfig.RateLimit, now func() time.Time) *Limits {
	l := &Limits{cfg: cfg, now: now, start: now()}
	if cfg.RequestsPerMinute > 0 {
		l.requests = ratelimiter.NewBursty[any](uint(cfg.RequestsPerMinute), time.Minute)
	}
	if cfg.TokensPerMinute > 0 {
		l.tokens = ratelimiter.NewBursty[any](uint(cfg.TokensPerMinute), time.Minute)
	}
	if cfg.MaxConcurrent > 0 {
		l.concurrency = bulkhead.New[any](uint(cfg.MaxConcurrent))
	}
	return l
}

// Admission is one admitted request. Call Done exactly once, when the
// request is over (for a stream: when the stream ends).
type Admission struct {
	l        *Limits
	tokens   int64 // permits charged at admission
	window   int64 // the minute window they were charged in
	slot     bool  // holds a concurrency slot
	doneOnce sync.Once
}

// Admit waits up to the policy's maxWait for capacity for one request
// estimated to use estimatedTokens, and returns a *LimitError when there is
// none in time. A request estimated above the whole tokens-per-minute
// allowance is charged the allowance, so that it can run at all.
func (l *Limits) Admit(ctx context.Context, estimatedTokens int64) (*Admission, error) {
	a := &Admission{l: l}
	if l == nil {
		return a, nil
	}
	deadline := l.now().Add(l.cfg.MaxWait.D())
	remaining := func() time.Duration { return max(0, deadline.Sub(l.now())) }

	if l.concurrency != nil {
		err := l.concurrency.AcquirePermitWithMaxWait(ctx, remaining())
		if errors.Is(err, bulkhead.ErrFull) {
			// Nothing says when a slot frees up; a second is a fair hint.
			return nil, &LimitError{Limit: LimitConcurrency, RetryAfter: time.Second}
		}
		if err != nil {
			return nil, err
		}
		a.slot = true
	}
	if l.requests != nil {
		if err := l.reserve(ctx, l.requests, 1, remaining(), LimitRequests); err != nil {
			a.Done(-1)
			return nil, err
		}
	}
	if l.tokens != nil && estimatedTokens > 0 {
		n := min(estimatedTokens, l.cfg.TokensPerMinute)
		a.window = l.window()
		fromCredit := l.spendCredit(a.window, n)
		if n > fromCredit {
			if err := l.reserve(ctx, l.tokens, n-fromCredit, remaining(), LimitTokens); err != nil {
				l.addCredit(a.window, fromCredit)
				a.Done(-1)
				return nil, err
			}
		}
		a.tokens = n
	}
	return a, nil
}

// AdmitDryRun decides on one request like Admit, for a policy in DryRun
// mode, without waiting or refusing: it returns the Admission (call Done as
// for Admit) and, when Admit would have refused the request, the
// *LimitError it would have returned. A request Admit would have admitted
// after a wait takes its permits now, from the future minute they come
// from, so that the limiters count exactly what they would in Enforce
// mode; a request it would have refused takes none, as in Enforce. One
// difference remains: a request that finds every concurrency slot taken
// counts as refused at once, where Admit would wait up to maxWait for a
// slot to free up.
func (l *Limits) AdmitDryRun(estimatedTokens int64) (*Admission, *LimitError) {
	a := &Admission{l: l}
	if l == nil {
		return a, nil
	}
	maxWait := l.cfg.MaxWait.D()
	if l.concurrency != nil {
		if !l.concurrency.TryAcquirePermit() {
			return a, &LimitError{Limit: LimitConcurrency, RetryAfter: time.Second}
		}
		a.slot = true
	}
	// A request Admit refuses holds nothing afterwards: its slot is free
	// again at once, although the request itself goes on.
	if l.requests != nil && l.requests.TryReservePermits(1, maxWait) < 0 {
		a.Done(-1)
		return a, &LimitError{Limit: LimitRequests, RetryAfter: l.untilNextWindow()}
	}
	if l.tokens != nil && estimatedTokens > 0 {
		n := min(estimatedTokens, l.cfg.TokensPerMinute)
		window := l.window()
		fromCredit := l.spendCredit(window, n)
		if n > fromCredit && l.tokens.TryReservePermits(uint(n-fromCredit), maxWait) < 0 {
			l.addCredit(window, fromCredit)
			a.Done(-1)
			return a, &LimitError{Limit: LimitTokens, RetryAfter: l.untilNextWindow()}
		}
		a.tokens, a.window = n, window
	}
	return a, nil
}

// reserve takes n permits from rl, waiting for them up to maxWait.
func (l *Limits) reserve(ctx context.Context, rl ratelimiter.RateLimiter[any], n int64, maxWait time.Duration, name string) error {
	wait := rl.TryReservePermits(uint(n), maxWait)
	if wait < 0 {
		return &LimitError{Limit: name, RetryAfter: l.untilNextWindow()}
	}
	if wait == 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done releases the request's concurrency slot and settles its token
// charge against actualTokens (negative when unknown: the estimate stands).
func (a *Admission) Done(actualTokens int64) {
	a.doneOnce.Do(func() {
		l := a.l
		if l == nil {
			return
		}
		if a.slot {
			l.concurrency.ReleasePermit()
		}
		if l.tokens == nil || a.tokens == 0 || actualTokens < 0 {
			return
		}
		switch diff := actualTokens - a.tokens; {
		case diff > 0:
			// The answer used more than estimated: charge the rest now,
			// putting the limiter in debt that later requests wait out.
			l.tokens.ReservePermits(uint(diff))
		case diff < 0:
			l.addCredit(a.window, -diff)
		}
	})
}

func (l *Limits) window() int64 { return int64(l.now().Sub(l.start) / time.Minute) }

func (l *Limits) untilNextWindow() time.Duration {
	elapsed := l.now().Sub(l.start) % time.Minute
	return time.Duration(math.Ceil((time.Minute - elapsed).Seconds())) * time.Second
}

// spendCredit takes up to n tokens of credit earned in window.
func (l *Limits) spendCredit(window, n int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.creditWindow != window {
		l.credit, l.creditWindow = 0, window
	}
	used := min(l.credit, n)
	l.credit -= used
	return used
}

// addCredit returns n tokens charged in window; credit from a past window
// is worthless, as that window's allowance has been renewed since.
func (l *Limits) addCredit(window, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if window != l.window() {
		return
	}
	if l.creditWindow != window {
		l.credit, l.creditWindow = 0, window
	}
	l.credit += n
}
