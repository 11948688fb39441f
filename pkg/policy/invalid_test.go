package policy

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// statusInvalid scripts a complete answer that validation rejects.
const statusInvalid = 299

func classifyValidated(t Target, resp *http.Response) Failure {
	if resp.StatusCode == statusInvalid {
		return InvalidOutput
	}
	return classify(t, resp)
}

func validatingPolicy(retryOn ...proxyconfig.RetryCondition) proxyconfig.Policy {
	p := basePolicy()
	p.Validation = &proxyconfig.Validation{}
	p.Retry = fastRetry(2)
	p.Retry.RetryOn = append(p.Retry.RetryOn, retryOn...)
	p.Fallbacks = []proxyconfig.Fallback{{Provider: "backup", Model: "m2"}}
	return p
}

func TestInvalidOutput_IsRetriedThenFallsBackThenTheLastAnswerComesBack(t *testing.T) {
	invalid := answer{status: statusInvalid}
	tests := map[string]struct {
		retryOn         []proxyconfig.RetryCondition
		primary, backup []answer
		wantBody        string
		wantFailure     Failure
		wantAttempts    int
		wantRung        int
	}{
		"an invalid answer then a valid one: one retry": {
			retryOn: []proxyconfig.RetryCondition{proxyconfig.RetryOnInvalidOutput},
			primary: []answer{invalid}, wantBody: "primary/m1", wantFailure: NoFailure, wantAttempts: 2,
		},
		"always invalid: the fallback answers": {
			retryOn: []proxyconfig.RetryCondition{proxyconfig.RetryOnInvalidOutput},
			primary: []answer{invalid, invalid}, wantBody: "backup/m2", wantFailure: NoFailure, wantAttempts: 3, wantRung: 1,
		},
		"invalid everywhere: the last answer comes back as invalid": {
			retryOn: []proxyconfig.RetryCondition{proxyconfig.RetryOnInvalidOutput},
			primary: []answer{invalid, invalid}, backup: []answer{invalid, invalid},
			wantBody: "backup/m2", wantFailure: InvalidOutput, wantAttempts: 4, wantRung: 1,
		},
		"not in retryOn: straight to the fallback": {
			primary: []answer{invalid}, wantBody: "backup/m2", wantFailure: NoFailure, wantAttempts: 2, wantRung: 1,
		},
		"a fallback that fails outright: the invalid answer rather than an error": {
			primary: []answer{invalid}, backup: []answer{{err: errors.New("refused")}, {err: errors.New("refused")}},
			wantBody: "primary/m1", wantFailure: InvalidOutput, wantAttempts: 3, wantRung: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := compile(t, validatingPolicy(tc.retryOn...), nil, Options{})
			u := newUpstream().on(primary, tc.primary...).on(backup, tc.backup...)
			c := u.call(primary, &backup)
			c.Classify = classifyValidated
			r := s.Execute(context.Background(), c)
			assert.Equal(t, tc.wantBody, body(t, r))
			assert.Equal(t, tc.wantFailure, r.Failure)
			assert.Equal(t, tc.wantAttempts, r.Attempts)
			assert.Equal(t, tc.wantRung, r.Rung)
		})
	}
}

func TestInvalidOutput_NeverOpensABreaker(t *testing.T) {
	p := validatingPolicy(proxyconfig.RetryOnInvalidOutput)
	p.Fallbacks = nil
	p.CircuitBreaker = &proxyconfig.CircuitBreaker{ConsecutiveFailures: 1, OpenDuration: proxyconfig.Duration(60e9), HalfOpenRequests: 1}
	s := compile(t, p, nil, Options{})
	u := newUpstream().on(primary, answer{status: statusInvalid}, answer{status: statusInvalid}, answer{status: statusInvalid})
	c := u.call(primary)
	c.Classify = classifyValidated
	for range 3 {
		r := s.Execute(context.Background(), c)
		require.NotNil(t, r.Response)
		_ = r.Response.Body.Close()
	}
	assert.Equal(t, circuitbreaker.ClosedState, s.BreakerState(primary))
}

func TestInvalidOutput_IsAReasonOnlyWherePoliciesValidate(t *testing.T) {
	p := validatingPolicy(proxyconfig.RetryOnInvalidOutput)
	assert.Contains(t, compile(t, p, nil, Options{}).RetryOn(), InvalidOutput)
	p.Validation = nil
	assert.NotContains(t, compile(t, p, nil, Options{}).RetryOn(), InvalidOutput)
	assert.Equal(t, "invalid_output", InvalidOutput.String())
}
