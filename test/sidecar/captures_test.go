package sidecare2e

import (
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// captureDir holds real provider answers (see its README), relative to the
// repository root.
var captureDir = filepath.Join("pkg", "provider", "testdata", "captures")

// recordedAnswer is what the replay upstream needs of a capture.
type recordedAnswer struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	RequestBody string `json:"request_body"`
	ContentType string `json:"content_type"`

	body, appBody []byte
}

// loadCapture reads capture name, with the bytes the app must receive:
// NAME.app.body where the sidecar's request for usage changes them, else
// the recorded body.
func loadCapture(t *testing.T, name string) recordedAnswer {
	t.Helper()
	root, err := proc.RepoRoot()
	require.NoError(t, err)
	base := filepath.Join(root, captureDir, name)
	raw, err := os.ReadFile(base + ".json")
	require.NoError(t, err)
	var c recordedAnswer
	require.NoError(t, json.Unmarshal(raw, &c))
	c.body, err = os.ReadFile(base + ".body")
	require.NoError(t, err)
	c.appBody, err = os.ReadFile(base + ".app.body")
	if errors.Is(err, os.ErrNotExist) {
		c.appBody, err = c.body, nil
	}
	require.NoError(t, err)
	return c
}

// headerCapture names the capture the replay upstream answers with; the
// app sets it and the sidecar passes it on like any other header.
const headerCapture = "X-Test-Capture"

// replayUpstream is a provider on 127.0.0.1 that answers each request with
// the recorded bytes of the capture it names, written in pieces of random
// length with a flush after each, as a network delivers a stream.
type replayUpstream struct {
	*httptest.Server
	t        *testing.T
	mu       sync.Mutex // guards received
	received map[string]string
}

func startReplay(t *testing.T) *replayUpstream {
	t.Helper()
	u := &replayUpstream{t: t, received: map[string]string{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *replayUpstream) serve(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(headerCapture)
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.received[name] = string(body)
	u.mu.Unlock()
	c := loadCapture(u.t, name)
	w.Header().Set("Content-Type", c.ContentType)
	w.WriteHeader(http.StatusOK)
	rng := rand.New(rand.NewPCG(uint64(len(c.body)), 7))
	for rest := c.body; len(rest) > 0; {
		n := min(1+rng.IntN(200), len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		rest = rest[n:]
	}
}

// requestBody is the body the upstream got for capture name.
func (u *replayUpstream) requestBody(name string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.received[name]
}

// capturePolicy points a provider of each type at the replay upstream and
// prices the OpenAI-compatible server's model, which has no list price.
const capturePolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: REPLAY}
    - {name: azure, type: AzureOpenAI, baseURL: REPLAY}
    - {name: claude, type: Anthropic, baseURL: REPLAY}
    - {name: gemini, type: Gemini, baseURL: REPLAY}
    - {name: compat, type: OpenAICompatible, baseURL: REPLAY}
  pricing:
    - {model: openai/gpt-oss-120b, inputPerMillion: "0.10", cachedInputPerMillion: "0.05", outputPerMillion: "0.50"}
`

func TestCaptures_TheAppGetsTheRecordedBytesAndTheirUsageIsPriced(t *testing.T) {
	tests := map[string]struct {
		provider string // the policy's provider the app addresses
		// wantCost is the capture's stated usage at the list price (or
		// spec.pricing), worked out by hand; "" for unknown usage.
		wantCost string
		// wantLog are other fields of the request log line.
		wantLog map[string]any
		// wantAsked is whether the sidecar asked the upstream for the usage
		// chunk on the app's behalf; otherwise the body goes as the app
		// wrote it.
		wantAsked bool
	}{
		"openai-chat-stream-include-usage": {
			// gpt-5-nano, $0.05 and $0.40 per million: 12 in, 100 out.
			provider: "openai", wantCost: "0.0000406",
			wantLog: map[string]any{"input_tokens": 12.0, "output_tokens": 100.0},
		},
		"openai-chat-stream-no-include-usage": {
			// The app did not ask for usage: the sidecar did, and the app
			// gets the stream without the usage chunk and usage nulls.
			provider: "openai", wantCost: "0.0000406", wantAsked: true,
			wantLog: map[string]any{"input_tokens": 12.0, "output_tokens": 100.0},
		},
		"anthropic-sonnet45-stream-cache-write": {
			// claude-sonnet-4-5: 3 uncached input tokens at $3, 1591 written
			// to the 5-minute cache at $3.75, 4 output at $15.
			provider: "claude", wantCost: "0.00603525",
			wantLog: map[string]any{"input_tokens": 1594.0, "cache_write_tokens": 1591.0, "output_tokens": 4.0},
		},
		"anthropic-sonnet45-thinking-sync-cache-write": {
			// 10 at $3, 1613 at $3.75, 74 at $15.
			provider: "claude", wantCost: "0.00718875",
			wantLog: map[string]any{"input_tokens": 1623.0, "cache_write_tokens": 1613.0, "output_tokens": 74.0},
		},
		"gemini-flashlite-sync-urlcontext": {
			// gemini-2.5-flash-lite, $0.10 and $0.40: 13 prompt + 109 of
			// URL context in, 73 + 45 thinking out.
			provider: "gemini", wantCost: "0.0000594",
			wantLog: map[string]any{"input_tokens": 122.0, "output_tokens": 118.0},
		},
		"gemini-flashlite-stream-websearch": {
			// 29 prompt + 107 of Google Search results in, 21 + 59 out.
			provider: "gemini", wantCost: "0.0000456",
			wantLog: map[string]any{"input_tokens": 136.0, "output_tokens": 80.0},
		},
		"azure-chat-basic": {
			// The gpt-5-nano deployment: 8 in, 271 out.
			provider: "azure", wantCost: "0.0001088",
			wantLog: map[string]any{"input_tokens": 8.0, "output_tokens": 271.0},
		},
		"compat-baseten-gptoss-stream-continuous-usage": {
			// spec.pricing: 22 uncached at $0.10, 64 cached at $0.05, 39
			// out at $0.50; usage on every chunk, the last one counts.
			provider: "compat", wantCost: "0.0000249",
			wantLog: map[string]any{"input_tokens": 86.0, "cached_input_tokens": 64.0, "output_tokens": 39.0},
		},
		"compat-llamacpp-stream-no-usage": {
			// The server sends no usage even when asked: the bytes pass,
			// and the usage is unknown.
			provider: "compat", wantAsked: true,
		},
	}
	up := startReplay(t)
	s := startWithPolicy(t, strings.ReplaceAll(capturePolicy, "REPLAY", up.URL))
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := loadCapture(t, name)
			req, err := http.NewRequest(http.MethodPost, s.url+"/"+tc.provider+c.Path, strings.NewReader(c.RequestBody))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Request-Id", name)
			req.Header.Set(headerCapture, name)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", got)
			assert.Equal(t, string(c.appBody), string(got), "the bytes the app got")
			assert.Equal(t, c.ContentType, resp.Header.Get("Content-Type"))

			if upstream := up.requestBody(name); tc.wantAsked {
				assert.Contains(t, upstream, `"stream_options":{"include_usage":true}`)
			} else {
				assert.Equal(t, c.RequestBody, upstream, "the request went as the app wrote it")
			}

			line := s.requestLog(name)
			if tc.wantCost == "" {
				assert.Equal(t, false, line["usage_known"], "the log says the usage is unknown")
				return
			}
			assert.Equal(t, true, line["usage_known"])
			assert.Equal(t, tc.wantCost, line["cost_usd"], "the answer's own usage, priced")
			for k, want := range tc.wantLog {
				assert.Equal(t, want, line[k], k)
			}
		})
	}
	s.awaitMetric(1591+1613, "tollgate_tokens_total", "provider", "claude", "type", "cache_write")
}
