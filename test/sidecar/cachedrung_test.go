package sidecare2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// ladderSpec is the degradation ladder: the primary, the last good answer,
// a cheaper model of another provider, a static answer. No spec.cache: the
// answers are kept for the cachedResponse rung alone.
const ladderSpec = `  retry: {maxAttempts: 2, backoff: {initial: 10ms, max: 20ms}}
  fallbacks:
    - cachedResponse: {maxStale: 1h}
    - {provider: claude, model: claude-haiku-4-5}
    - staticResponse: {content: "` + staticContent + `"}
`

// goodAnswer is what the provider answers while it is healthy; the mock
// answers DefaultContent otherwise, so a test tells the kept answer from a
// fresh one.
const goodAnswer = "The answer from before the outage."

func TestCachedRung_TheOpenAISDKGetsTheLastGoodAnswerInAnOutage(t *testing.T) {
	outages := map[string]struct {
		spec   string
		outage mockprovider.Step
		// breaker: the first failure opens the primary's breaker, and the
		// request checked is the one after it, which makes no attempt.
		breaker bool
	}{
		"the provider answers 5xx":   {spec: ladderSpec, outage: mockprovider.Step{Status: 503}},
		"the connection resets":      {spec: ladderSpec, outage: mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders}},
		"the primary's breaker open": {spec: "  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}\n" + ladderSpec, outage: mockprovider.Step{Status: 500}, breaker: true},
	}
	for name, tc := range outages {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, stream %t", name, stream), func(t *testing.T) {
				mock := startMock(t)
				sc := startWithSpec(t, mock, tc.spec)
				client := sc.openAI()
				ask := func(id string) (content string, header http.Header) {
					t.Helper()
					if stream {
						res := chatStream(t, client, chatParams("gpt-4o-mini"), requestID(id))
						require.NoError(t, res.err)
						require.NotEmpty(t, res.acc.Choices)
						assert.Equal(t, "stop", res.acc.Choices[0].FinishReason)
						return res.acc.Choices[0].Message.Content, res.header
					}
					res := chat(t, client, "gpt-4o-mini", requestID(id))
					require.NoError(t, res.err)
					return res.completion.Choices[0].Message.Content, res.header
				}

				mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Content: goodAnswer})
				content, header := ask("healthy")
				require.Equal(t, goodAnswer, content)
				require.Empty(t, header.Get(llmclient.HeaderFallback))
				sc.requestLog("healthy")
				spent := sc.metric("tollgate_cost_usd_total", "provider", "openai")

				mock.SetDefault(tc.outage)
				if tc.breaker {
					content, _ = ask("opens-breaker")
					require.Equal(t, goodAnswer, content, "the failure that opens the breaker is answered from memory")
					require.Equal(t, 2.0, sc.metric("tollgate_circuit_breaker_state", "model", "gpt-4o-mini"), "2 is open")
				}
				received := mock.Received()
				content, header = ask("outage")
				assert.Equal(t, goodAnswer, content, "the last good answer")
				assert.Equal(t, llmclient.FallbackCache, header.Get(llmclient.HeaderFallback))
				assert.Equal(t, "stale", header.Get("X-Tollgate-Cache"))
				assert.NotEmpty(t, header.Get("Age"))
				if tc.breaker {
					assert.Equal(t, received, mock.Received(), "no attempt while the breaker is open")
					assert.Equal(t, "0", header.Get(llmclient.HeaderAttempts))
				} else {
					assert.Equal(t, received+2, mock.Received(), "both attempts of the primary, and no other rung")
					assert.Equal(t, "2", header.Get(llmclient.HeaderAttempts))
				}

				line := sc.requestLog("outage")
				assert.Equal(t, "cache", line["served_by"])
				assert.EqualValues(t, 1, line["fallback_rung"])
				assert.Contains(t, line, "cache_age_s")
				assert.Equal(t, "info", line["level"], "an answered request is not a warning")
				assert.Equal(t, "0", line["cost_usd"])
				want := 1.0
				if tc.breaker {
					want = 2
				}
				sc.awaitMetric(want, "tollgate_fallbacks_total", "provider", "openai", "rung", "cache")
				assert.Equal(t, spent, sc.metric("tollgate_cost_usd_total", "provider", "openai"), "kept answers cost nothing")
				assert.Zero(t, sc.metric("tollgate_fallbacks_total", "rung", "static"))
			})
		}
	}
}

func TestCachedRung_ReplaysTheStreamEventByEventAsTheAppFirstGotIt(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, ladderSpec)
	// The app did not ask for usage: the sidecar asks on its behalf and
	// drops the usage chunk, from the replay too.
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello"}]}`
	mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Content: "one two three four five"})
	firstHeader, first := sc.rawChunks(body)
	require.Equal(t, "200", firstHeader.Get(":status"))
	mock.SetDefault(mockprovider.Step{Status: 502})

	header, replay := sc.rawChunks(body)
	require.Equal(t, "200", header.Get(":status"))
	assert.Equal(t, llmclient.FallbackCache, header.Get(llmclient.HeaderFallback))
	assert.Equal(t, "stale", header.Get("X-Tollgate-Cache"))
	assert.True(t, strings.HasPrefix(header.Get("Content-Type"), "text/event-stream"), header.Get("Content-Type"))
	assert.Equal(t, firstHeader.Get("Content-Type"), header.Get("Content-Type"))
	assert.Equal(t, "chunked", header.Get("Transfer-Encoding"), "a replayed stream has no length, like the live one")
	assert.Equal(t, strings.Join(first, ""), strings.Join(replay, ""), "byte for byte what the app got the first time")
	assert.Greater(t, len(replay), 5, "several events")
	for i, c := range replay {
		assert.True(t, strings.HasSuffix(c, "\n\n") && strings.Count(c, "\n\n") == 1, "chunk %d is one whole event: %q", i, c)
	}
	assert.Equal(t, "data: [DONE]\n\n", replay[len(replay)-1])
	assert.NotContains(t, strings.Join(replay, ""), `"usage":{`, "no usage chunk the app did not ask for")
}

func TestCachedRung_NeverServesAnotherKeysAnswerOrOneOlderThanMaxStale(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, strings.Replace(ladderSpec, "maxStale: 1h", "maxStale: 1s", 1))
	tenantA := sc.openAI(option.WithAPIKey("sk-tenant-a"))
	tenantB := sc.openAI(option.WithAPIKey("sk-tenant-b"))
	mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Content: goodAnswer})
	require.NoError(t, chat(t, tenantA, "gpt-4o-mini").err)
	mock.SetDefault(mockprovider.Step{Status: 500})

	b := chat(t, tenantB, "gpt-4o-mini")
	require.NoError(t, b.err)
	assert.Equal(t, staticContent, b.completion.Choices[0].Message.Content, "another key never gets tenant A's answer")
	assert.Equal(t, llmclient.FallbackStatic, b.header.Get(llmclient.HeaderFallback))

	a := chat(t, tenantA, "gpt-4o-mini")
	require.NoError(t, a.err)
	require.Equal(t, goodAnswer, a.completion.Choices[0].Message.Content, "tenant A gets its own, under a second old")

	// Past maxStale the ladder goes on: the claude rung fails too, then
	// the static answer.
	require.Eventually(t, func() bool {
		a = chat(t, tenantA, "gpt-4o-mini")
		return a.err == nil && a.header.Get(llmclient.HeaderFallback) != llmclient.FallbackCache
	}, 5*time.Second, 50*time.Millisecond)
	assert.Equal(t, staticContent, a.completion.Choices[0].Message.Content)
	assert.Equal(t, llmclient.FallbackStatic, a.header.Get(llmclient.HeaderFallback))
}

func TestCachedRung_AnErrorAnswerIsNeverKept(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "  fallbacks:\n    - cachedResponse: {}\n")
	for _, status := range []int{500, 503} {
		mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: status})
		res := chat(t, sc.openAI(), "gpt-4o-mini")
		var apiErr *openai.Error
		require.ErrorAs(t, res.err, &apiErr)
		assert.Equal(t, status, apiErr.StatusCode, "the provider's own error, not a kept one: %s", apiErr.RawJSON())
		assert.Empty(t, res.header.Get(llmclient.HeaderFallback))
	}
	assert.Zero(t, sc.metric("tollgate_fallbacks_total", "rung", "cache"))
}

// rawChunks POSTs body for a stream over a raw connection and returns the
// answer's headers (with its status under ":status") and the data of each
// HTTP chunk as it came, which net/http's reader would join.
func (s *sidecar) rawChunks(body string) (http.Header, []string) {
	s.t.Helper()
	conn, br := s.dial()
	_, err := conn.Write([]byte(rawPost("/openai/v1/chat/completions", body)))
	require.NoError(s.t, err)
	tp := textproto.NewReader(br)
	status, err := tp.ReadLine()
	require.NoError(s.t, err)
	fields := strings.Fields(status)
	require.GreaterOrEqual(s.t, len(fields), 2, status)
	mime, err := tp.ReadMIMEHeader()
	require.NoError(s.t, err)
	header := http.Header(mime)
	header.Set(":status", fields[1])
	require.Equal(s.t, "chunked", header.Get("Transfer-Encoding"))
	var chunks []string
	for {
		chunks = append(chunks, readChunk(s.t, br))
		if chunks[len(chunks)-1] == "" {
			return header, chunks[:len(chunks)-1]
		}
	}
}

// readChunk reads one chunk of a chunked body: "" for the last.
func readChunk(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	size, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
	require.NoError(t, err, "chunk size line %q", line)
	data := make([]byte, size+2) // the data and its CRLF
	_, err = io.ReadFull(br, data)
	require.NoError(t, err)
	require.Equal(t, "\r\n", string(data[size:]))
	return string(data[:size])
}
