package sidecare2e

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

const refusalPolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, models: [gpt-4o-mini, gpt-4o]}
    - {name: claude, type: Anthropic, baseURL: MOCK, models: [claude-sonnet-4-5]}
  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}
`

func TestRefusals_TheOpenAISDKSurfacesTheStableCodeAndStatus(t *testing.T) {
	tests := map[string]struct {
		spec     string // appended to refusalPolicy
		provider string // the route the app's SDK points at
		model    string
		// before runs before the refused call.
		before      func(t *testing.T, sc *sidecar, mock *mockprovider.Server)
		wantStatus  int
		wantCode    string
		wantMessage string
		wantRetry   bool // a Retry-After header
		wantSent    int64
	}{
		"an unknown provider prefix": {
			provider: "mistral", model: "gpt-4o-mini",
			wantStatus: http.StatusNotFound, wantCode: llmclient.CodeUnknownProvider,
			wantMessage: `no provider "mistral" in policy team-a/e2e; the path must start with one of: /openai, /claude`,
		},
		"a model outside the provider's allow-list": {
			provider: "openai", model: "gpt-5",
			wantStatus: http.StatusForbidden, wantCode: llmclient.CodeModelNotAllowed,
			wantMessage: `model "gpt-5" is not allowed for provider openai by policy team-a/e2e; allowed: gpt-4o-mini, gpt-4o`,
		},
		"an open circuit breaker without a fallback": {
			provider: "openai", model: "gpt-4o-mini",
			before: func(t *testing.T, sc *sidecar, mock *mockprovider.Server) {
				mock.Enqueue(mockprovider.Step{Status: http.StatusInternalServerError})
				requireOpenAIError(t, chat(t, sc.openAI(), "gpt-4o-mini").err, http.StatusInternalServerError, "")
			},
			wantStatus: http.StatusServiceUnavailable, wantCode: llmclient.CodeCircuitOpen, wantRetry: true, wantSent: 1,
			wantMessage: "the circuit breaker for openai/gpt-4o-mini is open after repeated failures",
		},
		"a request beyond the rate limit": {
			spec:     "  rateLimit: {requestsPerMinute: 1, maxWait: 10ms}\n",
			provider: "openai", model: "gpt-4o-mini",
			before: func(t *testing.T, sc *sidecar, _ *mockprovider.Server) {
				require.NoError(t, chat(t, sc.openAI(), "gpt-4o-mini").err, "the first request is within the limit")
			},
			wantStatus: http.StatusTooManyRequests, wantCode: llmclient.CodeRateLimited, wantRetry: true, wantSent: 1,
			wantMessage: "policy team-a/e2e allows no more requests per minute now (limit 1 requests/min)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithPolicy(t, withMock(refusalPolicy+tc.spec, mock))
			if tc.before != nil {
				tc.before(t, sc, mock)
			}

			res := chat(t, sc.openAIClient(tc.provider), tc.model, requestID("refused-1"))
			apiErr := requireOpenAIError(t, res.err, tc.wantStatus, tc.wantCode)
			assert.Contains(t, apiErr.Message, tc.wantMessage)
			assert.NotEmpty(t, apiErr.Type)
			h := apiErr.Response.Header
			assert.Equal(t, tc.wantCode, h.Get(llmclient.HeaderReason))
			assert.Equal(t, policyRef, h.Get(llmclient.HeaderPolicy))
			assert.Equal(t, "refused-1", h.Get("X-Request-Id"))
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			assert.Equal(t, tc.wantRetry, h.Get("Retry-After") != "", "Retry-After: %q", h.Get("Retry-After"))
			assert.Equal(t, tc.wantSent, mock.Received(), "requests that reached the provider")

			assert.Equal(t, tc.wantCode, sc.requestLog("refused-1")["error_type"])
			sc.awaitMetric(1.0, "tollgate_requests_total", "outcome", tc.wantCode)
		})
	}
}

func TestRefusals_TheAnthropicSDKGetsThemInAnthropicsErrorShape(t *testing.T) {
	mock := startMock(t)
	sc := startWithPolicy(t, withMock(refusalPolicy, mock))
	client := sc.anthropic()
	_, err := client.Messages.New(context.Background(), messageParams("claude-opus-4-1"))
	var apiErr *anthropic.Error
	require.True(t, errors.As(err, &apiErr), "want an *anthropic.Error, got %v", err)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	assert.Equal(t, llmclient.CodeModelNotAllowed, apiErr.Response.Header.Get(llmclient.HeaderReason))
	assert.JSONEq(t, `{"type":"error","error":{"type":"permission_error","code":"tollgate_model_not_allowed",
		"message":"model \"claude-opus-4-1\" is not allowed for provider claude by policy team-a/e2e; allowed: claude-sonnet-4-5"}}`, apiErr.RawJSON())
	assert.Zero(t, mock.Received())
}

func TestRefusals_NoPolicyYetIsRefusedWithTollgateNoPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-rendered-yet.yaml")
	sc := startSidecar(t, path, "--allow-missing-policy")

	res := chat(t, sc.openAI(), "gpt-4o-mini")
	apiErr := requireOpenAIError(t, res.err, http.StatusServiceUnavailable, llmclient.CodeNoPolicy)
	assert.Contains(t, apiErr.Message, "does not exist yet")
	assert.Contains(t, apiErr.Message, "Create an LLMPolicy whose podSelector matches this pod's labels")
	assert.Equal(t, llmclient.CodeNoPolicy, apiErr.Response.Header.Get(llmclient.HeaderReason))
	assert.NotEmpty(t, apiErr.Response.Header.Get("X-Request-Id"))
}
