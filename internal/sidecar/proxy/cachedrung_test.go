package proxy

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// ladderSpec is the degradation ladder: the primary, then the last good
// answer, then a static answer. No spec.cache: answers are kept for the
// cachedResponse rung alone.
const ladderSpec = `
  retry: {maxAttempts: 2, backoff: {initial: 1ms, max: 2ms}}
  fallbacks:
    - cachedResponse: {maxStale: 1h}
    - staticResponse: {content: "busy"}
`

// served sends body to the openai provider with the app's key and waits
// for its report.
func (h *harness) served(body, key string) (*http.Response, string, *llmclient.Report) {
	h.t.Helper()
	return h.servedAt("/openai/v1/chat/completions", body, key)
}

// servedAt is served for another path.
func (h *harness) servedAt(path, body, key string) (*http.Response, string, *llmclient.Report) {
	h.t.Helper()
	before := h.reportCount()
	resp := h.post(path, body, "Authorization", "Bearer "+key)
	got := readAll(h.t, resp)
	require.Eventually(h.t, func() bool { return h.reportCount() > before }, waitFor, tick)
	return resp, got, h.lastReport()
}

func TestCachedRung_AnOutageIsAnsweredWithTheLastGoodAnswer(t *testing.T) {
	tests := map[string]struct {
		path   string // default: OpenAI chat completions
		body   string
		outage mockprovider.Step
	}{
		"an Anthropic message, provider 529": {path: "/claude/v1/messages", body: messages, outage: mockprovider.Step{Status: 529}},
		"an Anthropic stream, connection resets": {
			path: "/claude/v1/messages", body: `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			outage: mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders},
		},
		"a chat completion, provider 5xx":         {body: chat, outage: mockprovider.Step{Status: 503}},
		"a chat completion, connection resets":    {body: chat, outage: mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders}},
		"a stream, provider 5xx":                  {body: chatStream, outage: mockprovider.Step{Status: 500}},
		"a stream, connection resets":             {body: chatStream, outage: mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders}},
		"a deterministic chat, provider 429":      {body: deterministicChat, outage: mockprovider.Step{Status: 429}},
		"a stream with usage asked, provider 502": {body: `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, outage: mockprovider.Step{Status: 502}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, ladderSpec)
			path := tc.path
			if path == "" {
				path = "/openai/v1/chat/completions"
			}
			first, firstBody, rep := h.servedAt(path, tc.body, "app-key")
			require.Equal(t, http.StatusOK, first.StatusCode)
			assert.Empty(t, first.Header.Get(llmclient.HeaderFallback))
			assert.Empty(t, first.Header.Get("X-Tollgate-Cache"), "no spec.cache: the answer is kept, not a cache miss")
			assert.Empty(t, rep.Cache)

			h.mock.SetDefault(tc.outage)
			resp, body, rep := h.servedAt(path, tc.body, "app-key")
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, firstBody, body, "the app gets the answer it got last time, in the same shape")
			assert.Equal(t, llmclient.FallbackCache, resp.Header.Get(llmclient.HeaderFallback))
			assert.Equal(t, "stale", resp.Header.Get("X-Tollgate-Cache"))
			assert.Equal(t, first.Header.Get("Content-Type"), resp.Header.Get("Content-Type"))
			assert.Equal(t, "2", resp.Header.Get(llmclient.HeaderAttempts), "both attempts failed before the cache answered")
			assert.Equal(t, "ns/test", resp.Header.Get(llmclient.HeaderPolicy))
			age, err := strconv.Atoi(resp.Header.Get("Age"))
			require.NoError(t, err)
			assert.GreaterOrEqual(t, age, 0)

			assert.True(t, rep.Stale)
			assert.False(t, rep.Static)
			assert.Equal(t, 1, rep.Rung)
			assert.Equal(t, http.StatusOK, rep.Status)
			assert.Equal(t, "complete", rep.End)
			assert.True(t, rep.CostUSD.IsZero(), "a kept answer costs nothing")
			assert.False(t, rep.Usage.Known, "and uses no tokens")
			assert.Equal(t, 3, int(h.mock.Received()), "one good answer, then two failed attempts")
		})
	}
}

func TestCachedRung_AnOpenBreakerIsAnsweredFromMemoryWithoutAnAttempt(t *testing.T) {
	h := newHarness(t, `
  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}
  fallbacks:
    - cachedResponse: {}
`)
	_, firstBody, _ := h.served(chat, "app-key")
	h.mock.SetDefault(mockprovider.Step{Status: 500})
	_, body, rep := h.served(chat, "app-key") // this failure opens the breaker
	require.True(t, rep.Stale)
	require.Equal(t, "open", rep.BreakerState)
	received := h.mock.Received()

	resp, body2, rep := h.served(chat, "app-key")
	assert.Equal(t, firstBody, body)
	assert.Equal(t, firstBody, body2)
	assert.Equal(t, llmclient.FallbackCache, resp.Header.Get(llmclient.HeaderFallback))
	assert.Equal(t, "0", resp.Header.Get(llmclient.HeaderAttempts))
	assert.Equal(t, 0, rep.Attempts)
	assert.Equal(t, received, h.mock.Received(), "the open breaker kept the request off the provider")
}

func TestCachedRung_PastMaxStaleTheNextRungAnswers(t *testing.T) {
	tests := map[string]struct {
		spec       string
		wantStatus int
		wantHeader string // X-Tollgate-Fallback
		wantCode   string // the error's code, for a request no rung answered
	}{
		"the static response": {
			spec:       "\n  fallbacks:\n    - cachedResponse: {maxStale: 1s}\n    - staticResponse: {content: busy}\n",
			wantStatus: http.StatusOK, wantHeader: llmclient.FallbackStatic,
		},
		"the clear error without a static response": {
			spec:       "\n  fallbacks:\n    - cachedResponse: {maxStale: 1s}\n",
			wantStatus: http.StatusBadGateway, wantCode: llmclient.CodeUpstreamUnavailable,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tc.spec)
			_, _, _ = h.served(chat, "app-key")
			h.mock.SetDefault(mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders})
			resp, _, _ := h.served(chat, "app-key")
			require.Equal(t, llmclient.FallbackCache, resp.Header.Get(llmclient.HeaderFallback), "under a second old: served")

			// Once the answer is over a second old it is not served.
			var body string
			require.Eventually(t, func() bool {
				resp, body, _ = h.served(chat, "app-key")
				return resp.Header.Get(llmclient.HeaderFallback) != llmclient.FallbackCache
			}, waitFor, 50*time.Millisecond)
			assert.Equal(t, tc.wantStatus, resp.StatusCode, body)
			assert.Equal(t, tc.wantHeader, resp.Header.Get(llmclient.HeaderFallback))
			if tc.wantCode != "" {
				assert.Equal(t, tc.wantCode, errorCode(t, body))
			}
			assert.False(t, h.lastReport().Stale)
		})
	}
}

func TestCachedRung_WhatIsNeverServed(t *testing.T) {
	tests := map[string]struct {
		// first is what the provider answers the first request with.
		first mockprovider.Step
		// key, body are the second request's (the first sends chat with
		// app-key).
		key, body string
	}{
		"another API key's answer":                    {key: "other-key", body: chat},
		"another request's answer":                    {key: "app-key", body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"bye"}]}`},
		"another model's answer":                      {key: "app-key", body: `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`},
		"the stream of a request that did not stream": {key: "app-key", body: chatStream},
		"an error answer":                             {first: mockprovider.Step{Status: 500}, key: "app-key", body: chat},
		"a 2xx answer with an error":                  {first: mockprovider.Step{Body: `{"error":{"message":"overloaded","type":"server_error"}}`}, key: "app-key", body: chat},
		"a JSON answer cut short":                     {first: mockprovider.Step{Fault: mockprovider.FaultMalformedJSON}, key: "app-key", body: chat},
		"a client error (not retried)":                {first: mockprovider.Step{Status: 400}, key: "app-key", body: chat},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "\n  fallbacks:\n    - cachedResponse: {}\n")
			h.mock.Enqueue(tc.first)
			_, _, _ = h.served(chat, "app-key")

			h.mock.SetDefault(mockprovider.Step{Status: 503})
			resp, body, rep := h.served(tc.body, tc.key)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the provider's own error comes back: %s", body)
			assert.Empty(t, resp.Header.Get(llmclient.HeaderFallback))
			assert.False(t, rep.Stale)
		})
	}
}

func TestCachedRung_StreamsThatAreNotWholeAreNeverServed(t *testing.T) {
	sse := map[string]string{"Content-Type": "text/event-stream"}
	tests := map[string]struct {
		path, body string
		first      mockprovider.Step
	}{
		"an OpenAI stream with an error event": {
			path: "/openai/v1/chat/completions", body: chatStream,
			first: mockprovider.Step{Headers: sse, Body: "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\ndata: [DONE]\n\n"},
		},
		"an OpenAI stream that ends cleanly before [DONE]": {
			path: "/openai/v1/chat/completions", body: chatStream,
			first: mockprovider.Step{Fault: mockprovider.FaultCutStream, AfterEvents: 2},
		},
		"an OpenAI stream reset midway": {
			path: "/openai/v1/chat/completions", body: chatStream,
			first: mockprovider.Step{Fault: mockprovider.FaultResetMidStream, AfterEvents: 2},
		},
		"an Anthropic stream that ends cleanly before message_stop": {
			path: "/claude/v1/messages", body: `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			first: mockprovider.Step{Fault: mockprovider.FaultCutStream, AfterEvents: 3},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "\n  fallbacks:\n    - cachedResponse: {}\n")
			h.mock.Enqueue(tc.first)
			first := h.post(tc.path, tc.body, "Authorization", "Bearer app-key")
			require.Equal(t, http.StatusOK, first.StatusCode)
			_, _ = io.ReadAll(first.Body) // a reset ends the read with an error
			require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)

			h.mock.SetDefault(mockprovider.Step{Status: 503})
			resp := h.post(tc.path, tc.body, "Authorization", "Bearer app-key")
			readAll(t, resp)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Empty(t, resp.Header.Get(llmclient.HeaderFallback))
			require.Eventually(t, func() bool { return h.reportCount() == 2 }, waitFor, tick)
			assert.False(t, h.lastReport().Stale)
		})
	}
}

func TestCachedRung_AFallbacksAnswerIsNotTheLastGoodAnswer(t *testing.T) {
	h := newHarness(t, `
  fallbacks:
    - cachedResponse: {}
    - {provider: openai, model: gpt-4o}
`)
	h.mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: 500})
	resp, _, _ := h.served(chat, "app-key")
	require.Equal(t, "openai/gpt-4o", resp.Header.Get(llmclient.HeaderFallback), "nothing kept yet: the next rung answers")

	h.mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: 500})
	resp, _, rep := h.served(chat, "app-key")
	assert.Equal(t, "openai/gpt-4o", resp.Header.Get(llmclient.HeaderFallback), "gpt-4o's answer was not kept as gpt-4o-mini's")
	assert.False(t, rep.Stale)
}

func TestCachedRung_WorksWithTheCacheOffAndBesideIt(t *testing.T) {
	tests := map[string]struct {
		spec      string
		body      string
		wantFresh string // X-Tollgate-Cache of the first answer
	}{
		"spec.cache disabled": {
			spec: "\n  cache: {enabled: false}\n  fallbacks:\n    - cachedResponse: {}\n",
			body: deterministicChat,
		},
		"a request the cache skips: not deterministic": {
			spec: "\n  cache: {ttl: 1m, onlyDeterministic: true}\n  fallbacks:\n    - cachedResponse: {}\n",
			body: chat, wantFresh: "",
		},
		"a request the cache serves, once its ttl passed": {
			spec: "\n  cache: {ttl: 1s}\n  fallbacks:\n    - cachedResponse: {maxStale: 1h}\n",
			body: deterministicChat, wantFresh: "miss",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tc.spec)
			first, firstBody, _ := h.served(tc.body, "app-key")
			assert.Equal(t, tc.wantFresh, first.Header.Get("X-Tollgate-Cache"))

			h.mock.SetDefault(mockprovider.Step{Status: 503})
			var resp *http.Response
			var body string
			require.Eventually(t, func() bool {
				resp, body, _ = h.served(tc.body, "app-key")
				// A fresh hit comes first while the cache's ttl lasts.
				return resp.Header.Get("X-Tollgate-Cache") != "hit"
			}, waitFor, 50*time.Millisecond)
			assert.Equal(t, firstBody, body)
			assert.Equal(t, llmclient.FallbackCache, resp.Header.Get(llmclient.HeaderFallback))
			assert.Equal(t, "stale", resp.Header.Get("X-Tollgate-Cache"))
		})
	}
}

func TestCachedRung_CostsNothingAndHoldsNoReservation(t *testing.T) {
	gate := budget.NewLocal(budget.Settings{Period: proxyconfig.Monthly, Limit: mustUSD(t, "1.00"), SoftLimitPercent: 80, OnExhausted: proxyconfig.Block}, nil)
	h := newHarnessWith(t, budgetSpec+"\n  fallbacks:\n    - cachedResponse: {}\n", llmclient.Options{Budget: gate})
	h.mock.SetDefault(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 100, OutputTokens: 100}})
	_, _, rep := h.served(budgetChat, "app-key")
	require.Equal(t, "0.2", rep.CostUSD.String())
	spent := gate.Status().Spent

	h.mock.SetDefault(mockprovider.Step{Status: 503})
	for range 3 {
		_, _, rep := h.served(budgetChat, "app-key")
		require.True(t, rep.Stale)
		assert.True(t, rep.CostUSD.IsZero())
	}
	assert.Equal(t, spent.String(), gate.Status().Spent.String(), "kept answers are not charged")

	// An answer still being read holds nothing of the budget.
	resp := h.post("/openai/v1/chat/completions", budgetChat, "Authorization", "Bearer app-key")
	require.Equal(t, llmclient.FallbackCache, resp.Header.Get(llmclient.HeaderFallback))
	assert.True(t, gate.Status().Reserved.IsZero(), "reserved: %s", gate.Status().Reserved)
	readAll(t, resp)
}

func mustUSD(t *testing.T, s string) proxyconfig.USD {
	t.Helper()
	u, err := proxyconfig.ParseUSD(s)
	require.NoError(t, err)
	return u
}
