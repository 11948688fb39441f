package cache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	openAIStream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n" +
		"data: [DONE]\n\n"
	anthropicStream = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

// readAll reads body with reads of size n, returning what each Read gave.
func readAll(t *testing.T, body io.Reader, n int) []string {
	t.Helper()
	var reads []string
	buf := make([]byte, n)
	for range 10000 {
		k, err := body.Read(buf)
		if k > 0 {
			reads = append(reads, string(buf[:k]))
		}
		if err == io.EOF {
			return reads
		}
		require.NoError(t, err)
	}
	t.Fatal("the body never ended")
	return nil
}

func TestEntryResponse_ReplaysAStreamOneEventPerRead(t *testing.T) {
	tests := map[string]struct {
		body       string
		wantEvents []string
	}{
		"OpenAI chunks": {
			openAIStream,
			[]string{
				"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
				"data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n",
				"data: [DONE]\n\n",
			},
		},
		"Anthropic named events": {
			anthropicStream,
			[]string{
				"event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n",
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			},
		},
		"CRLF line ends": {
			"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
			[]string{"data: a\r\ndata: b\r\n\r\n", "data: c\r\n\r\n"},
		},
		"CR line ends": {
			"data: a\r\rdata: b\r\r",
			[]string{"data: a\r\r", "data: b\r\r"},
		},
		"comments and a stray blank line are events of their own": {
			": keep-alive\n\n\ndata: x\n\n",
			[]string{": keep-alive\n\n", "\n", "data: x\n\n"},
		},
		"bytes after the last blank line come last": {
			"data: a\n\ndata: b",
			[]string{"data: a\n\n", "data: b"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := &Entry{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(tc.body), Stream: true}
			resp := e.Response(httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
			assert.Equal(t, int64(-1), resp.ContentLength)
			assert.Equal(t, tc.wantEvents, readAll(t, resp.Body, 64<<10), "one event per Read")

			// With a small buffer an event takes several Reads, but no Read
			// crosses into the next event.
			var joined []string
			var cur string
			for _, r := range readAll(t, e.Response(nil).Body, 3) {
				cur += r
				if len(joined) < len(tc.wantEvents) && cur == tc.wantEvents[len(joined)] {
					joined, cur = append(joined, cur), ""
				}
			}
			assert.Equal(t, tc.wantEvents, joined)
			assert.Empty(t, cur)

			var w writes
			n, err := e.Response(nil).Body.(io.WriterTo).WriteTo(&w)
			require.NoError(t, err)
			assert.Equal(t, tc.wantEvents, []string(w), "WriteTo: one event per Write")
			assert.EqualValues(t, len(tc.body), n)
		})
	}
}

func TestEntryResponse_GivesEachCallerItsOwnAnswer(t *testing.T) {
	e := &Entry{
		Status:   http.StatusCreated,
		Header:   http.Header{"Content-Type": {"application/json"}},
		Body:     []byte(`{"id":"chatcmpl-1"}`),
		StoredAt: time.Now().Add(-90 * time.Second),
	}
	req := httptest.NewRequest(http.MethodPost, "/openai/v1/chat/completions", nil)
	first, second := e.Response(req), e.Response(req)

	assert.Equal(t, http.StatusCreated, first.StatusCode)
	assert.Equal(t, "201 Created", first.Status)
	assert.Equal(t, int64(len(e.Body)), first.ContentLength)
	assert.Same(t, req, first.Request)
	assert.Equal(t, Hit, first.Header.Get(HeaderCache))
	assert.Equal(t, "application/json", first.Header.Get("Content-Type"))
	assert.Equal(t, "90", first.Header.Get("Age"))

	b1, err := io.ReadAll(first.Body)
	require.NoError(t, err)
	require.NoError(t, first.Body.Close())
	first.Header.Set("Content-Type", "text/plain")

	b2, err := io.ReadAll(second.Body)
	require.NoError(t, err)
	assert.Equal(t, e.Body, b1)
	assert.Equal(t, e.Body, b2, "reading one answer does not consume another")
	assert.Equal(t, "application/json", second.Header.Get("Content-Type"))
	assert.Equal(t, "application/json", e.Header.Get("Content-Type"))
	assert.Empty(t, e.Header.Get(HeaderCache), "the entry's own header is left alone")

	b1[0] = 'X'
	assert.Equal(t, byte('{'), e.Body[0], "the body read is a copy")
}

func TestEntryResponse_RefusesReadsAfterClose(t *testing.T) {
	for _, stream := range []bool{false, true} {
		resp := (&Entry{Status: http.StatusOK, Body: []byte("data: x\n\n"), Stream: stream}).Response(nil)
		require.NoError(t, resp.Body.Close())
		_, err := resp.Body.Read(make([]byte, 8))
		assert.ErrorIs(t, err, http.ErrBodyReadAfterClose)
	}
}

func TestEntryResponse_AnEmptyBodyEndsAtOnce(t *testing.T) {
	resp := (&Entry{Status: http.StatusNoContent}).Response(nil)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Empty(t, b)
	assert.Equal(t, Hit, resp.Header.Get(HeaderCache))
	assert.Empty(t, resp.Header.Get("Age"), "no Age for an entry never stored")
}

// writes keeps each Write apart.
type writes []string

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, string(p))
	return len(p), nil
}

func TestReplayBody_WriteToGivesAJSONAnswerInOneWriteAndNothingAfterClose(t *testing.T) {
	e := &Entry{Status: http.StatusOK, Body: []byte(`{"a":1}`)}
	var w writes
	n, err := e.Response(nil).Body.(io.WriterTo).WriteTo(&w)
	require.NoError(t, err)
	assert.Equal(t, writes{`{"a":1}`}, w)
	assert.EqualValues(t, 7, n)

	body := e.Response(nil).Body
	require.NoError(t, body.Close())
	_, err = body.(io.WriterTo).WriteTo(&w)
	assert.ErrorIs(t, err, http.ErrBodyReadAfterClose)
}
