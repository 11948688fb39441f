package cache

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonEntry is a complete 200 JSON answer with body.
func jsonEntry(body string) *Entry {
	return &Entry{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

// streamEntry is a complete 200 SSE answer with body.
func streamEntry(body string) *Entry {
	return &Entry{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(body), Stream: true}
}

func TestStore_AddKeepsAnOwnCopyWithOnlyContentHeaders(t *testing.T) {
	s := New(10, time.Hour)
	e := jsonEntry(`{"id":"x","usage":{"prompt_tokens":3}}`)
	e.Header.Set("Set-Cookie", "session=1")
	e.Header.Set("X-Request-Id", "req-1")
	e.Header.Set("X-Ratelimit-Remaining-Requests", "99")
	e.Header.Set("Openai-Organization", "org-1")
	e.Header.Set("X-Tollgate-Fallback", "rung 1")
	e.Usage = Usage{InputTokens: 3, OutputTokens: 5, Known: true}
	e.Meta = map[string]string{"model": "gpt-4o"}
	before := time.Now()
	require.NoError(t, s.Add("k", e))

	e.Body[0] = 'X'
	e.Header.Set("Content-Type", "text/plain")
	e.Meta["model"] = "changed"

	got, ok := s.Get("k")
	require.True(t, ok)
	assert.Equal(t, `{"id":"x","usage":{"prompt_tokens":3}}`, string(got.Body))
	assert.Equal(t, http.Header{"Content-Type": {"application/json"}}, got.Header)
	assert.Equal(t, Usage{InputTokens: 3, OutputTokens: 5, Known: true}, got.Usage)
	assert.Equal(t, map[string]string{"model": "gpt-4o"}, got.Meta)
	assert.False(t, got.StoredAt.Before(before))
	assert.Equal(t, 1, s.Len())

	_, ok = s.Get("other")
	assert.False(t, ok)
}

func TestStore_AddRefusesAnswersThatMustNotBeServedAgain(t *testing.T) {
	withHeader := func(e *Entry, name, value string) *Entry { e.Header.Set(name, value); return e }
	withStatus := func(e *Entry, status int) *Entry { e.Status = status; return e }
	tests := map[string]struct {
		entry   *Entry
		wantErr error
	}{
		"a 404":                   {withStatus(jsonEntry(`{}`), http.StatusNotFound), ErrNotSuccess},
		"a 429":                   {withStatus(jsonEntry(`{}`), http.StatusTooManyRequests), ErrNotSuccess},
		"a 500":                   {withStatus(jsonEntry(`{}`), http.StatusInternalServerError), ErrNotSuccess},
		"a 304":                   {withStatus(jsonEntry(`{}`), http.StatusNotModified), ErrNotSuccess},
		"a 1xx":                   {withStatus(jsonEntry(`{}`), http.StatusContinue), ErrNotSuccess},
		"no status at all":        {withStatus(jsonEntry(`{}`), 0), ErrNotSuccess},
		"a body over the limit":   {jsonEntry(`"` + strings.Repeat("a", 2000) + `"`), ErrTooLarge},
		"a gzip body":             {withHeader(jsonEntry(`{}`), "Content-Encoding", "gzip"), ErrEncoded},
		"a truncated JSON answer": {jsonEntry(`{"choices":[{"message":`), ErrIncomplete},
		"an empty stream":         {streamEntry(""), ErrIncomplete},
		"a stream cut in the middle of an event": {
			streamEntry("data: {\"a\":1}\n\ndata: {\"b\""), ErrIncomplete,
		},
		"a stream cut after a line but before the blank line": {
			streamEntry("event: message_start\ndata: {}\n"), ErrIncomplete,
		},
		"an Anthropic stream with an error event": {
			streamEntry("event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n"),
			ErrErrorAnswer,
		},
		"an OpenAI chat stream with an error chunk": {
			streamEntry("data: {\"choices\":[]}\n\ndata: {\"error\":{\"message\":\"server error\"}}\n\n"), ErrErrorAnswer,
		},
		"a Responses stream that failed": {
			streamEntry("event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\"}}}\n\n"),
			ErrErrorAnswer,
		},
		"a Responses stream with an unnamed error event": {
			streamEntry("data: {\"type\":\"error\",\"code\":\"x\"}\n\n"), ErrErrorAnswer,
		},
		"a Gemini stream with an error chunk": {
			streamEntry("data: {\"error\":{\"code\":503,\"status\":\"UNAVAILABLE\"}}\r\n\r\n"), ErrErrorAnswer,
		},
		"a JSON answer with an error member": {jsonEntry(`{"error":{"message":"boom"}}`), ErrErrorAnswer},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := New(10, time.Hour, WithMaxEntryBytes(1024))
			err := s.Add("k", tc.entry)
			require.ErrorIs(t, err, tc.wantErr)
			_, ok := s.Get("k")
			assert.False(t, ok)
			assert.Zero(t, s.Len())
			assert.Zero(t, s.Bytes())
		})
	}
}

func TestStore_AddAcceptsCompleteSuccessfulAnswers(t *testing.T) {
	tests := map[string]*Entry{
		"an OpenAI chat completion":              jsonEntry(`{"id":"chatcmpl-1","choices":[{"message":{"content":"hi"}}]}`),
		"a Responses answer whose error is null": jsonEntry(`{"id":"resp_1","status":"completed","error":null,"output":[]}`),
		"a 201":                                  {Status: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{}`)},
		"identity encoding":                      {Status: http.StatusOK, Header: http.Header{"Content-Encoding": {"identity"}}, Body: []byte(`x`)},
		"a body that is not JSON":                {Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(`{"error":`)},
		"an OpenAI stream":                       streamEntry(openAIStream),
		"an Anthropic stream":                    streamEntry(anthropicStream),
		"a stream mentioning errors":             streamEntry("data: {\"choices\":[{\"delta\":{\"content\":\"\\\"error\\\" is a word\"}}]}\n\ndata: [DONE]\n\n"),
		"a Responses stream whose response has a null error": streamEntry(
			"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"error\":null}}\n\n"),
		"an answer just under the limit": {
			Status: http.StatusOK, Body: []byte(strings.Repeat("a", 1024-256)),
		},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			s := New(10, time.Hour, WithMaxEntryBytes(1024))
			require.NoError(t, s.Add("k", e))
			got, ok := s.Get("k")
			require.True(t, ok)
			assert.Equal(t, e.Body, got.Body)
		})
	}
}

func TestStore_AddAcceptsACRLFStreamWhereverTheReadersBufferEnds(t *testing.T) {
	// Servers built on sse-starlette end lines with "\r\n". The check reads
	// a stored stream in buffer-sized reads; a read that ends between the
	// last "\r" and "\n" must not make the stream look cut.
	for size := 1000; size <= 1100; size++ {
		body := "data: " + strings.Repeat("x", size-len("data: \r\n\r\n")) + "\r\n\r\n"
		s := New(10, time.Hour)
		assert.NoError(t, s.Add("k", streamEntry(body)), "a stream of %d bytes", size)
	}
}

func TestStore_ExpiresEntriesAfterTheTTL(t *testing.T) {
	s := New(10, 50*time.Millisecond)
	require.NoError(t, s.Add("k", jsonEntry(`{}`)))
	require.Eventually(t, func() bool {
		_, ok := s.Get("k")
		return !ok
	}, 5*time.Second, 10*time.Millisecond, "Get misses once the TTL has passed")
	require.Eventually(t, func() bool { return s.Len() == 0 && s.Bytes() == 0 }, 5*time.Second, 10*time.Millisecond,
		"expired entries are deleted and their bytes released")
}

func TestStore_HitsDoNotExtendTheTTL(t *testing.T) {
	s := New(10, 100*time.Millisecond)
	require.NoError(t, s.Add("k", jsonEntry(`{}`)))
	// Get keeps asking; were a hit to renew the entry, it would never
	// expire and this would time out.
	require.Eventually(t, func() bool {
		_, ok := s.Get("k")
		return !ok
	}, 5*time.Second, 5*time.Millisecond)
}

func TestStore_WithinServesEachReaderAnswersNoOlderThanItAsks(t *testing.T) {
	s := New(10, time.Hour) // the longer of the two ages: the stale rung's
	require.NoError(t, s.Add("k", jsonEntry(`{"id":"1"}`)))
	e, ok := s.Within("k", time.Hour)
	require.True(t, ok, "a reader that takes answers up to an hour old")
	assert.Equal(t, `{"id":"1"}`, string(e.Body))
	require.Eventually(t, func() bool {
		_, ok := s.Within("k", 20*time.Millisecond)
		return !ok
	}, 5*time.Second, 5*time.Millisecond, "a reader that takes answers up to 20ms old misses once the answer is older")
	_, ok = s.Within("k", time.Hour)
	assert.True(t, ok, "the answer is still there for the reader that takes older ones")
	_, ok = s.Within("other", time.Hour)
	assert.False(t, ok)
}

func TestStore_WithinFindsNothingPastTheStoresTTL(t *testing.T) {
	s := New(10, 30*time.Millisecond)
	require.NoError(t, s.Add("k", jsonEntry(`{}`)))
	require.Eventually(t, func() bool {
		_, ok := s.Within("k", time.Hour)
		return !ok
	}, 5*time.Second, 5*time.Millisecond)
}

func TestStore_EvictsTheLeastRecentlyUsedBeyondMaxEntries(t *testing.T) {
	s := New(2, time.Hour)
	require.NoError(t, s.Add("a", jsonEntry(`"a"`)))
	require.NoError(t, s.Add("b", jsonEntry(`"b"`)))
	_, ok := s.Get("a") // a is now more recently used than b
	require.True(t, ok)
	require.NoError(t, s.Add("c", jsonEntry(`"c"`)))

	assert.Equal(t, 2, s.Len())
	_, ok = s.Get("b")
	assert.False(t, ok, "b was the least recently used")
	for _, k := range []string{"a", "c"} {
		_, ok := s.Get(k)
		assert.True(t, ok, k)
	}
}

func TestStore_EvictsTheLeastRecentlyUsedBeyondMaxBytes(t *testing.T) {
	body := strings.Repeat("x", 1000)
	size := jsonEntry(`"` + body + `"`).clone().size()
	s := New(100, time.Hour, WithMaxBytes(3*size))
	for i := range 5 {
		require.NoError(t, s.Add(fmt.Sprint(i), jsonEntry(`"`+body+`"`)))
		assert.LessOrEqual(t, s.Bytes(), 3*size)
	}
	assert.Equal(t, 3, s.Len())
	assert.Equal(t, 3*size, s.Bytes())
	for i, want := range []bool{false, false, true, true, true} {
		_, ok := s.Get(fmt.Sprint(i))
		assert.Equal(t, want, ok, "entry %d", i)
	}
}

func TestStore_ReplacingAKeyCountsItsBytesOnce(t *testing.T) {
	s := New(10, time.Hour)
	require.NoError(t, s.Add("k", jsonEntry(`"first answer, longer"`)))
	second := jsonEntry(`"second"`)
	require.NoError(t, s.Add("k", second))
	assert.Equal(t, 1, s.Len())
	assert.Equal(t, second.clone().size(), s.Bytes())
	got, _ := s.Get("k")
	assert.Equal(t, `"second"`, string(got.Body))
}

func TestStore_CloseEmptiesItAndRefusesLaterAdds(t *testing.T) {
	s := New(10, time.Hour)
	require.NoError(t, s.Add("k", jsonEntry(`{}`)))
	kept, _ := s.Get("k")
	s.Close()

	assert.Zero(t, s.Len())
	assert.Zero(t, s.Bytes())
	_, ok := s.Get("k")
	assert.False(t, ok)
	require.ErrorIs(t, s.Add("k", jsonEntry(`{}`)), ErrClosed)
	assert.Equal(t, `{}`, string(kept.Body), "answers handed out stay readable")
}

func TestReuse_KeepsTheStoreWhenItsSettingsAreUnchanged(t *testing.T) {
	prev := New(10, time.Minute)
	require.NoError(t, prev.Add("k", jsonEntry(`{}`)))

	same := Reuse(prev, 10, time.Minute)
	assert.Same(t, prev, same)
	_, ok := same.Get("k")
	assert.True(t, ok, "answers survive a reload")

	assert.Same(t, prev, Reuse(prev, 10, time.Minute, WithMaxBytes(DefaultMaxBytes)), "an explicit default is the default")

	changed := Reuse(prev, 20, time.Minute)
	assert.NotSame(t, prev, changed)
	require.ErrorIs(t, prev.Add("k2", jsonEntry(`{}`)), ErrClosed, "the replaced Store is closed")
	assert.Zero(t, changed.Len())

	assert.NotNil(t, Reuse(nil, 10, time.Minute))
}

func TestNew_DefaultsSettingsThatAreNotPositive(t *testing.T) {
	s := New(0, 0, WithMaxEntryBytes(-1), WithMaxBytes(0))
	assert.Equal(t, settings{maxEntries: DefaultMaxEntries, ttl: DefaultTTL, maxEntryBytes: DefaultMaxEntryBytes, maxBytes: DefaultMaxBytes}, s.cfg)

	small := New(1, time.Hour, WithMaxBytes(1000))
	assert.Equal(t, int64(1000), small.cfg.maxEntryBytes, "no entry may be larger than the whole Store")
}

func TestStore_IsSafeForConcurrentUse(t *testing.T) {
	s := New(20, time.Hour, WithMaxBytes(40_000))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 300 {
				key := fmt.Sprint((w*7 + i) % 50)
				if i%3 == 0 {
					assert.NoError(t, s.Add(key, jsonEntry(`"`+strings.Repeat("v", i*5)+`"`)))
					continue
				}
				if e, ok := s.Get(key); ok {
					_ = e.Response(nil)
				}
				_ = s.Len()
			}
		})
	}
	wg.Wait()

	assert.LessOrEqual(t, s.Len(), 20)
	var held int64
	for _, e := range s.lru.Values() {
		held += e.size()
	}
	assert.Equal(t, held, s.Bytes(), "the byte count matches the entries held")
	assert.LessOrEqual(t, s.Bytes(), int64(40_000))
}
