package sidecare2e

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cutPolicy points the openai provider at UPSTREAM, with a total timeout of
// a second.
const cutPolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: UPSTREAM}
` + shortTotal

// answerStart is the start of a chat completion that never ends.
const answerStart = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[`

func TestTotalTimeout_AJSONAnswerCutShortReachesTheAppBrokenNeverWellFormedLooking(t *testing.T) {
	tests := map[string]struct {
		// start sends the beginning of an answer that then stalls.
		start func(w http.ResponseWriter)
		// wantClean is set for a stream: it ends cleanly after its last
		// whole event, as documented.
		wantClean bool
	}{
		"a chunked answer": {start: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, answerStart)
		}},
		"a gzip-compressed answer, which the sidecar decompresses": {start: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			_, _ = io.WriteString(gz, answerStart)
			_ = gz.Flush()
		}},
		"an answer with a Content-Length": {start: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			_, _ = io.WriteString(w, answerStart)
		}},
		"an SSE stream": {wantClean: true, start: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}`+"\n\n")
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.start(w)
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(rawWait):
				}
			}))
			t.Cleanup(upstream.Close)
			sc := startWithPolicy(t, strings.ReplaceAll(cutPolicy, "UPSTREAM", upstream.URL))

			resp := sc.send(rawPost("/openai/v1/chat/completions", chatBody("gpt-4o-mini")))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			if tc.wantClean {
				require.NoError(t, err, "a started stream ends cleanly at total")
			} else {
				require.Error(t, err, "the app read %q as a whole answer", body)
			}
			assert.Contains(t, string(body), `"chatcmpl-1"`, "what arrived before the cut reached the app")
			line := sc.requestLog(rawRequestID)
			assert.Equal(t, "total_timeout", line["end"])
		})
	}
}
