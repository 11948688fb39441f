package proxy

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
)

func TestTrace_OnlyRequestsThatFailedOrFellBackHaveOne(t *testing.T) {
	h := newHarnessWith(t, `
  retry: {maxAttempts: 2, backoff: {initial: 1ms, max: 2ms}}
  fallbacks:
    - {provider: openai, model: gpt-4o}
`, llmclient.Options{Trace: true})

	_, _, rep := h.served(chat, "sk-app-ok")
	assert.False(t, rep.FailedOrFellBack())
	assert.Nil(t, rep.Trace, "a good answer leaves no trace")

	errBody := `{"error":{"message":"overloaded","type":"server_error"}}`
	h.mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: 503, Body: errBody, Headers: map[string]string{"X-Request-Id": "req_upstream_1", "Set-Cookie": "a=b"}},
		mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders})
	resp, _, rep := h.served(chat, "sk-app-ok")
	require.Equal(t, 200, resp.StatusCode)
	require.True(t, rep.FailedOrFellBack())
	require.NotNil(t, rep.Trace)
	tr := rep.Trace
	assert.Equal(t, "POST", tr.Method)
	assert.Equal(t, "/openai/v1/chat/completions", tr.Path)
	assert.Equal(t, []string{llmclient.Redacted}, tr.Header["Authorization"])
	assert.Nil(t, tr.Body, "the policy does not include request bodies")
	require.Len(t, tr.Attempts, 3)
	first, second, third := tr.Attempts[0], tr.Attempts[1], tr.Attempts[2]
	assert.Equal(t, llmclient.TraceAttempt{N: 1, Target: policy.Target{Provider: "openai", Model: "gpt-4o-mini"}, Status: 503, Reason: "server_error"},
		llmclient.TraceAttempt{N: first.N, Target: first.Target, Status: first.Status, Reason: first.Reason})
	assert.JSONEq(t, errBody, string(first.ErrorBody))
	assert.False(t, first.ErrorBodyTruncated)
	assert.Equal(t, "req_upstream_1", first.Header.Get("X-Request-Id"), "the provider's request id helps a support ticket")
	assert.Empty(t, first.Header.Get("Set-Cookie"), "only diagnostic headers")
	assert.Equal(t, 2, second.N)
	assert.Equal(t, "connection_error", second.Reason)
	assert.NotEmpty(t, second.Error)
	assert.Equal(t, 3, third.N)
	assert.Equal(t, 1, third.Rung)
	assert.Equal(t, policy.Target{Provider: "openai", Model: "gpt-4o"}, third.Target)
	assert.Equal(t, 200, third.Status)
}

func TestTrace_KeepsTheStartOfLongErrorBodiesAndOptedInRequestBodies(t *testing.T) {
	h := newHarnessWith(t, `
  failureRecords: {includeRequestBody: true, maxBodyBytes: 64}
`, llmclient.Options{Trace: true})
	long := `{"error":{"message":"` + strings.Repeat("e", 10<<10) + `"}}`
	h.mock.Enqueue(mockprovider.Step{Status: 500, Body: long})
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("p", 200) + `"}]}`
	resp, _, rep := h.served(body, "sk-app-ok")
	require.Equal(t, 500, resp.StatusCode)
	require.NotNil(t, rep.Trace)
	require.Len(t, rep.Trace.Attempts, 1)
	a := rep.Trace.Attempts[0]
	assert.Len(t, a.ErrorBody, llmclient.TraceErrorBodyBytes)
	assert.True(t, a.ErrorBodyTruncated)
	assert.Equal(t, body[:64], string(rep.Trace.Body))
	assert.Equal(t, len(body), rep.Trace.BodyBytes)
	assert.True(t, rep.Trace.BodyTruncated)
}

func TestTrace_HoldsNoKeyOfTheAppOrOfTheSidecar(t *testing.T) {
	const (
		appKey     = "sk-app-0123456789abcdefghij"
		sidecarKey = "sidecar-held-key-9876543210"
		queryKey   = "query-key-value-55555"
	)
	h := newHarnessRawWith(t, `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, credentialsSecretRef: {name: s, key: k}}
  failureRecords: {includeRequestBody: true}
`, llmclient.Options{Trace: true, CredentialsDir: writeKey(t, "openai", sidecarKey)})
	// A provider that echoes what it was sent.
	h.mock.Enqueue(mockprovider.Step{Status: 401, Body: `{"error":{"message":"bad key ` + sidecarKey + ` and ` + appKey + ` and ` + queryKey + `"}}`})
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my key is ` + appKey + `"}]}`
	before := h.reportCount()
	resp := h.post("/openai/v1/chat/completions?key="+queryKey, body, "Authorization", "Bearer "+appKey, "X-Api-Key", appKey)
	require.Equal(t, 401, resp.StatusCode)
	require.Eventually(t, func() bool { return h.reportCount() > before }, waitFor, tick)
	tr := h.lastReport().Trace
	require.NotNil(t, tr)
	text := fmtReport(h.lastReport())
	for _, key := range []string{appKey, sidecarKey, queryKey} {
		assert.NotContains(t, text, key)
	}
	assert.Equal(t, "key=[redacted]", tr.Query)
	assert.Contains(t, string(tr.Attempts[0].ErrorBody), "bad key [redacted] and [redacted] and [redacted]")
	assert.Contains(t, string(tr.Body), "my key is [redacted]")
}

func TestTrace_AStreamThatBreaksOffHasOne(t *testing.T) {
	h := newHarnessWith(t, "", llmclient.Options{Trace: true})
	h.mock.Enqueue(mockprovider.Step{Fault: mockprovider.FaultResetMidStream, AfterEvents: 2})
	before := h.reportCount()
	resp := h.post("/openai/v1/chat/completions", chatStream)
	_, _ = io.ReadAll(resp.Body)
	require.Eventually(t, func() bool { return h.reportCount() > before }, waitFor, tick)
	rep := h.lastReport()
	assert.Equal(t, "upstream_error", rep.End)
	require.NotNil(t, rep.Trace, "a stream cut short is a failure")
	require.Len(t, rep.Trace.Attempts, 1)
	assert.Equal(t, 200, rep.Trace.Attempts[0].Status, "the attempt itself began well")
	assert.Equal(t, "none", rep.Trace.Attempts[0].Reason)
}

func TestTrace_ARefusalBeforeAnyAttemptShowsTheRequest(t *testing.T) {
	h := newHarnessWith(t, "", llmclient.Options{Trace: true})
	before := h.reportCount()
	resp := h.post("/nowhere/v1/chat/completions", chat, "Authorization", "Bearer sk-app-0123456789abcdefgh")
	require.Equal(t, 404, resp.StatusCode)
	require.Eventually(t, func() bool { return h.reportCount() > before }, waitFor, tick)
	tr := h.lastReport().Trace
	require.NotNil(t, tr)
	assert.Equal(t, "/nowhere/v1/chat/completions", tr.Path)
	assert.Equal(t, []string{llmclient.Redacted}, tr.Header["Authorization"])
	assert.Empty(t, tr.Attempts)
}
