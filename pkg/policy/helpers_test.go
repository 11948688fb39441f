package policy

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// answer is one scripted attempt result.
type answer struct {
	status     int
	retryAfter string
	err        error
	hang       bool // block until the attempt's context ends
}

// upstream scripts answers per target and records attempts.
type upstream struct {
	mu       sync.Mutex
	scripts  map[Target][]answer
	attempts []Target
}

func newUpstream() *upstream { return &upstream{scripts: map[Target][]answer{}} }

// on queues answers for t; when they run out, t answers 200.
func (u *upstream) on(t Target, answers ...answer) *upstream {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.scripts[t] = append(u.scripts[t], answers...)
	return u
}

func (u *upstream) count(t Target) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, a := range u.attempts {
		if a == t {
			n++
		}
	}
	return n
}

func (u *upstream) attempt(ctx context.Context, t Target) (*http.Response, error) {
	u.mu.Lock()
	u.attempts = append(u.attempts, t)
	a := answer{status: http.StatusOK}
	if q := u.scripts[t]; len(q) > 0 {
		a, u.scripts[t] = q[0], q[1:]
	}
	u.mu.Unlock()
	if a.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if a.err != nil {
		return nil, a.err
	}
	h := http.Header{}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(t.String()))}, nil
}

func classify(_ Target, resp *http.Response) Failure {
	switch s := resp.StatusCode; {
	case s < 400:
		return NoFailure
	case s == 429:
		return RateLimited
	case s >= 500:
		return ServerError
	}
	return ClientError
}

func (u *upstream) call(primary Target, rungs ...*Target) *Call {
	return &Call{Primary: primary, Rungs: rungs, Attempt: u.attempt, Classify: classify}
}

func compile(t *testing.T, p proxyconfig.Policy, prev *Set, opts Options) *Set {
	t.Helper()
	s, err := Compile(p, prev, opts)
	require.NoError(t, err)
	return s
}

// basePolicy has two providers and short timeouts; tests add blocks.
func basePolicy() proxyconfig.Policy {
	return proxyconfig.Policy{
		Name: "test", Namespace: "ns",
		Providers: []proxyconfig.Provider{
			{Name: "primary", Type: proxyconfig.OpenAI, BaseURL: "http://127.0.0.1:1"},
			{Name: "backup", Type: proxyconfig.OpenAI, BaseURL: "http://127.0.0.1:2"},
		},
		Timeouts: proxyconfig.Timeouts{
			Connect:    proxyconfig.Duration(time.Second),
			FirstToken: proxyconfig.Duration(2 * time.Second),
			Total:      proxyconfig.Duration(10 * time.Second),
		},
	}
}

func fastRetry(attempts int) *proxyconfig.Retry {
	return &proxyconfig.Retry{
		MaxAttempts:     attempts,
		BackoffInitial:  proxyconfig.Duration(time.Millisecond),
		BackoffMax:      proxyconfig.Duration(5 * time.Millisecond),
		Jitter:          proxyconfig.JitterNone,
		RetryOn:         []proxyconfig.RetryCondition{proxyconfig.RetryOnTimeout, proxyconfig.RetryOnConnectionError, proxyconfig.RetryOnRateLimited, proxyconfig.RetryOnServerError},
		HonorRetryAfter: true,
		MaxRetryAfter:   proxyconfig.Duration(time.Second),
		BudgetPercent:   100,
	}
}

func body(t *testing.T, r Result) string {
	t.Helper()
	require.NotNil(t, r.Response, "no response; err=%v", r.Err)
	b, err := io.ReadAll(r.Response.Body)
	require.NoError(t, err)
	return string(b)
}

var (
	primary = Target{Provider: "primary", Model: "m1"}
	backup  = Target{Provider: "backup", Model: "m2"}
)
