package proxy

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

func TestProxy_RoutesByProviderPrefixKeepingPathAndQuery(t *testing.T) {
	h := newHarness(t, "")
	resp := h.post("/openai/v1/chat/completions?trace=1&x=y", chat, "X-Request-Id", "req-42")
	require.Equal(t, http.StatusOK, resp.StatusCode, readAll(t, resp))
	assert.Equal(t, "req-42", resp.Header.Get("X-Request-Id"), "the app's request id comes back")
	assert.Equal(t, "ns/test", resp.Header.Get(llmclient.HeaderPolicy))

	got := h.mock.Requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/v1/chat/completions", got[0].Path)
	assert.Equal(t, "trace=1&x=y", got[0].Query)
	assert.Equal(t, "req-42", got[0].Header.Get("X-Request-Id"), "and goes upstream")
	assert.JSONEq(t, chat, got[0].Body, "a non-streaming body is sent as the app wrote it")

	resp = h.post("/claude/v1/messages", messages)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	id := resp.Header.Get("X-Request-Id")
	assert.Len(t, id, 24, "a request without an id gets one")
	assert.Equal(t, id, h.mock.Requests()[1].Header.Get("X-Request-Id"))
	assert.Equal(t, "/v1/messages", h.mock.Requests()[1].Path)
}

func TestProxy_Refusals(t *testing.T) {
	tests := map[string]struct {
		spec       string
		steps      []mockprovider.Step
		path, body string
		wantStatus int
		wantCode   string
		wantRetry  bool // a Retry-After header
		wantSent   int  // requests that reached the provider
		allowList  bool // the openai provider allows only gpt-4o and gpt-4o-mini
	}{
		"an unknown provider prefix": {
			path: "/mistral/v1/chat/completions", body: chat,
			wantStatus: 404, wantCode: llmclient.CodeUnknownProvider,
		},
		"a body that is not JSON": {
			path: "/openai/v1/chat/completions", body: `{"model":`,
			wantStatus: 400, wantCode: llmclient.CodeBadRequest,
		},
		"a model outside the allow-list": {
			allowList: true,
			path:      "/openai/v1/chat/completions", body: strings.Replace(chat, "gpt-4o-mini", "gpt-5", 1),
			wantStatus: 403, wantCode: llmclient.CodeModelNotAllowed,
		},
		"a first-token timeout without retries": {
			spec:  "  timeouts: {connect: 1s, firstToken: 100ms, total: 10s}\n",
			steps: []mockprovider.Step{{FirstByteDelay: 2 * time.Second}},
			path:  "/openai/v1/chat/completions", body: chat,
			wantStatus: 504, wantCode: llmclient.CodeTimeout, wantSent: 1,
		},
		"a connection reset without retries": {
			steps: []mockprovider.Step{{Fault: mockprovider.FaultResetBeforeHeaders}},
			path:  "/openai/v1/chat/completions", body: chat,
			wantStatus: 502, wantCode: llmclient.CodeUpstreamUnavailable, wantSent: 1,
		},
		"requests beyond the rate limit": {
			spec: "  rateLimit: {requestsPerMinute: 1, maxWait: 0.01s}\n",
			path: "/openai/v1/chat/completions", body: chat,
			wantStatus: 429, wantCode: llmclient.CodeRateLimited, wantRetry: true, wantSent: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tc.spec)
			if tc.allowList {
				h = allowListHarness(t)
			}
			h.mock.Enqueue(tc.steps...)
			if tc.wantCode == llmclient.CodeRateLimited {
				ok := h.post(tc.path, tc.body)
				require.Equal(t, 200, ok.StatusCode, "the first request is within the limit")
			}
			resp := h.post(tc.path, tc.body)
			body := readAll(t, resp)
			assert.Equal(t, tc.wantStatus, resp.StatusCode, body)
			assert.Equal(t, tc.wantCode, errorCode(t, body))
			assert.Equal(t, tc.wantCode, resp.Header.Get(llmclient.HeaderReason))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
			assert.Equal(t, tc.wantRetry, resp.Header.Get("Retry-After") != "", "Retry-After: %q", resp.Header.Get("Retry-After"))
			assert.Len(t, h.mock.Requests(), tc.wantSent)
			r := h.lastReport()
			assert.Equal(t, tc.wantCode, r.Refusal)
		})
	}
}

func allowListHarness(t *testing.T) *harness {
	return newHarnessRawWith(t, `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, models: [gpt-4o-mini, gpt-4o]}
`, llmclient.Options{})
}

func TestProxy_AnthropicRefusalsUseAnthropicsErrorShape(t *testing.T) {
	h := newHarness(t, "  timeouts: {connect: 1s, firstToken: 100ms, total: 10s}\n")
	h.mock.Enqueue(mockprovider.Step{FirstByteDelay: 2 * time.Second})
	resp := h.post("/claude/v1/messages", messages)
	body := readAll(t, resp)
	assert.Equal(t, 504, resp.StatusCode)
	assert.Contains(t, body, `"type":"error"`)
	assert.Contains(t, body, `"code":"tollgate_timeout"`)
}

func TestProxy_ProviderErrorsPassThroughUntouched(t *testing.T) {
	h := newHarness(t, "  retry: {}\n")
	h.mock.Enqueue(mockprovider.Step{Status: 400, Body: `{"error":{"message":"bad messages","type":"invalid_request_error","param":"messages","code":null}}`})
	resp := h.post("/openai/v1/chat/completions", chat)
	assert.Equal(t, 400, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"message":"bad messages","type":"invalid_request_error","param":"messages","code":null}}`, readAll(t, resp))
	assert.Len(t, h.mock.Requests(), 1, "a 400 is never retried")
	assert.Empty(t, resp.Header.Get(llmclient.HeaderReason), "the provider refused, not Tollgate")
}

func TestProxy_Retries(t *testing.T) {
	tests := map[string]struct {
		steps        []mockprovider.Step
		wantStatus   int
		wantAttempts int
	}{
		"a 429 with Retry-After is retried after it": {
			steps:      []mockprovider.Step{{Status: 429, RetryAfter: "0.1"}},
			wantStatus: 200, wantAttempts: 2,
		},
		"a 429 asking to wait longer than maxRetryAfter fails fast with the provider's error": {
			steps:      []mockprovider.Step{{Status: 429, RetryAfter: "3600"}},
			wantStatus: 429, wantAttempts: 1,
		},
		"a 503 burst is retried": {
			steps:      []mockprovider.Step{{Status: 503}, {Status: 503}},
			wantStatus: 200, wantAttempts: 3,
		},
		"a reset before headers is retried": {
			steps:      []mockprovider.Step{{Fault: mockprovider.FaultResetBeforeHeaders}},
			wantStatus: 200, wantAttempts: 2,
		},
		"a slow first token is retried": {
			steps:      []mockprovider.Step{{FirstByteDelay: 5 * time.Second}},
			wantStatus: 200, wantAttempts: 2,
		},
		"a quota 429 is not transient and not retried": {
			steps:      []mockprovider.Step{{Status: 429, ErrorCode: "insufficient_quota"}},
			wantStatus: 429, wantAttempts: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, `  timeouts: {connect: 1s, firstToken: 300ms, total: 20s}
  retry: {maxAttempts: 3, backoff: {initial: 10ms, max: 50ms}, maxRetryAfter: 5s}
`)
			h.mock.Enqueue(tc.steps...)
			resp := h.post("/openai/v1/chat/completions", chat)
			body := readAll(t, resp)
			assert.Equal(t, tc.wantStatus, resp.StatusCode, body)
			assert.Len(t, h.mock.Requests(), tc.wantAttempts)
			r := h.lastReport()
			assert.Equal(t, tc.wantAttempts, r.Attempts)
			if tc.wantStatus == 200 {
				assert.Equal(t, int64(12), r.Usage.InputTokens)
			}
			for _, req := range h.mock.Requests() {
				assert.JSONEq(t, chat, req.Body, "every attempt replays the body exactly")
			}
		})
	}
}

func TestProxy_BreakerOpensAndRecoversHalfOpen(t *testing.T) {
	h := newHarness(t, `  circuitBreaker: {consecutiveFailures: 3, openDuration: 300ms}
`)
	h.mock.Enqueue(mockprovider.Step{Status: 503}, mockprovider.Step{Status: 503}, mockprovider.Step{Status: 503})
	for range 3 {
		resp := h.post("/openai/v1/chat/completions", chat)
		assert.Equal(t, 503, resp.StatusCode)
	}
	resp := h.post("/openai/v1/chat/completions", chat)
	body := readAll(t, resp)
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, llmclient.CodeCircuitOpen, errorCode(t, body))
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Len(t, h.mock.Requests(), 3, "an open breaker sends nothing upstream")
	assert.Equal(t, "open", h.lastReport().BreakerState)

	other := h.post("/openai/v1/chat/completions", strings.Replace(chat, "gpt-4o-mini", "gpt-4o", 1))
	assert.Equal(t, 200, other.StatusCode, "the breaker is per model")
	readAll(t, other)

	time.Sleep(350 * time.Millisecond)
	resp = h.post("/openai/v1/chat/completions", chat)
	assert.Equal(t, 200, resp.StatusCode, "the half-open trial goes through")
	readAll(t, resp)
	// A report is finished once its answer is read: wait for the trial's
	// (3 failures, the refusal, gpt-4o's answer, the trial), not an
	// earlier one.
	require.Eventually(t, func() bool { return h.reportCount() == 6 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "closed", h.lastReport().BreakerState)
}

func TestProxy_Fallbacks(t *testing.T) {
	tests := map[string]struct {
		body         string
		path         string
		steps        map[string][]mockprovider.Step
		wantFallback string
		wantModel    string // the model the answer came from
		wantStatic   bool
	}{
		"to another provider and model after the primary's retries": {
			path: "/openai/v1/chat/completions", body: chat,
			steps:        map[string][]mockprovider.Step{"gpt-4o-mini": {{Status: 500}, {Status: 500}}},
			wantFallback: "claude/claude-haiku-4-5", wantModel: "claude-haiku-4-5",
		},
		"to the static response when every provider fails": {
			path: "/openai/v1/chat/completions", body: chat,
			steps: map[string][]mockprovider.Step{
				"gpt-4o-mini":      {{Status: 500}, {Status: 500}},
				"claude-haiku-4-5": {{Status: 529}, {Status: 529}},
			},
			wantFallback: "static", wantStatic: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, `  retry: {maxAttempts: 2, backoff: {initial: 10ms, max: 20ms}}
  fallbacks:
    - {provider: claude, model: claude-haiku-4-5}
    - staticResponse: {content: "We are busy; try again soon."}
`)
			for model, steps := range tc.steps {
				h.mock.EnqueueFor(model, steps...)
			}
			resp := h.post(tc.path, tc.body)
			body := readAll(t, resp)
			require.Equal(t, 200, resp.StatusCode, body)
			assert.Equal(t, tc.wantFallback, resp.Header.Get(llmclient.HeaderFallback))
			if tc.wantStatic {
				assert.Contains(t, body, "We are busy; try again soon.")
				assert.Contains(t, body, `"object":"chat.completion"`)
			} else {
				assert.Contains(t, body, `"model":"`+tc.wantModel+`"`)
				last := h.mock.Requests()[len(h.mock.Requests())-1]
				assert.Equal(t, "/v1/chat/completions", last.Path, "Anthropic's OpenAI-compatible endpoint")
				assert.Equal(t, tc.wantModel, last.Model)
			}
		})
	}
}

func TestProxy_StaticResponseStreamsWhenTheRequestStreams(t *testing.T) {
	h := newHarness(t, `  fallbacks:
    - staticResponse: {content: "busy"}
`)
	h.mock.Enqueue(mockprovider.Step{Status: 503})
	resp := h.post("/openai/v1/chat/completions", chatStream)
	body := readAll(t, resp)
	assert.Equal(t, "text/event-stream", strings.Split(resp.Header.Get("Content-Type"), ";")[0])
	events := sseEvents(body)
	require.NotEmpty(t, events)
	assert.Equal(t, "[DONE]", events[len(events)-1])
	assert.Contains(t, body, `"content":"busy"`)
}

func TestProxy_StreamsEventByEventWithoutBuffering(t *testing.T) {
	h := newHarness(t, "")
	h.mock.Enqueue(mockprovider.Step{ChunkDelay: 300 * time.Millisecond, Chunks: 5})
	start := time.Now()
	resp := h.post("/openai/v1/chat/completions", chatStream)
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n')
	require.NoError(t, err)
	firstAt := time.Since(start)
	assert.True(t, strings.HasPrefix(first, "data: "))
	_, err = io.ReadAll(r)
	require.NoError(t, err)
	total := time.Since(start)
	// The stream takes over a second; its first event must not wait for it.
	assert.Greater(t, total, time.Second)
	assert.Less(t, firstAt, total/2, "first event after %s of a %s stream: buffered", firstAt, total)
}

func TestProxy_StreamUsage(t *testing.T) {
	tests := map[string]struct {
		body          string
		wantUsageSent bool
	}{
		"an app that did not ask for usage does not get the usage chunk": {
			body: chatStream,
		},
		"an app that asked for usage gets it": {
			body:          `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			wantUsageSent: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "")
			h.mock.Enqueue(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 30, OutputTokens: 9}})
			resp := h.post("/openai/v1/chat/completions", tc.body)
			body := readAll(t, resp)
			assert.Equal(t, tc.wantUsageSent, strings.Contains(body, `"prompt_tokens":30`), body)
			assert.Equal(t, "[DONE]", sseEvents(body)[len(sseEvents(body))-1])
			upstream := h.mock.Requests()[0].Body
			assert.Contains(t, upstream, `"include_usage":true`, "the sidecar always asks for usage")
			r := h.lastReport()
			assert.Equal(t, int64(30), r.Usage.InputTokens, "and reads it either way")
			assert.Equal(t, int64(9), r.Usage.OutputTokens)
		})
	}
}

func TestProxy_AnthropicStreamUsage(t *testing.T) {
	h := newHarness(t, "")
	h.mock.Enqueue(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 40, OutputTokens: 11, CachedInputTokens: 10}})
	resp := h.post("/claude/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	body := readAll(t, resp)
	assert.Contains(t, body, "event: message_stop")
	r := h.lastReport()
	assert.Equal(t, int64(40), r.Usage.InputTokens)
	assert.Equal(t, int64(10), r.Usage.CachedInputTokens)
	assert.Equal(t, int64(11), r.Usage.OutputTokens)
}

func TestProxy_ResetMidStreamIsNotRetriedAndBreaksTheAppsStream(t *testing.T) {
	h := newHarness(t, "  retry: {maxAttempts: 3, backoff: {initial: 10ms, max: 20ms}}\n")
	h.mock.Enqueue(mockprovider.Step{Fault: mockprovider.FaultResetMidStream, AfterEvents: 2})
	resp := h.post("/openai/v1/chat/completions", chatStream)
	require.Equal(t, 200, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.Error(t, err, "the app must see the stream break, not a short clean answer")
	assert.Contains(t, string(body), "data: ", "the events before the reset reached the app")
	assert.Len(t, h.mock.Requests(), 1, "never retried once bytes reached the app")
	assert.Equal(t, "upstream_error", h.lastReport().End)
}

func TestProxy_TotalTimeoutEndsAStreamCleanly(t *testing.T) {
	h := newHarness(t, "  timeouts: {connect: 500ms, firstToken: 500ms, total: 700ms}\n")
	h.mock.Enqueue(mockprovider.Step{ChunkDelay: 200 * time.Millisecond, Chunks: 50})
	resp := h.post("/openai/v1/chat/completions", chatStream)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the app sees a clean end, not an error or a hang")
	assert.NotEmpty(t, sseEvents(string(body)))
	assert.Equal(t, "total_timeout", h.lastReport().End)
	require.Eventually(t, func() bool { return h.mock.InFlight() == 0 }, 2*time.Second, 10*time.Millisecond, "the upstream stream was cancelled")
}

func TestProxy_ClientDisconnectCancelsUpstreamAtOnce(t *testing.T) {
	h := newHarness(t, "")
	h.mock.Enqueue(mockprovider.Step{ChunkDelay: 100 * time.Millisecond, Chunks: 1000})
	ctx := withTimeout(t, 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/openai/v1/chat/completions", strings.NewReader(chatStream))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, err = bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, 1, h.mock.InFlight())
	resp.Body.Close() // the app goes away mid-stream
	require.Eventually(t, func() bool { return h.mock.InFlight() == 0 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, "client_gone", h.lastReport().End)
}

func TestProxy_CredentialsReplaceTheAppsAndStayOutOfReports(t *testing.T) {
	const key = "sk-tollgate-test-secret-0123456789"
	raw := `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  providers:
    - name: openai
      type: OpenAI
      baseURL: MOCK
      credentialsSecretRef: {name: openai-key, key: api-key}
    - name: claude
      type: Anthropic
      baseURL: MOCK
      credentialsSecretRef: {name: claude-key, key: api-key}
`
	dir := writeKey(t, "openai", key)
	require.NoError(t, writeFile(dir, "claude", key+"-anthropic"))
	h := newHarnessRawWith(t, raw, llmclient.Options{CredentialsDir: dir})

	resp := h.post("/openai/v1/chat/completions", chat, "Authorization", "Bearer app-placeholder")
	require.Equal(t, 200, resp.StatusCode)
	resp = h.post("/claude/v1/messages", messages, "x-api-key", "app-placeholder")
	require.Equal(t, 200, resp.StatusCode)

	readAll(t, resp)
	got := h.mock.Requests()
	assert.Equal(t, "Bearer "+key, got[0].Header.Get("Authorization"))
	assert.Equal(t, key+"-anthropic", got[1].Header.Get("X-Api-Key"))
	assert.Empty(t, got[1].Header.Get("Authorization"))
	require.Eventually(t, func() bool { return h.reportCount() == 2 }, 5*time.Second, 5*time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.reports {
		assert.NotContains(t, strings.ToLower(fmtReport(r)), "sk-tollgate")
	}
}
