package mockprovider_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

func TestServer_ScriptedErrorsUseTheProvidersShape(t *testing.T) {
	tests := map[string]struct {
		path, body     string
		step           mockprovider.Step
		wantStatus     int
		wantRetryAfter string
		wantBody       string // JSONEq, with the message blanked
	}{
		"OpenAI 429 with Retry-After is a rate_limit_exceeded error": {
			path: "/v1/chat/completions", body: `{"model":"m"}`,
			step:       mockprovider.Step{Status: 429, RetryAfter: "3"},
			wantStatus: 429, wantRetryAfter: "3",
			wantBody: `{"error":{"message":"","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
		},
		"OpenAI insufficient_quota sets the type as well as the code": {
			path: "/v1/chat/completions", body: `{"model":"m"}`,
			step:       mockprovider.Step{Status: 429, ErrorCode: "insufficient_quota"},
			wantStatus: 429,
			wantBody:   `{"error":{"message":"","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
		},
		"OpenAI 500 is a server_error with a null code": {
			path: "/v1/responses", body: `{"model":"m"}`,
			step:       mockprovider.Step{Status: 500},
			wantStatus: 500,
			wantBody:   `{"error":{"message":"","type":"server_error","param":null,"code":null}}`,
		},
		"Retry-After may be an HTTP date": {
			path: "/v1/embeddings", body: `{"model":"m","input":"x"}`,
			step:       mockprovider.Step{Status: 503, RetryAfter: "Wed, 21 Oct 2037 07:28:00 GMT"},
			wantStatus: 503, wantRetryAfter: "Wed, 21 Oct 2037 07:28:00 GMT",
			wantBody: `{"error":{"message":"","type":"server_error","param":null,"code":null}}`,
		},
		"Anthropic 529 is an overloaded_error": {
			path: "/v1/messages", body: `{"model":"claude"}`,
			step:       mockprovider.Step{Status: 529},
			wantStatus: 529,
			wantBody:   `{"type":"error","error":{"type":"overloaded_error","message":""}}`,
		},
		"Anthropic error code overrides the error type": {
			path: "/v1/messages", body: `{"model":"claude","stream":true}`,
			step:       mockprovider.Step{Status: 400, ErrorCode: "invalid_request_error"},
			wantStatus: 400,
			wantBody:   `{"type":"error","error":{"type":"invalid_request_error","message":""}}`,
		},
		"Gemini 429 is RESOURCE_EXHAUSTED": {
			path: "/v1beta/models/gemini-2.0-flash:generateContent", body: `{}`,
			step:       mockprovider.Step{Status: 429, RetryAfter: "1"},
			wantStatus: 429, wantRetryAfter: "1",
			wantBody: `{"error":{"code":429,"message":"","status":"RESOURCE_EXHAUSTED"}}`,
		},
		"a stream request gets a JSON error, not a stream": {
			path: "/v1/chat/completions", body: `{"model":"m","stream":true}`,
			step:       mockprovider.Step{Status: 502},
			wantStatus: 502,
			wantBody:   `{"error":{"message":"","type":"server_error","param":null,"code":null}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(tc.step)
			resp := mustPost(t, srv.URL()+tc.path, tc.body)
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			assert.Equal(t, tc.wantRetryAfter, resp.Header.Get("Retry-After"))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.JSONEq(t, tc.wantBody, blankMessage(t, body))
		})
	}
}

// blankMessage empties the error message in body, which is free text.
func blankMessage(t *testing.T, body []byte) string {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	inner, ok := v["error"].(map[string]any)
	require.True(t, ok, "body: %s", body)
	assert.NotEmpty(t, inner["message"])
	inner["message"] = ""
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return string(out)
}

func TestServer_StepsAreTakenInOrderWithModelQueuesFirst(t *testing.T) {
	tests := map[string]struct {
		script     func(srv *mockprovider.Server)
		models     []string // one request each, in order
		wantStatus []int
		wantSource []mockprovider.StepSource
	}{
		"shared steps are taken FIFO by any model, then the default answers": {
			script: func(srv *mockprovider.Server) {
				srv.Enqueue(mockprovider.Step{Status: 500}, mockprovider.Step{Status: 429})
			},
			models: []string{"a", "b", "a"}, wantStatus: []int{500, 429, 200},
			wantSource: []mockprovider.StepSource{mockprovider.SourceQueue, mockprovider.SourceQueue, mockprovider.SourceDefault},
		},
		"a model's queue is taken before older shared steps": {
			script: func(srv *mockprovider.Server) {
				srv.Enqueue(mockprovider.Step{Status: 500})
				srv.EnqueueFor("b", mockprovider.Step{Status: 503})
			},
			models: []string{"b", "b", "b"}, wantStatus: []int{503, 500, 200},
			wantSource: []mockprovider.StepSource{mockprovider.SourceModelQueue, mockprovider.SourceQueue, mockprovider.SourceDefault},
		},
		"other models do not take a model's steps": {
			script: func(srv *mockprovider.Server) { srv.EnqueueFor("b", mockprovider.Step{Status: 503}) },
			models: []string{"a", "b"}, wantStatus: []int{200, 503},
			wantSource: []mockprovider.StepSource{mockprovider.SourceDefault, mockprovider.SourceModelQueue},
		},
		"SetDefault changes what answers when nothing is queued": {
			script: func(srv *mockprovider.Server) {
				srv.SetDefault(mockprovider.Step{Status: 502})
				srv.Enqueue(mockprovider.Step{})
			},
			models: []string{"a", "a"}, wantStatus: []int{200, 502},
			wantSource: []mockprovider.StepSource{mockprovider.SourceQueue, mockprovider.SourceDefault},
		},
		"Reset forgets queued steps and restores the default": {
			script: func(srv *mockprovider.Server) {
				srv.SetDefault(mockprovider.Step{Status: 502})
				srv.Enqueue(mockprovider.Step{Status: 500})
				srv.EnqueueFor("a", mockprovider.Step{Status: 500})
				srv.Reset()
			},
			models: []string{"a"}, wantStatus: []int{200},
			wantSource: []mockprovider.StepSource{mockprovider.SourceDefault},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			tc.script(srv)
			var statuses []int
			for _, model := range tc.models {
				resp := mustPost(t, srv.URL()+"/v1/chat/completions", `{"model":"`+model+`"}`)
				statuses = append(statuses, resp.StatusCode)
			}
			assert.Equal(t, tc.wantStatus, statuses)
			var sources []mockprovider.StepSource
			for _, r := range srv.Requests() {
				sources = append(sources, r.Source)
			}
			assert.Equal(t, tc.wantSource, sources)
			assert.Zero(t, srv.Pending())
		})
	}
}

func TestServer_StepShapesTheAnswer(t *testing.T) {
	tests := map[string]struct {
		step       mockprovider.Step
		body       string
		wantStatus int
		wantHeader map[string]string
		wantBody   string
	}{
		"Body is sent verbatim with the status": {
			step: mockprovider.Step{Status: 418, Body: `not json`}, body: `{"model":"m"}`,
			wantStatus: 418, wantBody: `not json`,
		},
		"Headers are added and override the mock's own": {
			step: mockprovider.Step{Headers: map[string]string{"Content-Type": "text/plain", "X-Ratelimit-Remaining-Requests": "0"}, Body: "hi"},
			body: `{"model":"m"}`, wantStatus: 200,
			wantHeader: map[string]string{"Content-Type": "text/plain", "X-Ratelimit-Remaining-Requests": "0"},
			wantBody:   "hi",
		},
		"Content replaces the reply text": {
			step: mockprovider.Step{Content: "Bonjour."}, body: `{"model":"m"}`, wantStatus: 200,
		},
		"ContentBytes pads the reply text to its size": {
			step: mockprovider.Step{ContentBytes: 8192}, body: `{"model":"m"}`, wantStatus: 200,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			srv.Enqueue(tc.step)
			resp := mustPost(t, srv.URL()+"/v1/chat/completions", tc.body)
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			for k, v := range tc.wantHeader {
				assert.Equal(t, v, resp.Header.Get(k), k)
			}
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			if tc.wantBody != "" {
				assert.Equal(t, tc.wantBody, string(body))
			}
			if tc.step.Content != "" {
				assert.Equal(t, tc.step.Content, readOpenAIChat(t, string(body)).Text)
			}
			if tc.step.ContentBytes > 0 {
				text := readOpenAIChat(t, string(body)).Text
				assert.Len(t, text, tc.step.ContentBytes)
				assert.True(t, strings.HasPrefix(text, mockprovider.DefaultContent+" "+mockprovider.DefaultContent), text[:80])
			}
		})
	}
}

func TestServer_ChunksForcesTheNumberOfDeltas(t *testing.T) {
	srv := startMock(t)
	srv.Enqueue(mockprovider.Step{Chunks: 200, Usage: &mockprovider.Usage{InputTokens: 5, OutputTokens: 200}})
	resp := mustPost(t, srv.URL()+"/v1/messages", `{"model":"claude","stream":true}`)
	events, err := readSSE(resp.Body)
	require.NoError(t, err)
	deltas := 0
	for _, ev := range events {
		if ev.Name == "content_block_delta" {
			deltas++
		}
	}
	assert.Equal(t, 200, deltas)
}
