package provider

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// prettyStreamingChat has what a re-encode would lose: a big integer,
// unknown members, their order, and indentation.
const prettyStreamingChat = `{
  "zeta": {"nested": [1, 2.50, 1e3]},
  "model": "gpt-4o",
  "seed": 12345678901234567890,
  "stream": true,
  "messages": [{"role": "user", "content": "caf\u00e9 <b>"}],
  "alpha": null
}
`

func TestAdapter_PrepareBody(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		path     string
		body     string
		want     string // "" for unchanged (the same slice)
	}{
		"OpenAI streaming chat gets include_usage appended, all else byte for byte": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions", body: prettyStreamingChat,
			want: `{
  "zeta": {"nested": [1, 2.50, 1e3]},
  "model": "gpt-4o",
  "seed": 12345678901234567890,
  "stream": true,
  "messages": [{"role": "user", "content": "caf\u00e9 <b>"}],
  "alpha": null
,"stream_options":{"include_usage":true}}
`,
		},
		"other stream_options members are kept": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions",
			body: `{"stream":true,"stream_options":{"include_obfuscation":false},"model":"m"}`,
			want: `{"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true},"model":"m"}`,
		},
		"include_usage false is turned true": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions",
			body: `{"stream":true,"stream_options":{"include_usage":false, "x":1}}`,
			want: `{"stream":true,"stream_options":{"include_usage":true, "x":1}}`,
		},
		"stream_options null is replaced": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions",
			body: `{"stream":true,"stream_options":null}`,
			want: `{"stream":true,"stream_options":{"include_usage":true}}`,
		},
		"of duplicate stream_options the last, which the provider reads, is changed": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions",
			body: `{"stream_options":{"a":1},"stream":true,"stream_options":{"b":2}}`,
			want: `{"stream_options":{"a":1},"stream":true,"stream_options":{"b":2,"include_usage":true}}`,
		},
		"include_usage already true leaves the body alone": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions", body: string(testdataString(t, "openai/chat_stream_request.json")),
		},
		"a chat request that does not stream is unchanged": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions", body: `{"model":"m","messages":[]}`,
		},
		"a Responses API stream is unchanged: it always ends with usage": {
			provider: proxyconfig.OpenAI, path: "/v1/responses", body: `{"model":"m","stream":true,"input":"x"}`,
		},
		"embeddings are unchanged": {
			provider: proxyconfig.OpenAI, path: "/v1/embeddings", body: `{"model":"m","input":"x"}`,
		},
		"Azure deployment streaming chat gets include_usage": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/deployments/d/chat/completions?api-version=2024-10-21",
			body: `{"messages":[],"stream":true}`,
			want: `{"messages":[],"stream":true,"stream_options":{"include_usage":true}}`,
		},
		"Azure v1 streaming chat gets include_usage": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/v1/chat/completions",
			body: `{"model":"m","stream":true}`,
			want: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
		},
		"OpenAI-compatible streaming chat gets include_usage": {
			provider: proxyconfig.OpenAICompatible, path: "/v1/chat/completions",
			body: `{ "model" : "llama3.2" , "stream" : true }`,
			want: `{ "model" : "llama3.2" , "stream" : true ,"stream_options":{"include_usage":true}}`,
		},
		"Anthropic's compat streaming chat gets include_usage": {
			provider: proxyconfig.Anthropic, path: "/v1/chat/completions",
			body: `{"model":"claude-sonnet-4-5","stream":true}`,
			want: `{"model":"claude-sonnet-4-5","stream":true,"stream_options":{"include_usage":true}}`,
		},
		"Anthropic native streams are unchanged": {
			provider: proxyconfig.Anthropic, path: "/v1/messages", body: `{"model":"claude-sonnet-4-5","stream":true,"max_tokens":1}`,
		},
		"Gemini's compat streaming chat gets include_usage": {
			provider: proxyconfig.Gemini, path: "/v1beta/openai/chat/completions",
			body: `{"model":"gemini-2.5-flash","stream":true}`,
			want: `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true}}`,
		},
		"Gemini native streams are unchanged": {
			provider: proxyconfig.Gemini, path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body: `{"contents":[]}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := adapterFor(t, tc.provider)
			body := []byte(tc.body)
			req, err := a.ParseRequest(http.MethodPost, tc.path, body)
			require.NoError(t, err)
			got, err := a.PrepareBody(req, body)
			require.NoError(t, err)
			if tc.want == "" {
				require.Len(t, got, len(body))
				assert.Same(t, &body[0], &got[0], "an unchanged body is the same slice")
				return
			}
			assert.Equal(t, tc.want, string(got))
			assert.True(t, json.Valid(got))
			again, err := a.PrepareBody(req, got)
			require.NoError(t, err)
			assert.Equal(t, string(got), string(again), "PrepareBody is idempotent")
			reparsed, err := a.ParseRequest(http.MethodPost, tc.path, got)
			require.NoError(t, err)
			assert.True(t, reparsed.StreamUsageRequested)
		})
	}
}

func testdataString(t *testing.T, name string) string { return string(testdata(t, name)) }

func TestPrepareBody_EditsBodiesItDidNotParse(t *testing.T) {
	req := Request{Shape: ShapeOpenAIChat, Stream: true}
	a := adapterFor(t, proxyconfig.OpenAI)
	for body, want := range map[string]string{
		`{}`:                     `{"stream_options":{"include_usage":true}}`,
		` { } `:                  ` { "stream_options":{"include_usage":true}} `,
		`{"a":1}`:                `{"a":1,"stream_options":{"include_usage":true}}`,
		`{"stream_options":{}}`:  `{"stream_options":{"include_usage":true}}`,
		`{"stream_options":"x"}`: `{"stream_options":{"include_usage":true}}`,
	} {
		got, err := a.PrepareBody(req, []byte(body))
		require.NoError(t, err, body)
		assert.Equal(t, want, string(got), body)
	}
	for _, bad := range []string{``, `[]`, `{"a":`, `{"a" 1}`, `{"a":1,}`} {
		_, err := a.PrepareBody(req, []byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestAdapter_WithModel(t *testing.T) {
	tests := map[string]struct {
		provider  proxyconfig.ProviderType
		path      string
		body      string
		model     string
		wantPath  string
		wantBody  string
		wantError string
	}{
		"OpenAI chat: the body's model, nothing else": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions", body: prettyStreamingChat, model: "gpt-4o-mini",
			wantPath: "/v1/chat/completions",
			wantBody: `{
  "zeta": {"nested": [1, 2.50, 1e3]},
  "model": "gpt-4o-mini",
  "seed": 12345678901234567890,
  "stream": true,
  "messages": [{"role": "user", "content": "caf\u00e9 <b>"}],
  "alpha": null
}
`,
		},
		"a model needing escapes is encoded": {
			provider: proxyconfig.OpenAI, path: "/v1/responses", body: `{"model":"a","input":"x"}`, model: `we"ird`,
			wantPath: "/v1/responses", wantBody: `{"model":"we\"ird","input":"x"}`,
		},
		"a body without a model gets one": {
			provider: proxyconfig.OpenAICompatible, path: "/v1/embeddings", body: `{"input":"x"}`, model: "bge-m3",
			wantPath: "/v1/embeddings", wantBody: `{"input":"x","model":"bge-m3"}`,
		},
		"Anthropic messages: the body's model": {
			provider: proxyconfig.Anthropic, path: "/v1/messages", body: `{"model":"claude-opus-4-1","max_tokens":5}`, model: "claude-haiku-4-5",
			wantPath: "/v1/messages", wantBody: `{"model":"claude-haiku-4-5","max_tokens":5}`,
		},
		"Anthropic compat chat: the body's model": {
			provider: proxyconfig.Anthropic, path: "/v1/chat/completions", body: `{"model":"claude-opus-4-1"}`, model: "claude-haiku-4-5",
			wantPath: "/v1/chat/completions", wantBody: `{"model":"claude-haiku-4-5"}`,
		},
		"Azure deployment URL: the deployment, query kept, body without model untouched": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", body: `{"messages":[]}`, model: "gpt-4o-mini",
			wantPath: "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21", wantBody: `{"messages":[]}`,
		},
		"Azure deployment URL: a model in the body follows the deployment": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/deployments/gpt-4o/embeddings", body: `{"model":"gpt-4o","input":"x"}`, model: "small emb",
			wantPath: "/openai/deployments/small%20emb/embeddings", wantBody: `{"model":"small emb","input":"x"}`,
		},
		"Azure v1: the body's model": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/v1/chat/completions", body: `{"model":"gpt-4o"}`, model: "gpt-4.1",
			wantPath: "/openai/v1/chat/completions", wantBody: `{"model":"gpt-4.1"}`,
		},
		"Gemini native: the path's model, query kept, body untouched": {
			provider: proxyconfig.Gemini, path: "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", body: `{"contents":[]}`, model: "gemini-2.5-flash",
			wantPath: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", wantBody: `{"contents":[]}`,
		},
		"Gemini native: a models/ prefix is not doubled": {
			provider: proxyconfig.Gemini, path: "/v1/models/gemini-2.5-pro:generateContent", body: `{}`, model: "models/gemini-2.0-flash",
			wantPath: "/v1/models/gemini-2.0-flash:generateContent", wantBody: `{}`,
		},
		"Gemini native: an empty model is an error": {
			provider: proxyconfig.Gemini, path: "/v1/models/gemini-2.5-pro:generateContent", body: `{}`, model: "",
			wantError: "set Gemini model in /v1/models/gemini-2.5-pro:generateContent: the model is empty",
		},
		"Gemini compat: the body's model": {
			provider: proxyconfig.Gemini, path: "/v1beta/openai/chat/completions", body: `{"model":"gemini-2.5-pro"}`, model: "gemini-2.5-flash",
			wantPath: "/v1beta/openai/chat/completions", wantBody: `{"model":"gemini-2.5-flash"}`,
		},
		"other requests are left alone": {
			provider: proxyconfig.OpenAI, path: "/v1/models", body: ``, model: "gpt-4o",
			wantPath: "/v1/models", wantBody: ``,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := adapterFor(t, tc.provider)
			method := http.MethodPost
			if tc.body == "" {
				method = http.MethodGet
			}
			req, err := a.ParseRequest(method, tc.path, []byte(tc.body))
			require.NoError(t, err)
			path, body, err := a.WithModel(req, tc.path, []byte(tc.body), tc.model)
			if tc.wantError != "" {
				require.EqualError(t, err, tc.wantError)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantPath, path)
			assert.Equal(t, tc.wantBody, string(body))
			if req.Shape != ShapeOther {
				again, err := a.ParseRequest(method, path, body)
				require.NoError(t, err)
				assert.Equal(t, strings.TrimPrefix(tc.model, "models/"), again.Model, "the request now names the new model")
			}
		})
	}
}
