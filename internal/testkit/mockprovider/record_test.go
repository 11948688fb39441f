package mockprovider_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

func TestServer_RecordsEveryRequest(t *testing.T) {
	srv := startMock(t)
	step := mockprovider.Step{Status: 429, RetryAfter: "1"}
	srv.EnqueueFor("claude-x", step)

	before := time.Now()
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/v1/messages?beta=true", strings.NewReader(`{"model":"claude-x","stream":true}`))
	require.NoError(t, err)
	req.Header.Set("X-Api-Key", "sk-test")
	resp, err := newClient(t).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	mustPost(t, srv.URL()+"/v1beta/models/gemini-2.0-flash:generateContent", `{}`)
	mustPost(t, srv.URL()+"/v1/nothing-here", `{}`)

	got := srv.Requests()
	require.Len(t, got, 3)

	first := got[0]
	assert.Equal(t, int64(1), first.Seq)
	assert.Equal(t, http.MethodPost, first.Method)
	assert.Equal(t, "/v1/messages", first.Path)
	assert.Equal(t, "beta=true", first.Query)
	assert.Equal(t, "sk-test", first.Header.Get("X-Api-Key"))
	assert.JSONEq(t, `{"model":"claude-x","stream":true}`, first.Body)
	assert.Equal(t, mockprovider.APIAnthropicMessages, first.API)
	assert.Equal(t, "claude-x", first.Model)
	assert.True(t, first.Stream)
	assert.Equal(t, step, first.Step)
	assert.Equal(t, mockprovider.SourceModelQueue, first.Source)
	assert.False(t, first.Time.Before(before))

	assert.Equal(t, mockprovider.APIGeminiGenerate, got[1].API)
	assert.Equal(t, "gemini-2.0-flash", got[1].Model)
	assert.Equal(t, mockprovider.SourceDefault, got[1].Source)

	assert.Equal(t, mockprovider.APIUnknown, got[2].API)
	assert.Equal(t, mockprovider.SourceNone, got[2].Source, "a path the mock does not serve takes no step")
}

func TestServer_RecordingIsBounded(t *testing.T) {
	tests := map[string]struct {
		opts          []mockprovider.Option
		send          int
		wantSeqs      []int64
		wantBody      string
		wantTruncated bool
	}{
		"history keeps the most recent requests": {
			opts: []mockprovider.Option{mockprovider.WithHistory(3)}, send: 5,
			wantSeqs: []int64{3, 4, 5}, wantBody: `{"model":"m","n":5}`,
		},
		"bodies are cut to the recording limit": {
			opts: []mockprovider.Option{mockprovider.WithRecordBodyBytes(5)}, send: 1,
			wantSeqs: []int64{1}, wantBody: `{"mod`, wantTruncated: true,
		},
		"a zero history records nothing but still counts": {
			opts: []mockprovider.Option{mockprovider.WithHistory(0)}, send: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t, tc.opts...)
			for i := 1; i <= tc.send; i++ {
				mustPost(t, srv.URL()+"/v1/chat/completions", fmt.Sprintf(`{"model":"m","n":%d}`, i))
			}
			got := srv.Requests()
			var seqs []int64
			for _, r := range got {
				seqs = append(seqs, r.Seq)
			}
			assert.Equal(t, tc.wantSeqs, seqs)
			assert.Equal(t, int64(tc.send), srv.Received())
			if len(got) > 0 {
				last := got[len(got)-1]
				assert.Equal(t, tc.wantBody, last.Body)
				assert.Equal(t, tc.wantTruncated, last.BodyTruncated)
			}
		})
	}
}

func TestServer_RefusesWhatTheRealAPIRefuses(t *testing.T) {
	tests := map[string]struct {
		method, path, body string
		wantStatus         int
	}{
		"a body that is not JSON":            {method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":`, wantStatus: 400},
		"a path the mock does not serve":     {method: http.MethodPost, path: "/v2/unknown", body: `{}`, wantStatus: 404},
		"an unknown Gemini action":           {method: http.MethodPost, path: "/v1beta/models/g:countTokens", body: `{}`, wantStatus: 404},
		"GET on an endpoint that takes POST": {method: http.MethodGet, path: "/v1/chat/completions", wantStatus: 405},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(mockprovider.Step{Status: 503})
			req, err := http.NewRequest(tc.method, srv.URL()+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			resp, err := newClient(t).Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			assert.Equal(t, 1, srv.Pending(), "a refused request takes no step")
		})
	}
}
