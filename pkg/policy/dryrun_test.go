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

func dryRunBreakerPolicy(consecutive int, open time.Duration) proxyconfig.Policy {
	p := breakerPolicy(consecutive, open)
	p.Mode = proxyconfig.ModeDryRun
	return p
}

func TestDryRun_AnOpenBreakerStillSendsAndItsStateIsTracked(t *testing.T) {
	var changes []string
	s := compile(t, dryRunBreakerPolicy(3, 100*time.Millisecond), nil, Options{
		OnBreakerStateChange: func(tg Target, from, to circuitbreaker.State) {
			changes = append(changes, from.String()+"->"+to.String())
		},
	})
	require.True(t, s.DryRun())
	up := newUpstream().on(primary, answer{status: 503}, answer{status: 503}, answer{status: 503}, answer{status: 503})

	for range 3 {
		res := s.Execute(context.Background(), up.call(primary))
		require.Equal(t, 503, res.Response.StatusCode)
		assert.False(t, res.BreakerOpen, "closed while the failures add up")
	}
	assert.Equal(t, circuitbreaker.OpenState, s.BreakerState(primary), "three failures in a row open it, as in Enforce")

	res := s.Execute(context.Background(), up.call(primary))
	require.NotNil(t, res.Response, "the request still goes to the provider")
	assert.Equal(t, 503, res.Response.StatusCode)
	assert.True(t, res.BreakerOpen, "Enforce would have skipped the provider")
	assert.Equal(t, 4, up.count(primary))
	assert.Equal(t, 1, res.Attempts)

	res = s.Execute(context.Background(), up.call(primary))
	require.NotNil(t, res.Response)
	assert.Equal(t, 200, res.Response.StatusCode)
	assert.True(t, res.BreakerOpen, "an answer while open is not recorded: the breaker waits out openDuration")
	assert.Equal(t, circuitbreaker.OpenState, s.BreakerState(primary))

	require.Eventually(t, func() bool { return s.breakers.get(primary).RemainingDelay() == 0 },
		5*time.Second, 5*time.Millisecond)
	res = s.Execute(context.Background(), up.call(primary))
	require.NotNil(t, res.Response)
	assert.Equal(t, 200, res.Response.StatusCode)
	assert.False(t, res.BreakerOpen, "the half-open trial is one Enforce would send too")
	assert.Equal(t, circuitbreaker.ClosedState, s.BreakerState(primary), "a successful trial closes it")
	assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->closed"}, changes)
}

func TestDryRun_RetriesAndFallbacksStillAct(t *testing.T) {
	p := dryRunBreakerPolicy(1, time.Hour)
	p.Retry = fastRetry(2)
	p.Fallbacks = []proxyconfig.Fallback{{Provider: "backup", Model: "m2"}}
	s := compile(t, p, nil, Options{})
	up := newUpstream().on(primary, answer{status: 503}, answer{status: 503}, answer{status: 503}, answer{status: 503})

	res := s.Execute(context.Background(), up.call(primary, &backup))
	assert.Equal(t, "backup/m2", body(t, res), "retried, then the fallback answered")
	assert.Equal(t, 3, res.Attempts)
	assert.True(t, res.BreakerOpen, "the retry went past the breaker the first failure opened")
	assert.Equal(t, circuitbreaker.OpenState, s.BreakerState(primary))

	res = s.Execute(context.Background(), up.call(primary, &backup))
	assert.Equal(t, "backup/m2", body(t, res))
	assert.Equal(t, 4, up.count(primary), "the open breaker's provider is still tried")
}

func TestDryRun_TimeoutsCountAgainstTheBreaker(t *testing.T) {
	p := dryRunBreakerPolicy(1, time.Hour)
	p.Timeouts.FirstToken = proxyconfig.Duration(20 * time.Millisecond)
	s := compile(t, p, nil, Options{})
	up := newUpstream().on(primary, answer{hang: true})

	res := s.Execute(context.Background(), up.call(primary))
	assert.ErrorIs(t, res.Err, ErrTimeout, "the first-token timeout acts in DryRun too")
	assert.Equal(t, circuitbreaker.OpenState, s.BreakerState(primary))
}
