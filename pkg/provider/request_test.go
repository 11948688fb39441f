package provider

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func fptr(f float64) *float64 { return &f }

func TestAdapter_ParseRequest(t *testing.T) {
	const (
		post = http.MethodPost
		get  = http.MethodGet
	)
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		method   string
		path     string
		body     string // a literal body, or
		file     string // a testdata file
		want     Request
	}{
		"OpenAI chat: model, max_completion_tokens, temperature and the text of every message part": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions", file: "openai/chat_request.json",
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4.1-mini", MaxTokens: 256, Temperature: fptr(0.2), PromptBytes: 46},
		},
		"OpenAI chat stream that asks for usage itself": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions", file: "openai/chat_stream_request.json",
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4.1-mini", Stream: true, MaxTokens: 100, PromptBytes: 6, StreamUsageRequested: true},
		},
		"OpenAI chat stream without stream_options": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4o", Stream: true, PromptBytes: 2},
		},
		"include_usage without stream is not a stream usage request": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","stream_options":{"include_usage":true},"messages":[]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4o"},
		},
		"max_completion_tokens wins over max_tokens": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":"o3","max_tokens":10,"max_completion_tokens":20,"messages":[]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "o3", MaxTokens: 20},
		},
		"escaped text counts its decoded bytes": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":"m","messages":[{"role":"user","content":"a\n\u00e9\ud83d\ude00\"\\"}]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "m", PromptBytes: 1 + 1 + 2 + 4 + 1 + 1},
		},
		"members of unexpected types are ignored, not refused": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":42,"stream":"yes","max_tokens":"12","temperature":"hot","stream_options":"x","messages":{"content":"abc"}}`,
			want: Request{Shape: ShapeOpenAIChat, MaxTokens: 12, PromptBytes: 3},
		},
		"keys match exactly, as the provider matches them": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","MODEL":"cheap","stream":true,"Stream_Options":{"include_usage":true},"Messages":[{"content":"xx"}]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4o", Stream: true},
		},
		"of duplicate keys the last wins": {
			provider: proxyconfig.Anthropic, method: post, path: "/v1/messages",
			body: `{"model":"claude-opus-4-1","max_tokens":5,"model":"claude-haiku-4-5"}`,
			want: Request{Shape: ShapeAnthropicMessages, Model: "claude-haiku-4-5", MaxTokens: 5},
		},
		"escaped keys are decoded": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"mod\u0065l":"gpt-4o","stream":true,"stream_options":{"include_\u0075sage":true}}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4o", Stream: true, StreamUsageRequested: true},
		},
		"integral float token limits are read": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":"m","max_tokens":1024.0,"temperature":0,"messages":[]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "m", MaxTokens: 1024, Temperature: fptr(0)},
		},
		"temperature null is no temperature": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/chat/completions",
			body: `{"model":"m","temperature":null}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "m"},
		},
		"OpenAI Responses: instructions, input text parts and function output": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/responses", file: "openai/responses_request.json",
			want: Request{Shape: ShapeOpenAIResponses, Model: "o4-mini", Stream: true, MaxTokens: 2048, PromptBytes: 33},
		},
		"OpenAI Responses with string input": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/responses",
			body: `{"model":"gpt-4.1","input":"Tell me a story","temperature":0.5,"stream_options":{"include_obfuscation":false}}`,
			want: Request{Shape: ShapeOpenAIResponses, Model: "gpt-4.1", Temperature: fptr(0.5), PromptBytes: 15},
		},
		"OpenAI embeddings: every input string": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/embeddings", file: "openai/embeddings_request.json",
			want: Request{Shape: ShapeOpenAIEmbeddings, Model: "text-embedding-3-small", PromptBytes: 46},
		},
		"OpenAI embeddings of token arrays count no text": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/embeddings",
			body: `{"model":"text-embedding-3-small","input":[[1,2,3],[4]]}`,
			want: Request{Shape: ShapeOpenAIEmbeddings, Model: "text-embedding-3-small"},
		},
		"OpenAI GET of a listing is other": {
			provider: proxyconfig.OpenAI, method: get, path: "/v1/models",
			want: Request{Shape: ShapeOther},
		},
		"OpenAI GET of stored chat completions is other, body unread": {
			provider: proxyconfig.OpenAI, method: get, path: "/v1/chat/completions", body: "not json",
			want: Request{Shape: ShapeOther},
		},
		"OpenAI POST to an unknown path is other, body unread": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/files", body: "--multipart--",
			want: Request{Shape: ShapeOther},
		},
		"OpenAI legacy completions are other": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/completions", body: `{"model":"gpt-3.5-turbo-instruct","prompt":"x"}`,
			want: Request{Shape: ShapeOther},
		},
		"OpenAI response input token counting is other": {
			provider: proxyconfig.OpenAI, method: post, path: "/v1/responses/input_tokens", body: `{"model":"gpt-4.1","input":"x"}`,
			want: Request{Shape: ShapeOther},
		},
		"OpenAI-compatible chat at /v1": {
			provider: proxyconfig.OpenAICompatible, method: post, path: "/v1/chat/completions",
			body: `{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hey"}]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "llama3.2", Stream: true, PromptBytes: 3},
		},
		"OpenAI-compatible chat mounted without /v1": {
			provider: proxyconfig.OpenAICompatible, method: post, path: "/chat/completions",
			body: `{"model":"qwen","messages":[]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "qwen"},
		},
		"OpenAI-compatible embeddings": {
			provider: proxyconfig.OpenAICompatible, method: post, path: "/v1/embeddings",
			body: `{"model":"nomic-embed-text","input":"abc"}`,
			want: Request{Shape: ShapeOpenAIEmbeddings, Model: "nomic-embed-text", PromptBytes: 3},
		},
		"Anthropic messages: system blocks, text, tool results; not images or tool input": {
			provider: proxyconfig.Anthropic, method: post, path: "/v1/messages", file: "anthropic/messages_request.json",
			want: Request{Shape: ShapeAnthropicMessages, Model: "claude-sonnet-4-5-20250929", Stream: true, MaxTokens: 1024, Temperature: fptr(0.7), PromptBytes: 65},
		},
		"Anthropic messages with a string system prompt": {
			provider: proxyconfig.Anthropic, method: post, path: "/v1/messages",
			body: `{"model":"claude-haiku-4-5","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`,
			want: Request{Shape: ShapeAnthropicMessages, Model: "claude-haiku-4-5", MaxTokens: 64, PromptBytes: 11},
		},
		"Anthropic OpenAI-compatible chat is the OpenAI chat shape": {
			provider: proxyconfig.Anthropic, method: post, path: "/v1/chat/completions",
			body: `{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"Hi"}]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "claude-sonnet-4-5", Stream: true, PromptBytes: 2},
		},
		"Anthropic token counting is other": {
			provider: proxyconfig.Anthropic, method: post, path: "/v1/messages/count_tokens", body: `{"model":"claude-sonnet-4-5","messages":[]}`,
			want: Request{Shape: ShapeOther},
		},
		"Anthropic message batches are other": {
			provider: proxyconfig.Anthropic, method: post, path: "/v1/messages/batches", body: `{"requests":[]}`,
			want: Request{Shape: ShapeOther},
		},
		"Azure deployment URL: the model is the deployment, the body has none": {
			provider: proxyconfig.AzureOpenAI, method: post, path: "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21", file: "azure/chat_request.json",
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4o-prod", Stream: true, MaxTokens: 800, Temperature: fptr(0.7), PromptBytes: 30},
		},
		"Azure deployment URL wins over a model in the body": {
			provider: proxyconfig.AzureOpenAI, method: post, path: "/openai/deployments/my%20dep/embeddings?api-version=2024-10-21",
			body: `{"model":"ignored","input":"x"}`,
			want: Request{Shape: ShapeOpenAIEmbeddings, Model: "my dep", PromptBytes: 1},
		},
		"Azure v1 chat takes the model from the body": {
			provider: proxyconfig.AzureOpenAI, method: post, path: "/openai/v1/chat/completions",
			body: `{"model":"gpt-4.1-nano","messages":[{"role":"user","content":"Hi"}]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "gpt-4.1-nano", PromptBytes: 2},
		},
		"Azure v1 responses": {
			provider: proxyconfig.AzureOpenAI, method: post, path: "/openai/v1/responses",
			body: `{"model":"gpt-4.1","input":"Hi","max_output_tokens":50}`,
			want: Request{Shape: ShapeOpenAIResponses, Model: "gpt-4.1", MaxTokens: 50, PromptBytes: 2},
		},
		"Azure v1 embeddings": {
			provider: proxyconfig.AzureOpenAI, method: post, path: "/openai/v1/embeddings?api-version=preview",
			body: `{"model":"text-embedding-3-large","input":["ab","c"]}`,
			want: Request{Shape: ShapeOpenAIEmbeddings, Model: "text-embedding-3-large", PromptBytes: 3},
		},
		"Azure GET of a deployment's operation is other": {
			provider: proxyconfig.AzureOpenAI, method: get, path: "/openai/deployments/d/chat/completions",
			want: Request{Shape: ShapeOther},
		},
		"Gemini generateContent: model from the path, text of contents and system instruction": {
			provider: proxyconfig.Gemini, method: post, path: "/v1beta/models/gemini-2.5-flash:generateContent", file: "gemini/generate_request.json",
			want: Request{Shape: ShapeGeminiGenerate, Model: "gemini-2.5-flash", MaxTokens: 800, Temperature: fptr(1), PromptBytes: 57},
		},
		"Gemini streamGenerateContent with alt=sse is a stream": {
			provider: proxyconfig.Gemini, method: post, path: "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
			body: `{"contents":[{"parts":[{"text":"Hi"}]}]}`,
			want: Request{Shape: ShapeGeminiGenerate, Model: "gemini-2.5-pro", Stream: true, PromptBytes: 2},
		},
		"Gemini streamGenerateContent without alt=sse is a stream too": {
			provider: proxyconfig.Gemini, method: post, path: "/v1/models/gemini-2.0-flash:streamGenerateContent",
			body: `{"contents":[{"parts":[{"text":"Hi"}]}]}`,
			want: Request{Shape: ShapeGeminiGenerate, Model: "gemini-2.0-flash", Stream: true, PromptBytes: 2},
		},
		"Gemini accepts snake_case proto names": {
			provider: proxyconfig.Gemini, method: post, path: "/v1beta/models/gemini-2.5-flash:generateContent",
			body: `{"system_instruction":{"parts":[{"text":"Sys"}]},"contents":[{"parts":[{"text":"Hi"}]}],"generation_config":{"max_output_tokens":99,"temperature":0.3}}`,
			want: Request{Shape: ShapeGeminiGenerate, Model: "gemini-2.5-flash", MaxTokens: 99, Temperature: fptr(0.3), PromptBytes: 5},
		},
		"Gemini countTokens is other": {
			provider: proxyconfig.Gemini, method: post, path: "/v1beta/models/gemini-2.5-flash:countTokens", body: `{"contents":[]}`,
			want: Request{Shape: ShapeOther},
		},
		"Gemini model listing is other": {
			provider: proxyconfig.Gemini, method: get, path: "/v1beta/models",
			want: Request{Shape: ShapeOther},
		},
		"Gemini OpenAI-compatible chat is the OpenAI chat shape": {
			provider: proxyconfig.Gemini, method: post, path: "/v1beta/openai/chat/completions",
			body: `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"Hi"}]}`,
			want: Request{Shape: ShapeOpenAIChat, Model: "gemini-2.5-flash", Stream: true, PromptBytes: 2},
		},
		"Gemini OpenAI-compatible embeddings": {
			provider: proxyconfig.Gemini, method: post, path: "/v1beta/openai/embeddings",
			body: `{"model":"gemini-embedding-001","input":"Hi"}`,
			want: Request{Shape: ShapeOpenAIEmbeddings, Model: "gemini-embedding-001", PromptBytes: 2},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.file != "" {
				body = testdata(t, tc.file)
			}
			got, err := adapterFor(t, tc.provider).ParseRequest(tc.method, tc.path, body)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAdapter_ParseRequest_RefusesBodiesThatAreNotJSONObjects(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		path     string
		body     string
		wantMsg  string
	}{
		"truncated JSON to OpenAI chat": {
			provider: proxyconfig.OpenAI, path: "/v1/chat/completions", body: `{"model":"gpt-4o","messages":[`,
			wantMsg: "body of POST /v1/chat/completions is not valid JSON: unexpected end of JSON input",
		},
		"empty body to OpenAI responses": {
			provider: proxyconfig.OpenAI, path: "/v1/responses", body: ``,
			wantMsg: "body of POST /v1/responses is not valid JSON: unexpected end of JSON input",
		},
		"form data to OpenAI embeddings": {
			provider: proxyconfig.OpenAICompatible, path: "/v1/embeddings", body: `model=x&input=y`,
			wantMsg: "body of POST /v1/embeddings is not valid JSON: invalid character 'm' looking for beginning of value",
		},
		"an array to Anthropic messages": {
			provider: proxyconfig.Anthropic, path: "/v1/messages", body: `[{"role":"user"}]`,
			wantMsg: "body of POST /v1/messages must be a JSON object, not an array",
		},
		"null to Anthropic compat chat": {
			provider: proxyconfig.Anthropic, path: "/v1/chat/completions", body: `null`,
			wantMsg: "body of POST /v1/chat/completions must be a JSON object, not null",
		},
		"trailing garbage to an Azure deployment, query not repeated": {
			provider: proxyconfig.AzureOpenAI, path: "/openai/deployments/d/chat/completions?api-version=2024-10-21", body: `{} {}`,
			wantMsg: "body of POST /openai/deployments/d/chat/completions is not valid JSON: invalid character '{' after top-level value",
		},
		"a string to Gemini, key in the query not repeated": {
			provider: proxyconfig.Gemini, path: "/v1beta/models/gemini-2.5-flash:generateContent?key=SECRET", body: `"hi"`,
			wantMsg: "body of POST /v1beta/models/gemini-2.5-flash:generateContent must be a JSON object, not a string",
		},
		"bad JSON to Gemini compat": {
			provider: proxyconfig.Gemini, path: "/v1beta/openai/chat/completions", body: `{'model': 'x'}`,
			wantMsg: "body of POST /v1beta/openai/chat/completions is not valid JSON: invalid character '\\'' looking for beginning of object key string",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := adapterFor(t, tc.provider).ParseRequest(http.MethodPost, tc.path, []byte(tc.body))
			require.ErrorIs(t, err, ErrBadRequest)
			assert.Equal(t, tc.wantMsg, err.Error())
			assert.NotContains(t, err.Error(), "SECRET")
		})
	}
}

func TestAdapter_ParseRequest_KeepsTheDecodersError(t *testing.T) {
	_, err := adapterFor(t, proxyconfig.OpenAI).ParseRequest(http.MethodPost, "/v1/chat/completions", []byte(`{"a":}`))
	var syntax *json.SyntaxError
	require.ErrorAs(t, err, &syntax)
	assert.Equal(t, int64(6), syntax.Offset)
}

func TestAdapterFor_RefusesUnknownTypes(t *testing.T) {
	_, err := AdapterFor("Bedrock")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown provider type "Bedrock"`)
	for _, pt := range []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI, proxyconfig.Gemini, proxyconfig.OpenAICompatible} {
		a, err := AdapterFor(pt)
		require.NoError(t, err)
		assert.Equal(t, pt, a.Type())
	}
}
