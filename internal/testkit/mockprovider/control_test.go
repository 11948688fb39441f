package mockprovider_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// control calls the control API and returns the status and body.
func control(t *testing.T, srv *mockprovider.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := newClient(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestControl_ScriptsTheMockOverHTTP(t *testing.T) {
	srv := startMock(t)

	status, _ := control(t, srv, http.MethodPost, "/_mock/enqueue",
		`[{"status":429,"retry_after":"2","error_code":"insufficient_quota"},{"first_byte_delay":"10ms","chunk_delay":"1ms","content":"Hi there"}]`)
	require.Equal(t, http.StatusNoContent, status)
	status, _ = control(t, srv, http.MethodPost, "/_mock/enqueue",
		`{"model":"special","steps":[{"status":503,"fault":"","usage":{"input_tokens":1,"output_tokens":2,"cached_input_tokens":0}}]}`)
	require.Equal(t, http.StatusNoContent, status)
	status, _ = control(t, srv, http.MethodPost, "/_mock/default", `{"status":502}`)
	require.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, 3, srv.Pending())

	var got []int
	for _, model := range []string{"special", "a", "a", "a"} {
		got = append(got, mustPost(t, srv.URL()+"/v1/chat/completions", `{"model":"`+model+`"}`).StatusCode)
	}
	assert.Equal(t, []int{503, 429, 200, 502}, got)

	status, body := control(t, srv, http.MethodGet, "/_mock/requests", "")
	require.Equal(t, http.StatusOK, status)
	var listed struct {
		Received int64                  `json:"received"`
		Requests []mockprovider.Request `json:"requests"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &listed))
	assert.Equal(t, int64(4), listed.Received)
	require.Len(t, listed.Requests, 4)
	assert.Equal(t, "special", listed.Requests[0].Model)
	assert.Equal(t, mockprovider.SourceModelQueue, listed.Requests[0].Source)
	assert.Equal(t, mockprovider.Step{
		FirstByteDelay: 10 * time.Millisecond, ChunkDelay: time.Millisecond, Content: "Hi there",
	}, listed.Requests[2].Step, "durations round-trip as Go duration strings")

	status, _ = control(t, srv, http.MethodPost, "/_mock/reset", "")
	require.Equal(t, http.StatusNoContent, status)
	assert.Empty(t, srv.Requests())
	assert.Equal(t, http.StatusOK, mustPost(t, srv.URL()+"/v1/chat/completions", `{"model":"a"}`).StatusCode,
		"reset restores the default")

	status, body = control(t, srv, http.MethodGet, "/_mock/healthz", "")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	assert.Len(t, srv.Requests(), 1, "control calls are not recorded")
}

func TestControl_RefusesBadScripts(t *testing.T) {
	tests := map[string]struct {
		method, path, body string
		wantStatus         int
		wantError          string
	}{
		"a misspelt step field": {
			method: http.MethodPost, path: "/_mock/enqueue", body: `[{"statuss":500}]`,
			wantStatus: 400, wantError: `unknown field "statuss"`,
		},
		"an unknown fault": {
			method: http.MethodPost, path: "/_mock/default", body: `{"fault":"explode"}`,
			wantStatus: 400, wantError: `unknown fault "explode"`,
		},
		"a duration without a unit": {
			method: http.MethodPost, path: "/_mock/enqueue", body: `[{"first_byte_delay":"250"}]`,
			wantStatus: 400, wantError: "first_byte_delay",
		},
		"a duration as a number": {
			method: http.MethodPost, path: "/_mock/enqueue", body: `[{"chunk_delay":5}]`,
			wantStatus: 400, wantError: "chunk_delay",
		},
		"a misspelt field next to the steps": {
			method: http.MethodPost, path: "/_mock/enqueue", body: `{"modle":"m","steps":[]}`,
			wantStatus: 400, wantError: `unknown field "modle"`,
		},
		"the wrong method": {
			method: http.MethodGet, path: "/_mock/enqueue", wantStatus: 405, wantError: "use POST",
		},
		"an unknown control endpoint": {
			method: http.MethodGet, path: "/_mock/nope", wantStatus: 404, wantError: "no control endpoint",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			status, body := control(t, srv, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.wantStatus, status)
			var e struct {
				Error string `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &e), "body: %s", body)
			assert.Contains(t, e.Error, tc.wantError)
			assert.Zero(t, srv.Pending())
		})
	}
}

func TestStep_JSONRoundTrips(t *testing.T) {
	step := mockprovider.Step{
		Status: 429, RetryAfter: "5", Headers: map[string]string{"X-A": "b"}, Body: "{}",
		ErrorCode: "rate_limit_exceeded", FirstByteDelay: 1500 * time.Millisecond, ChunkDelay: 3 * time.Millisecond,
		Fault: mockprovider.FaultCutStream, AfterEvents: 4, Content: "c",
		Usage: &mockprovider.Usage{InputTokens: 1, OutputTokens: 2, CachedInputTokens: 3}, Chunks: 9,
		ContentBytes: 8192,
	}
	b, err := json.Marshal(step)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"first_byte_delay":"1.5s"`)
	var back mockprovider.Step
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, step, back)
}
