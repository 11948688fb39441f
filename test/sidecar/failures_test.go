package sidecare2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/failures"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// failurePage is what /failures answers.
type failurePage struct {
	Count      int               `json:"count"`
	Stored     int               `json:"stored"`
	MemoryOnly int               `json:"memory_only"`
	DiskError  string            `json:"disk_error"`
	Records    []failures.Record `json:"records"`
}

// failures waits until /failures holds at least n records and returns
// what it shows of them (raw: the text, to search for keys).
func (s *sidecar) failures(n int) (failurePage, string) {
	s.t.Helper()
	var page failurePage
	var raw string
	require.Eventually(s.t, func() bool {
		body, err := s.fetch(fmt.Sprintf("/failures?limit=%d", max(n, 100)))
		if err != nil {
			return false
		}
		page, raw = failurePage{}, body
		return json.Unmarshal([]byte(body), &page) == nil && page.Stored >= n
	}, 5*time.Second, 10*time.Millisecond, "/failures never held %d records", n)
	return page, raw
}

// recordsDir is a directory for --failure-records-dir.
func recordsDir(t *testing.T) string {
	return filepath.Join(t.TempDir(), "failures")
}

// recordFiles are the names of the record files in dir.
func recordFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	return names
}

func requestIDsOf(page failurePage) []string {
	var ids []string
	for _, r := range page.Records {
		ids = append(ids, r.RequestID)
	}
	return ids
}

const recordsSpec = `  retry: {maxAttempts: 2, backoff: {initial: 10ms, max: 20ms}}
  fallbacks:
    - {provider: claude, model: claude-haiku-4-5}
`

func TestFailureRecords_AFallbackAndAFailureEachLeaveARecordOfEveryAttempt(t *testing.T) {
	mock := startMock(t)
	dir := recordsDir(t)
	sc := startWithSpec(t, mock, recordsSpec, "--failure-records-dir", dir)
	client := sc.openAI()

	require.NoError(t, chat(t, client, "gpt-4o-mini", requestID("fr-ok")).err)

	const overloaded = `{"error":{"message":"The server is overloaded","type":"server_error","code":null}}`
	mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: 503, Body: overloaded, Headers: map[string]string{"X-Request-Id": "req_mock_503"}},
		mockprovider.Step{Fault: mockprovider.FaultResetBeforeHeaders})
	res := chat(t, client, "gpt-4o-mini", requestID("fr-fallback"))
	require.NoError(t, res.err)
	assert.Equal(t, "claude/claude-haiku-4-5", res.header.Get(llmclient.HeaderFallback))
	sc.failures(1) // before the next request's, whose record comes first then

	mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Status: 500}, mockprovider.Step{Status: 500})
	mock.EnqueueFor("claude-haiku-4-5", mockprovider.Step{Status: 529}, mockprovider.Step{Status: 529})
	requireOpenAIError(t, chat(t, client, "gpt-4o-mini", requestID("fr-failed")).err, 529, "")

	page, _ := sc.failures(2)
	require.Equal(t, []string{"fr-failed", "fr-fallback"}, requestIDsOf(page), "newest first; the good request left none")
	failed, fellBack := page.Records[0], page.Records[1]

	assert.Equal(t, failures.KindFallback, fellBack.Kind)
	assert.Equal(t, policyRef, fellBack.Policy)
	assert.Equal(t, "openai", fellBack.Provider)
	assert.Equal(t, "gpt-4o-mini", fellBack.Model)
	assert.Equal(t, 200, fellBack.Status)
	assert.Equal(t, 1, fellBack.Rung)
	assert.Equal(t, "claude/claude-haiku-4-5", fellBack.AnsweredBy)
	require.Len(t, fellBack.Attempts, 3)
	a := fellBack.Attempts
	assert.Equal(t, []any{1, 0, "openai", "gpt-4o-mini", 503, "server_error"}, []any{a[0].N, a[0].Rung, a[0].Provider, a[0].Model, a[0].Status, a[0].ErrorType})
	assert.JSONEq(t, overloaded, a[0].ErrorBody, "the provider's error body")
	assert.Equal(t, "req_mock_503", a[0].Headers.Get("X-Request-Id"))
	assert.Equal(t, []any{2, 0, 0, "connection_error"}, []any{a[1].N, a[1].Rung, a[1].Status, a[1].ErrorType})
	assert.NotEmpty(t, a[1].Error, "what the connection error was")
	assert.Equal(t, []any{3, 1, "claude", "claude-haiku-4-5", 200, "none"}, []any{a[2].N, a[2].Rung, a[2].Provider, a[2].Model, a[2].Status, a[2].ErrorType})
	for _, at := range a {
		assert.Positive(t, at.LatencyMS)
		assert.False(t, at.Start.Before(fellBack.Time))
	}
	assert.Equal(t, "POST", fellBack.Request.Method)
	assert.Equal(t, "/openai/v1/chat/completions", fellBack.Request.Path)
	assert.Empty(t, fellBack.Request.Body, "bodies only when the policy opts in")

	assert.Equal(t, failures.KindFailure, failed.Kind)
	assert.Equal(t, 529, failed.Status)
	assert.Equal(t, "server_error", failed.ErrorType)
	assert.Equal(t, "claude/claude-haiku-4-5", failed.AnsweredBy, "the rung whose error the app got")
	require.Len(t, failed.Attempts, 4)
	for i, want := range []struct {
		rung   int
		status int
	}{{0, 500}, {0, 500}, {1, 529}, {1, 529}} {
		assert.Equal(t, want.rung, failed.Attempts[i].Rung)
		assert.Equal(t, want.status, failed.Attempts[i].Status)
		assert.Contains(t, failed.Attempts[i].ErrorBody, `"error"`)
	}

	// /failures serves a record once the writer has it, its file follows.
	sc.awaitMetric(2, "tollgate_failure_records_total", "result", "disk")
	assert.Len(t, recordFiles(t, dir), 2, "one file per record")
	assert.Equal(t, 0.0, sc.metric("tollgate_failure_records_total", "result", "memory"))
}

func TestFailureRecords_HoldNoKeyOfAnyHeaderStyleTheQueryOrTheSidecar(t *testing.T) {
	const (
		sidecarKey   = "sk-sidecar-held-0123456789abcdef"
		bearerKey    = "sk-app-bearer-ABCDEFGHIJ0123456789"
		anthropicKey = "sk-ant-api03-app-ZYXWVUT9876543210-abc"
		azureKey     = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
		googleKey    = "AIzaSyD-app-goog-key-0123456789abcdefg"
		queryKey     = "AIzaQueryParamKey0123456789abcdefghij"
		queryToken   = "tok-query-0123456789"
		cookieSecret = "cookie-session-0123456789"
	)
	keys := []string{sidecarKey, bearerKey, anthropicKey, azureKey, googleKey, queryKey, queryToken, cookieSecret}
	echo := `{"error":{"message":"invalid credentials: ` + strings.Join(keys, " ") + `","type":"invalid_request_error"}}`

	mock := startMock(t)
	creds := t.TempDir()
	writeAtomically(t, filepath.Join(creds, "openai"), sidecarKey+"\n")
	dir := recordsDir(t)
	sc := startWithPolicy(t, withMock(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, credentialsSecretRef: {name: openai-credentials, key: api-key}}
    - {name: claude, type: Anthropic, baseURL: MOCK}
  failureRecords: {includeRequestBody: true}
`, mock), "--credentials-dir", creds, "--failure-records-dir", dir, "--log-level", "debug")

	// Every header style at once, and keys in the query, from an app
	// that sends what it should not; a provider that echoes them back.
	mock.Enqueue(mockprovider.Step{Status: 401, Body: echo})
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my key is ` + bearerKey + ` and ` + googleKey + `"}]}`
	req, err := http.NewRequest(http.MethodPost, sc.url+"/openai/v1/chat/completions?key="+queryKey+"&access_token="+queryToken+"&api-version=1", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearerKey)
	req.Header.Set("X-Api-Key", anthropicKey)
	req.Header.Set("Api-Key", azureKey)
	req.Header.Set("X-Goog-Api-Key", googleKey)
	req.Header.Set("Cookie", "sid="+cookieSecret)
	req.Header.Set("X-Request-Id", "fr-keys-raw")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)
	require.Equal(t, "Bearer "+sidecarKey, mock.Requests()[0].Header.Get("Authorization"), "the sidecar sent its own key, which the provider echoed")
	sc.failures(1) // before the next request's

	// The Anthropic SDK's x-api-key, on a provider without a Secret, and
	// a provider that echoes it (and the sidecar's key, which it holds).
	mock.Enqueue(mockprovider.Step{Status: 529, Body: `{"type":"error","error":{"type":"overloaded_error","message":"overloaded for ` + anthropicKey + ` (` + sidecarKey + `)"}}`})
	client := anthropic.NewClient(anthropicoption.WithBaseURL(sc.url+"/claude/"), anthropicoption.WithAPIKey(anthropicKey),
		anthropicoption.WithMaxRetries(0), anthropicoption.WithHeader("X-Request-Id", "fr-keys-sdk"))
	_, err = client.Messages.New(context.Background(), messageParams("claude-sonnet-4-5"))
	require.Error(t, err)
	assert.Equal(t, anthropicKey, mock.Requests()[1].Header.Get("X-Api-Key"), "the app's key passed through")

	page, raw := sc.failures(2)
	sdk, rawReq := page.Records[0], page.Records[1]
	require.Equal(t, "fr-keys-raw", rawReq.RequestID)
	require.Equal(t, "fr-keys-sdk", sdk.RequestID)
	for _, h := range []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key", "Cookie"} {
		assert.Equal(t, []string{llmclient.Redacted}, rawReq.Request.Headers[h], h)
	}
	assert.Equal(t, []string{llmclient.Redacted}, sdk.Request.Headers["X-Api-Key"])
	assert.Equal(t, "key=[redacted]&access_token=[redacted]&api-version=1", rawReq.Request.Query)
	assert.Contains(t, rawReq.Attempts[0].ErrorBody, "invalid credentials: "+strings.TrimSpace(strings.Repeat("[redacted] ", len(keys))))
	assert.Contains(t, sdk.Attempts[0].ErrorBody, "overloaded for [redacted] ([redacted])")
	assert.Contains(t, rawReq.Request.Body, "my key is [redacted] and [redacted]")

	// /failures serves a record once the writer has it, its file follows.
	sc.awaitMetric(2, "tollgate_failure_records_total", "result", "disk")
	shown := map[string]string{"/failures": raw, "the log": sc.logs.String()}
	for _, name := range recordFiles(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		shown[name] = string(data)
	}
	require.Len(t, shown, 4, "two record files")
	for where, text := range shown {
		for _, key := range keys {
			assert.NotContains(t, text, key, "a key appears in %s", where)
		}
	}
}

func TestFailureRecords_KeepTheRequestBodyOnlyWhenThePolicyOptsInCutAtItsBound(t *testing.T) {
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("ab", 100) + `"}]}`
	tests := map[string]struct {
		spec          string
		wantBody      string
		wantBytes     int
		wantTruncated bool
	}{
		"without failureRecords":   {spec: ""},
		"with the body left out":   {spec: "  failureRecords: {includeRequestBody: false, maxBodyBytes: 64}\n"},
		"cut at maxBodyBytes":      {spec: "  failureRecords: {includeRequestBody: true, maxBodyBytes: 64}\n", wantBody: body[:64], wantBytes: len(body), wantTruncated: true},
		"whole within the default": {spec: "  failureRecords: {includeRequestBody: true}\n", wantBody: body, wantBytes: len(body)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, tc.spec, "--failure-records-dir", recordsDir(t))
			mock.Enqueue(mockprovider.Step{Status: 400})
			resp := sc.send(rawPost("/openai/v1/chat/completions", body))
			require.Equal(t, 400, resp.StatusCode)
			page, _ := sc.failures(1)
			r := page.Records[0].Request
			assert.Equal(t, tc.wantBody, r.Body)
			assert.Equal(t, tc.wantBytes, r.BodyBytes)
			assert.Equal(t, tc.wantTruncated, r.BodyTruncated)
		})
	}
}

func TestFailureRecords_AreBoundedByCountAndByBytesTheOldestDeletedFirst(t *testing.T) {
	tests := map[string]struct {
		args      []string
		errorBody int // bytes of each error answer
		wantKept  int
	}{
		"by count":                            {args: []string{"--failure-records-max-count", "3"}, errorBody: 100, wantKept: 3},
		"by bytes, each record in two blocks": {args: []string{"--failure-records-max-bytes", "16384"}, errorBody: 5000, wantKept: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			dir := recordsDir(t)
			sc := startWithSpec(t, mock, "", append([]string{"--failure-records-dir", dir}, tc.args...)...)
			errBody := `{"error":{"message":"` + strings.Repeat("x", tc.errorBody) + `"}}`
			var ids []string
			for i := range 5 {
				mock.Enqueue(mockprovider.Step{Status: 500, Body: errBody})
				id := fmt.Sprintf("fr-bound-%d", i)
				ids = append(ids, id)
				requireOpenAIError(t, chat(t, sc.openAI(), "gpt-4o-mini", requestID(id)).err, 500, "")
				// One record at a time, so that their order is the
				// requests': a record is handed over once the answer's
				// end was read, which may be after the app got it.
				sc.awaitMetric(float64(i+1), "tollgate_failure_records_total", "result", "disk")
			}
			page, _ := sc.failures(tc.wantKept)
			assert.Equal(t, tc.wantKept, page.Stored)
			assert.Equal(t, []string{ids[4], ids[3], ids[2]}[:tc.wantKept], requestIDsOf(page), "the newest, newest first")
			files := recordFiles(t, dir)
			assert.Len(t, files, tc.wantKept, "the oldest files are deleted")
			var blocks int64
			for _, f := range files {
				info, err := os.Stat(filepath.Join(dir, f))
				require.NoError(t, err)
				blocks += (info.Size() + 4095) / 4096
			}
			if tc.errorBody > 4096 {
				assert.Equal(t, int64(2*tc.wantKept), blocks, "records of more than 4 KiB take two blocks each")
			}
		})
	}
}

func TestFailureRecords_SurviveARestartOfTheSidecar(t *testing.T) {
	mock := startMock(t)
	dir := recordsDir(t)
	policy := withMock(policyHead, mock)
	first := startWithPolicy(t, policy, "--failure-records-dir", dir)
	for i, id := range []string{"fr-before-1", "fr-before-2"} {
		mock.Enqueue(mockprovider.Step{Status: 503})
		requireOpenAIError(t, chat(t, first.openAI(), "gpt-4o-mini", requestID(id)).err, 503, "")
		first.failures(i + 1) // in the requests' order
	}
	first.sigterm()
	select {
	case <-first.process.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the sidecar did not exit on SIGTERM")
	}
	require.Equal(t, 0, first.process.State().ExitCode())

	second := startSidecar(t, first.policyFile, "--failure-records-dir", dir)
	page, _ := second.failures(2)
	assert.Equal(t, []string{"fr-before-2", "fr-before-1"}, requestIDsOf(page), "read back from the disk")
	mock.Enqueue(mockprovider.Step{Status: 503})
	requireOpenAIError(t, chat(t, second.openAI(), "gpt-4o-mini", requestID("fr-after")).err, 503, "")
	page, _ = second.failures(3)
	assert.Equal(t, []string{"fr-after", "fr-before-2", "fr-before-1"}, requestIDsOf(page))
}

// canUnshare tells whether this machine lets an unprivileged test mount a
// file system of its own in a private user and mount namespace.
func canUnshare(t *testing.T) bool {
	t.Helper()
	dir := t.TempDir()
	return exec.Command("unshare", "-rm", "/bin/sh", "-c", "mount -t tmpfs -o size=4k tollgate-probe '"+dir+"'").Run() == nil
}

func TestFailureRecords_ADiskThatRefusesThemNeverFailsARequest(t *testing.T) {
	tests := map[string]struct {
		// wrapper starts the sidecar; dir makes the --failure-records-dir.
		wrapper func(dir string) []string
		dir     func(t *testing.T) string
		// unshare: the case mounts a file system of its own.
		unshare bool
		// someOnDisk: the first records may still fit.
		someOnDisk bool
		wantError  string
	}{
		"a file-size limit of 0 (RLIMIT_FSIZE: EFBIG)": {
			wrapper:   func(string) []string { return []string{"/bin/sh", "-c", `ulimit -f 0 && exec "$0" "$@"`} },
			wantError: "file too large",
		},
		"a full disk (a tmpfs of 8 KiB: ENOSPC)": {
			wrapper: func(dir string) []string {
				return []string{"unshare", "-rm", "/bin/sh", "-c", `mount -t tmpfs -o size=8k tollgate-full '` + dir + `' && exec "$0" "$@"`}
			},
			unshare: true, someOnDisk: true, wantError: "no space left on device",
		},
		"a read-only file system (EROFS)": {
			wrapper: func(dir string) []string {
				return []string{"unshare", "-rm", "/bin/sh", "-c", `mount -t tmpfs -o ro,size=64k tollgate-ro '` + dir + `' && exec "$0" "$@"`}
			},
			unshare: true, wantError: "read-only file system",
		},
		"a directory that cannot be made (a file is in the way)": {
			dir: func(t *testing.T) string {
				file := filepath.Join(t.TempDir(), "file")
				require.NoError(t, os.WriteFile(file, nil, 0o600))
				return filepath.Join(file, "failures")
			},
			wantError: "not a directory",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.unshare && !canUnshare(t) {
				t.Skip("this machine does not let a test mount a tmpfs in a user namespace (unshare -rm)")
			}
			dir := recordsDir(t)
			if tc.dir != nil {
				dir = tc.dir(t)
			} else {
				require.NoError(t, os.MkdirAll(dir, 0o700))
			}
			var wrapper []string
			if tc.wrapper != nil {
				wrapper = tc.wrapper(dir)
			}
			mock := startMock(t)
			policy := withMock(policyHead+`  fallbacks:
    - staticResponse: {content: "`+staticContent+`"}
`, mock)
			path := filepath.Join(t.TempDir(), "policy.yaml")
			writeAtomically(t, path, policy)
			sc := startVia(t, wrapper, path, "--failure-records-dir", dir)

			const n = 5
			for i := range n {
				mock.Enqueue(mockprovider.Step{Status: 500})
				res := chat(t, sc.openAI(), "gpt-4o-mini", requestID(fmt.Sprintf("fr-disk-%d", i)))
				require.NoError(t, res.err, "the request is answered as if records were fine")
				assert.Equal(t, staticContent, res.completion.Choices[0].Message.Content)
				assert.Less(t, res.took, 2*time.Second)
				sc.failures(i + 1) // in the requests' order
			}
			res := chat(t, sc.openAI(), "gpt-4o-mini", requestID("fr-disk-ok"))
			require.NoError(t, res.err)
			assert.Equal(t, mockprovider.DefaultContent, res.completion.Choices[0].Message.Content)

			page, _ := sc.failures(n)
			assert.Equal(t, n, page.Stored, "every record is still served, from memory")
			assert.Positive(t, page.MemoryOnly)
			if !tc.someOnDisk {
				assert.Equal(t, n, page.MemoryOnly)
			}
			assert.Contains(t, page.DiskError, tc.wantError)
			assert.Equal(t, "fr-disk-4", page.Records[0].RequestID)
			memory, ok := sc.metricOK("tollgate_failure_records_total", "result", "memory")
			require.True(t, ok)
			disk := sc.metric("tollgate_failure_records_total", "result", "disk")
			t.Logf("records on disk %v, in memory only %v; the last disk error: %s", disk, memory, page.DiskError)
			assert.Equal(t, float64(n), memory+disk)
			assert.Equal(t, float64(page.MemoryOnly), memory)
			assert.GreaterOrEqual(t, sc.metric("tollgate_failure_records_disk_errors_total"), memory)

			warnings := 0
			for _, l := range sc.logs.JSONLines() {
				if msg, _ := l["msg"].(string); strings.Contains(msg, "failure record") && l["level"] == "warn" {
					warnings++
				}
			}
			assert.Equal(t, 1, warnings, "disk errors are logged once a minute at most:\n%s", sc.logs)
		})
	}
}
