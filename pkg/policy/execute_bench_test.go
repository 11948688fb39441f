package policy

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// chainPolicy is the benchmark's: retries, a breaker on the failure rate,
// timeouts, as bench/ runs the sidecar.
func chainPolicy() proxyconfig.Policy {
	p := basePolicy()
	p.Retry = fastRetry(3)
	p.CircuitBreaker = &proxyconfig.CircuitBreaker{
		FailureRateThreshold: 50, MinimumRequests: 20, Window: proxyconfig.Duration(time.Minute),
		OpenDuration: proxyconfig.Duration(30 * time.Second), HalfOpenRequests: 1,
	}
	return p
}

func TestSet_BuildsEachTargetsExecutorOnce(t *testing.T) {
	s := compile(t, chainPolicy(), nil, Options{})
	first := s.executor(primary)
	assert.Same(t, first, s.executor(primary), "the executor is reused, not built per request")
	assert.NotSame(t, first, s.executor(backup), "each target has its own, with its own breaker")
	assert.Same(t, s.breakers.get(primary), s.breakers.get(primary))
}

// BenchmarkExecute is the chain alone (Retry ∘ CircuitBreaker ∘ Timeout)
// around an attempt that answers at once: what the policy costs a
// request beyond the upstream call.
func BenchmarkExecute(b *testing.B) {
	s, err := Compile(chainPolicy(), nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}
	c := &Call{
		Primary:  primary,
		Attempt:  func(context.Context, Target) (*http.Response, error) { return resp, nil },
		Classify: classify,
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := s.Execute(ctx, c); res.Response == nil {
			b.Fatal(res.Err)
		}
	}
}
