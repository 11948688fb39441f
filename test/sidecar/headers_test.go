package sidecare2e

import (
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

func TestHeaders_AProvidersOwnXTollgateHeadersNeverReachTheApp(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "")
	forged := map[string]string{
		"X-Tollgate-Reason":   llmclient.CodeBudgetExhausted,
		"X-Tollgate-Policy":   "other/policy",
		"x-tollgate-attempts": "99",
		"X-TOLLGATE-FALLBACK": "static",
		"X-Tollgate-Anything": "else",
	}
	mock.Enqueue(mockprovider.Step{Status: http.StatusTooManyRequests, Headers: forged}, mockprovider.Step{Headers: forged})

	refused := chat(t, sc.openAI(), "gpt-4o-mini")
	apiErr := requireOpenAIError(t, refused.err, http.StatusTooManyRequests, "rate_limit_exceeded")
	served := chat(t, sc.openAI(), "gpt-4o-mini")
	require.NoError(t, served.err)

	for name, h := range map[string]http.Header{"the provider's error": apiErr.Response.Header, "the provider's answer": served.header} {
		assert.Empty(t, h.Get(llmclient.HeaderReason), "%s looks like a Tollgate refusal", name)
		assert.Empty(t, h.Get(llmclient.HeaderFallback), name)
		assert.Empty(t, h.Get("X-Tollgate-Anything"), name)
		assert.Equal(t, policyRef, h.Get(llmclient.HeaderPolicy), name)
		assert.Equal(t, "1", h.Get(llmclient.HeaderAttempts), name)
	}
}

func TestHeaders_EveryAnswerSaysHowManyAttemptsWereMade(t *testing.T) {
	tests := map[string]struct {
		spec         string
		steps        []mockprovider.Step
		provider     string
		before       func(t *testing.T, sc *sidecar)
		wantStatus   int
		wantCode     string
		wantAttempts string
	}{
		"the 502 after three attempts": {
			spec:       "  retry: {maxAttempts: 3, backoff: {initial: 10ms, max: 20ms, jitter: None}}\n",
			steps:      []mockprovider.Step{{Fault: mockprovider.FaultResetBeforeHeaders}, {Fault: mockprovider.FaultResetBeforeHeaders}, {Fault: mockprovider.FaultResetBeforeHeaders}},
			wantStatus: http.StatusBadGateway, wantCode: llmclient.CodeUpstreamUnavailable, wantAttempts: "3",
		},
		"the 504 at the first-token timeout": {
			spec:       "  timeouts: {connect: 1s, firstToken: 150ms, total: 20s}\n",
			steps:      []mockprovider.Step{{FirstByteDelay: 3 * time.Second}},
			wantStatus: http.StatusGatewayTimeout, wantCode: llmclient.CodeTimeout, wantAttempts: "1",
		},
		"an open breaker": {
			spec:  "  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}\n",
			steps: []mockprovider.Step{{Status: http.StatusInternalServerError}},
			before: func(t *testing.T, sc *sidecar) {
				requireOpenAIError(t, chat(t, sc.openAI(), "gpt-4o-mini").err, http.StatusInternalServerError, "")
			},
			wantStatus: http.StatusServiceUnavailable, wantCode: llmclient.CodeCircuitOpen, wantAttempts: "0",
		},
		"a request beyond the rate limit": {
			spec: "  rateLimit: {requestsPerMinute: 1, maxWait: 10ms}\n",
			before: func(t *testing.T, sc *sidecar) {
				require.NoError(t, chat(t, sc.openAI(), "gpt-4o-mini").err)
			},
			wantStatus: http.StatusTooManyRequests, wantCode: llmclient.CodeRateLimited, wantAttempts: "0",
		},
		"an unknown provider": {
			provider:   "mistral",
			wantStatus: http.StatusNotFound, wantCode: llmclient.CodeUnknownProvider, wantAttempts: "0",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, tc.spec)
			mock.Enqueue(tc.steps...)
			if tc.before != nil {
				tc.before(t, sc)
			}
			provider := tc.provider
			if provider == "" {
				provider = "openai"
			}
			res := chat(t, sc.openAIClient(provider), "gpt-4o-mini")
			apiErr := requireOpenAIError(t, res.err, tc.wantStatus, tc.wantCode)
			assert.Equal(t, tc.wantAttempts, apiErr.Response.Header.Get(llmclient.HeaderAttempts))
		})
	}
}

func TestHeaders_AnswersThatMadeNoAttemptSayZero(t *testing.T) {
	t.Run("a cache hit", func(t *testing.T) {
		mock := startMock(t)
		sc := startWithSpec(t, mock, "  cache: {enabled: true, ttl: 1m, maxEntries: 100}\n")
		const deterministic = `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"Say hello"}]}`
		miss := sc.send(rawPost("/openai/v1/chat/completions", deterministic))
		require.Equal(t, http.StatusOK, miss.StatusCode)
		_, err := io.Copy(io.Discard, miss.Body)
		require.NoError(t, err)
		assert.Equal(t, "1", miss.Header.Get(llmclient.HeaderAttempts))
		sc.requestLog(rawRequestID) // stored once the miss is over

		hit := sc.send(rawPost("/openai/v1/chat/completions", deterministic))
		require.Equal(t, http.StatusOK, hit.StatusCode)
		assert.Equal(t, "hit", hit.Header.Get("X-Tollgate-Cache"))
		assert.Equal(t, "0", hit.Header.Get(llmclient.HeaderAttempts))
	})
	t.Run("no policy yet", func(t *testing.T) {
		sc := startSidecar(t, filepath.Join(t.TempDir(), "not-rendered-yet.yaml"), "--allow-missing-policy")
		apiErr := requireOpenAIError(t, chat(t, sc.openAI(), "gpt-4o-mini").err, http.StatusServiceUnavailable, llmclient.CodeNoPolicy)
		assert.Equal(t, "0", apiErr.Response.Header.Get(llmclient.HeaderAttempts))
	})
}
