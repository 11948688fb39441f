package policy

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func breakerPolicy(consecutive int, open time.Duration) proxyconfig.Policy {
	p := basePolicy()
	p.CircuitBreaker = &proxyconfig.CircuitBreaker{
		ConsecutiveFailures: consecutive,
		OpenDuration:        proxyconfig.Duration(open),
		HalfOpenRequests:    1,
	}
	return p
}

func TestBreaker_OpensThenHalfOpensThenCloses(t *testing.T) {
	var changes []string
	s := compile(t, breakerPolicy(3, 100*time.Millisecond), nil, Options{
		OnBreakerStateChange: func(tg Target, from, to circuitbreaker.State) {
			changes = append(changes, tg.String()+" "+from.String()+"->"+to.String())
		},
	})
	up := newUpstream().on(primary, answer{status: 503}, answer{status: 503}, answer{status: 503})

	for range 3 {
		res := s.Execute(context.Background(), up.call(primary))
		require.Equal(t, 503, res.Response.StatusCode)
	}
	assert.Equal(t, circuitbreaker.OpenState, s.BreakerState(primary))

	res := s.Execute(context.Background(), up.call(primary))
	assert.ErrorIs(t, res.Err, ErrCircuitOpen, "an open breaker refuses at once")
	assert.Nil(t, res.Response)
	assert.Equal(t, 3, up.count(primary), "no attempt while open")
	assert.Equal(t, 0, res.Attempts)

	// failsafe-go half-opens lazily, on the first request after the delay.
	require.Eventually(t, func() bool { return s.breakers.get(primary).RemainingDelay() == 0 },
		5*time.Second, 5*time.Millisecond)
	res = s.Execute(context.Background(), up.call(primary))
	require.NotNil(t, res.Response)
	assert.Equal(t, 200, res.Response.StatusCode, "the trial request goes through")
	assert.Equal(t, circuitbreaker.ClosedState, s.BreakerState(primary))
	assert.Equal(t, []string{
		"primary/m1 closed->open", "primary/m1 open->half-open", "primary/m1 half-open->closed",
	}, changes)
}

func TestBreaker_IsPerProviderAndModel(t *testing.T) {
	s := compile(t, breakerPolicy(1, time.Hour), nil, Options{})
	other := Target{Provider: "primary", Model: "m9"}
	up := newUpstream().on(primary, answer{status: 500})
	s.Execute(context.Background(), up.call(primary))

	assert.Equal(t, circuitbreaker.OpenState, s.BreakerState(primary))
	res := s.Execute(context.Background(), up.call(other))
	require.NotNil(t, res.Response)
	assert.Equal(t, 200, res.Response.StatusCode, "another model of the same provider is unaffected")
}

func TestBreaker_IgnoresClientErrorsAndCountsRateLimits(t *testing.T) {
	tests := map[string]struct {
		status   int
		wantOpen bool
	}{
		"a 400 is the app's fault":   {status: 400, wantOpen: false},
		"a 404 is the app's fault":   {status: 404, wantOpen: false},
		"a 429 counts as a failure":  {status: 429, wantOpen: true},
		"a 503 counts as a failure":  {status: 503, wantOpen: true},
		"a success does not open it": {status: 200, wantOpen: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := compile(t, breakerPolicy(2, time.Hour), nil, Options{})
			up := newUpstream().on(primary, answer{status: tc.status}, answer{status: tc.status})
			s.Execute(context.Background(), up.call(primary))
			s.Execute(context.Background(), up.call(primary))
			assert.Equal(t, tc.wantOpen, s.BreakerState(primary) == circuitbreaker.OpenState)
		})
	}
}

func TestBreaker_OpensOnFailureRate(t *testing.T) {
	p := basePolicy()
	p.CircuitBreaker = &proxyconfig.CircuitBreaker{
		FailureRateThreshold: 50, MinimumRequests: 4, Window: proxyconfig.Duration(time.Minute),
		OpenDuration: proxyconfig.Duration(time.Hour), HalfOpenRequests: 1,
	}
	s := compile(t, p, nil, Options{})
	up := newUpstream().on(primary, answer{status: 200}, answer{status: 500}, answer{status: 200})
	for range 3 {
		s.Execute(context.Background(), up.call(primary))
	}
	assert.Equal(t, circuitbreaker.ClosedState, s.BreakerState(primary), "fewer than minimumRequests")
	up.on(primary, answer{status: 500})
	s.Execute(context.Background(), up.call(primary))
	assert.Equal(t, circuitbreaker.OpenState, s.BreakerState(primary), "2 of 4 failed: 50%")
}

func TestBreaker_StateSurvivesReloadWhenUnchanged(t *testing.T) {
	p := breakerPolicy(1, time.Hour)
	s1 := compile(t, p, nil, Options{})
	s1.Execute(context.Background(), newUpstream().on(primary, answer{status: 500}).call(primary))
	require.Equal(t, circuitbreaker.OpenState, s1.BreakerState(primary))

	p.Retry = fastRetry(2) // another block changes; the breaker's does not
	s2 := compile(t, p, s1, Options{})
	assert.Equal(t, circuitbreaker.OpenState, s2.BreakerState(primary), "unchanged breaker kept its state")

	p.CircuitBreaker.ConsecutiveFailures = 5
	s3 := compile(t, p, s2, Options{})
	assert.Equal(t, circuitbreaker.ClosedState, s3.BreakerState(primary), "changed breaker starts afresh")
}

func TestBreaker_BoundsTheTargetsItTracks(t *testing.T) {
	s := compile(t, breakerPolicy(1, time.Hour), nil, Options{})
	up := newUpstream()
	for i := range maxTargets + 10 {
		s.Execute(context.Background(), up.call(Target{Provider: "primary", Model: string(rune('a'+i%26)) + time.Duration(i).String()}))
	}
	s.breakers.mu.RLock()
	defer s.breakers.mu.RUnlock()
	assert.LessOrEqual(t, len(s.breakers.byTarget), maxTargets+1)
}
