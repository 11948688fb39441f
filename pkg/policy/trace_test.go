package policy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// step is what a test checks of one Attempt of a trace.
type step struct {
	n      int
	rung   int
	target Target
	status int
	reason string
}

func steps(trace []Attempt) []step {
	out := make([]step, len(trace))
	for i, a := range trace {
		out[i] = step{n: a.N, rung: a.Rung, target: a.Target, status: a.Status, reason: a.Reason()}
	}
	return out
}

func TestExecute_TraceListsEveryAttemptAndEveryTargetPassedOver(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	tests := map[string]struct {
		policy    func() proxyconfig.Policy
		primary   []answer
		backup    []answer
		openFirst bool // a first request opens the primary's breaker
		want      []step
	}{
		"one good attempt": {
			policy: fallbackPolicy,
			want:   []step{{n: 1, target: primary, status: 200, reason: "none"}},
		},
		"retries, then the backup answers": {
			policy:  fallbackPolicy,
			primary: []answer{{status: 503}, {err: refused}},
			want: []step{
				{n: 1, target: primary, status: 503, reason: "server_error"},
				{n: 2, target: primary, reason: "connection_error"},
				{n: 3, rung: 1, target: backup, status: 200, reason: "none"},
			},
		},
		"a first-token timeout is a timeout": {
			policy: func() proxyconfig.Policy {
				p := fallbackPolicy()
				p.Timeouts.FirstToken = proxyconfig.Duration(30 * time.Millisecond)
				return p
			},
			primary: []answer{{hang: true}, {status: 429}},
			want: []step{
				{n: 1, target: primary, reason: "timeout"},
				{n: 2, target: primary, status: 429, reason: "rate_limited"},
				{n: 3, rung: 1, target: backup, status: 200, reason: "none"},
			},
		},
		"an open breaker passes the primary over": {
			policy: func() proxyconfig.Policy {
				p := breakerPolicy(1, time.Hour)
				p.Fallbacks = []proxyconfig.Fallback{{Provider: "backup", Model: "m2"}}
				return p
			},
			primary:   []answer{{status: 500}},
			openFirst: true,
			want: []step{
				{rung: 0, target: primary, reason: "circuit_open"},
				{n: 1, rung: 1, target: backup, status: 200, reason: "none"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := compile(t, tc.policy(), nil, Options{})
			up := newUpstream().on(primary, tc.primary...).on(backup, tc.backup...)
			if tc.openFirst {
				s.Execute(context.Background(), up.call(primary, &backup))
				require.Equal(t, "open", s.BreakerState(primary).String())
			}
			res := s.Execute(context.Background(), up.call(primary, &backup, nil))
			require.NotNil(t, res.Response)
			assert.Equal(t, tc.want, steps(res.Trace))
			for _, a := range res.Trace {
				assert.False(t, a.Start.IsZero())
				if !a.Skipped() {
					assert.Positive(t, a.Latency)
				}
			}
		})
	}
}

func TestExecute_TraceOfARequestNoProviderAnsweredSaysWhy(t *testing.T) {
	p := basePolicy()
	p.Retry = fastRetry(2)
	s := compile(t, p, nil, Options{})
	refused := errors.New("connection refused")
	res := s.Execute(context.Background(), newUpstream().on(primary, answer{err: refused}, answer{err: refused}).call(primary))
	require.Nil(t, res.Response)
	require.Len(t, res.Trace, 2)
	for i, a := range res.Trace {
		assert.Equal(t, i+1, a.N)
		assert.Equal(t, "connection_error", a.Reason())
		assert.ErrorIs(t, a.Err, refused)
	}
}

func TestExecute_TraceNotesInvalidOutputOnceTheAnswerIsJudged(t *testing.T) {
	s := compile(t, validatingPolicy(proxyconfig.RetryOnInvalidOutput), nil, Options{})
	up := newUpstream().on(primary, answer{status: statusInvalid}, answer{status: statusInvalid})
	call := up.call(primary, &backup)
	call.Classify = classifyValidated
	res := s.Execute(context.Background(), call)
	require.NotNil(t, res.Response)
	assert.Equal(t, []step{
		{n: 1, target: primary, status: statusInvalid, reason: "invalid_output"},
		{n: 2, target: primary, status: statusInvalid, reason: "invalid_output"},
		{n: 3, rung: 1, target: backup, status: 200, reason: "none"},
	}, steps(res.Trace))
}
