package proxy

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

const waitFor, tick = 5 * time.Second, 5 * time.Millisecond

const cacheSpec = `
  cache: {enabled: true, ttl: 1m, maxEntries: 100}
`

const deterministicChat = `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"hi"}]}`
const deterministicStream = `{"model":"gpt-4o-mini","temperature":0,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

func TestCache_SecondIdenticalRequestIsAnsweredFromCacheAtNoCost(t *testing.T) {
	h := newHarness(t, cacheSpec)
	first := h.post("/openai/v1/chat/completions", deterministicChat, "Authorization", "Bearer app-key")
	firstBody := readAll(t, first)
	require.Equal(t, http.StatusOK, first.StatusCode)
	assert.Equal(t, "miss", first.Header.Get("X-Tollgate-Cache"))
	require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)

	// Same request, keys in another order and other whitespace.
	second := h.post("/openai/v1/chat/completions", `{"messages":[{"content":"hi","role":"user"}], "temperature":0.0, "model":"gpt-4o-mini"}`, "Authorization", "Bearer app-key")
	assert.Equal(t, firstBody, readAll(t, second))
	assert.Equal(t, "hit", second.Header.Get("X-Tollgate-Cache"))
	assert.Len(t, h.mock.Requests(), 1, "the provider saw one request")
	r := h.lastReport()
	assert.Equal(t, llmclient.CacheHit, r.Cache)
	assert.True(t, r.CostUSD.IsZero())
}

func TestCache_StreamIsReplayedEventByEvent(t *testing.T) {
	h := newHarness(t, cacheSpec)
	first := readAll(t, h.post("/openai/v1/chat/completions", deterministicStream))
	require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)
	second := h.post("/openai/v1/chat/completions", deterministicStream)
	assert.Equal(t, "hit", second.Header.Get("X-Tollgate-Cache"))
	assert.Contains(t, second.Header.Get("Content-Type"), "text/event-stream")
	replay := readAll(t, second)
	assert.Equal(t, first, replay, "the app gets the stream it got the first time")
	assert.Greater(t, len(sseEvents(replay)), 2)
	assert.Len(t, h.mock.Requests(), 1)
}

func TestCache_WhatIsNeverShared(t *testing.T) {
	tests := map[string]struct {
		first, second    string
		headerA, headerB string
	}{
		"another credential never gets the answer": {deterministicChat, deterministicChat, "Bearer tenant-a", "Bearer tenant-b"},
		"another model":   {deterministicChat, `{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"hi"}]}`, "Bearer k", "Bearer k"},
		"another message": {deterministicChat, `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"bye"}]}`, "Bearer k", "Bearer k"},
		"no temperature: not deterministic, not cached": {chat, chat, "Bearer k", "Bearer k"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "\n  cache: {enabled: true, ttl: 1m, maxEntries: 100, onlyDeterministic: true}\n")
			readAll(t, h.post("/openai/v1/chat/completions", tc.first, "Authorization", tc.headerA))
			require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)
			resp := h.post("/openai/v1/chat/completions", tc.second, "Authorization", tc.headerB)
			readAll(t, resp)
			assert.NotEqual(t, "hit", resp.Header.Get("X-Tollgate-Cache"))
			assert.Len(t, h.mock.Requests(), 2)
		})
	}
}

func TestCache_FailuresAndFallbackAnswersAreNotStored(t *testing.T) {
	h := newHarness(t, cacheSpec+`
  retry: {maxAttempts: 1}
  fallbacks: [{provider: openai, model: gpt-4o}]
`)
	h.mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: 500})
	resp := h.post("/openai/v1/chat/completions", deterministicChat)
	readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get(llmclient.HeaderFallback), "answered by the fallback")
	require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)

	again := h.post("/openai/v1/chat/completions", deterministicChat)
	readAll(t, again)
	assert.Equal(t, "miss", again.Header.Get("X-Tollgate-Cache"), "a fallback's answer is not the primary's")
	assert.Empty(t, again.Header.Get(llmclient.HeaderFallback))
}

func TestCache_AStreamThatEndsBeforeItsTerminatingEventIsNotStored(t *testing.T) {
	h := newHarness(t, cacheSpec)
	h.mock.Enqueue(mockprovider.Step{Fault: mockprovider.FaultCutStream, AfterEvents: 2})
	cut := readAll(t, h.post("/openai/v1/chat/completions", deterministicStream))
	require.NotContains(t, cut, "[DONE]", "the provider's body ended cleanly, without [DONE]")
	require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)

	again := h.post("/openai/v1/chat/completions", deterministicStream)
	assert.Contains(t, readAll(t, again), "[DONE]")
	assert.Equal(t, "miss", again.Header.Get("X-Tollgate-Cache"), "the cut stream was not kept")
	assert.Len(t, h.mock.Requests(), 2)
}
