package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/loader"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// harness is a sidecar data path in-process: the real Handler and
// Transport in front of a scripted mock provider.
type harness struct {
	t       *testing.T
	mock    *mockprovider.Server
	url     string // the proxy's URL
	tr      *llmclient.Transport
	mu      sync.Mutex
	reports []*llmclient.Report
}

// policyYAML is an LLMPolicy whose providers point at MOCK; tests append
// spec blocks.
const policyYAML = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK}
    - {name: claude, type: Anthropic, baseURL: MOCK}
`

func newHarness(t *testing.T, extraSpec string) *harness {
	return newHarnessWith(t, extraSpec, llmclient.Options{})
}

func newHarnessWith(t *testing.T, extraSpec string, opts llmclient.Options) *harness {
	t.Helper()
	return newHarnessRawWith(t, policyYAML+extraSpec, opts)
}

// post sends body to path on the proxy.
func (h *harness) post(path, body string, header ...string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// lastReport waits for the report of the latest finished request.
func (h *harness) lastReport() *llmclient.Report {
	h.t.Helper()
	var r *llmclient.Report
	require.Eventually(h.t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.reports) > 0 {
			r = h.reports[len(h.reports)-1]
		}
		return r != nil
	}, 5*time.Second, 5*time.Millisecond)
	return r
}

func (h *harness) reportCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reports)
}

const chat = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
const chatStream = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
const messages = `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// errorCode reads the code of an OpenAI-shaped error body.
func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), "body: %s", body)
	return e.Error.Code
}

// sseEvents splits an SSE body into its data payloads.
func sseEvents(body string) []string {
	var out []string
	for _, block := range strings.Split(body, "\n\n") {
		for _, line := range strings.Split(block, "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				out = append(out, d)
			}
		}
	}
	return out
}

func writeKey(t *testing.T, provider, key string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, provider), []byte(key+"\n"), 0o600))
	return dir
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newHarnessRawWith is newHarnessWith for a whole policy document.
func newHarnessRawWith(t *testing.T, raw string, opts llmclient.Options) *harness {
	t.Helper()
	mock, err := mockprovider.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { mock.Close() })
	h := &harness{t: t, mock: mock}
	res, err := loader.Parse([]byte(strings.ReplaceAll(raw, "MOCK", mock.URL())), nil)
	require.NoError(t, err)
	opts.OnDone = func(r *llmclient.Report) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.reports = append(h.reports, r)
	}
	tr, err := llmclient.New(*res.Policy, opts)
	require.NoError(t, err)
	srv := httptest.NewServer(New(func() *llmclient.Transport { return tr }, nil))
	t.Cleanup(srv.Close)
	h.url, h.tr = srv.URL, tr
	return h
}

func writeFile(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}

func fmtReport(r *llmclient.Report) string {
	b, _ := json.Marshal(r)
	return string(b)
}
