package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOutputFormat_ReadsEachAPIsStructuredOutput(t *testing.T) {
	tests := map[string]struct {
		adapter    Adapter
		path, body string
		want       OutputFormat
		wantErr    bool
	}{
		"OpenAI chat json_schema": {
			adapter: openAIAdapter{}, path: "/v1/chat/completions",
			body: `{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"p","strict":true,"schema":{"type":"object"}}}}`,
			want: OutputFormat{Kind: FormatJSONSchema, Schema: []byte(`{"type":"object"}`), Where: "response_format.json_schema.schema"},
		},
		"OpenAI chat json_object": {
			adapter: openAIAdapter{}, path: "/v1/chat/completions", body: `{"model":"m","response_format":{"type":"json_object"}}`,
			want: OutputFormat{Kind: FormatJSONObject, Where: "response_format"},
		},
		"OpenAI chat text": {
			adapter: openAIAdapter{}, path: "/v1/chat/completions", body: `{"model":"m","response_format":{"type":"text"}}`,
		},
		"OpenAI chat without a format": {adapter: openAIAdapter{}, path: "/v1/chat/completions", body: `{"model":"m"}`},
		"OpenAI chat json_schema without a schema": {
			adapter: openAIAdapter{}, path: "/v1/chat/completions", body: `{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"p"}}}`,
			wantErr: true,
		},
		"OpenAI chat response_format of the wrong type": {
			adapter: openAIAdapter{}, path: "/v1/chat/completions", body: `{"model":"m","response_format":"json"}`, wantErr: true,
		},
		"Responses text.format": {
			adapter: openAIAdapter{}, path: "/v1/responses",
			body: `{"model":"m","text":{"format":{"type":"json_schema","name":"p","schema":{"type":"array"}}}}`,
			want: OutputFormat{Kind: FormatJSONSchema, Schema: []byte(`{"type":"array"}`), Where: "text.format.schema"},
		},
		"Anthropic output_config.format": {
			adapter: anthropicAdapter{}, path: "/v1/messages",
			body: `{"model":"m","max_tokens":5,"output_config":{"effort":"low","format":{"type":"json_schema","schema":{"type":"object"}}}}`,
			want: OutputFormat{Kind: FormatJSONSchema, Schema: []byte(`{"type":"object"}`), Where: "output_config.format.schema"},
		},
		"Anthropic beta output_format": {
			adapter: anthropicAdapter{}, path: "/v1/messages",
			body: `{"model":"m","max_tokens":5,"output_format":{"type":"json_schema","schema":{"type":"string"}}}`,
			want: OutputFormat{Kind: FormatJSONSchema, Schema: []byte(`{"type":"string"}`), Where: "output_format.schema"},
		},
		"Anthropic output_config with effort only": {
			adapter: anthropicAdapter{}, path: "/v1/messages", body: `{"model":"m","max_tokens":5,"output_config":{"effort":"low"}}`,
		},
		"Anthropic's OpenAI-compatible endpoint takes response_format": {
			adapter: anthropicAdapter{}, path: "/v1/chat/completions", body: `{"model":"m","response_format":{"type":"json_object"}}`,
			want: OutputFormat{Kind: FormatJSONObject, Where: "response_format"},
		},
		"Gemini responseJsonSchema": {
			adapter: geminiAdapter{}, path: "/v1beta/models/g:generateContent",
			body: `{"contents":[],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"type":"object"}}}`,
			want: OutputFormat{Kind: FormatJSONSchema, Schema: []byte(`{"type":"object"}`), Where: "generationConfig.responseJsonSchema"},
		},
		"Gemini responseSchema is checked for syntax only": {
			adapter: geminiAdapter{}, path: "/v1beta/models/g:generateContent",
			body: `{"contents":[],"generation_config":{"response_mime_type":"application/json","response_schema":{"type":"OBJECT"}}}`,
			want: OutputFormat{Kind: FormatJSON, Where: "generation_config.responseSchema", SyntaxOnly: true},
		},
		"Gemini JSON without a schema": {
			adapter: geminiAdapter{}, path: "/v1beta/models/g:generateContent",
			body: `{"contents":[],"generationConfig":{"responseMimeType":"application/json"}}`,
			want: OutputFormat{Kind: FormatJSON, Where: "generationConfig.responseMimeType"},
		},
		"Gemini text": {
			adapter: geminiAdapter{}, path: "/v1beta/models/g:generateContent",
			body: `{"contents":[],"generationConfig":{"responseMimeType":"text/x.enum","temperature":0}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := tc.adapter.ParseRequest("POST", tc.path, []byte(tc.body))
			require.NoError(t, err)
			got, err := ParseOutputFormat(req)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrBadFormat)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAnswerOf_ReadsTheAssistantTextOfEachShape(t *testing.T) {
	chat := Request{Shape: ShapeOpenAIChat}
	tests := map[string]struct {
		req    Request
		body   string
		stream bool
		want   Answer
		err    bool
	}{
		"chat: one choice": {
			req: chat, body: `{"choices":[{"index":0,"message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop"}]}`,
			want: Answer{Texts: [][]byte{[]byte(`{"a":1}`)}},
		},
		"chat: n choices, each judged": {
			req:  chat,
			body: `{"choices":[{"index":1,"message":{"content":"b"},"finish_reason":"length"},{"index":0,"message":{"content":"a"}}]}`,
			want: Answer{Texts: [][]byte{[]byte("a"), []byte("b")}, Truncated: true},
		},
		"chat: a refusal is not judged": {
			req: chat, body: `{"choices":[{"index":0,"message":{"content":null,"refusal":"I can't help with that."}}]}`,
			want: Answer{Unjudged: UnjudgedRefusal},
		},
		"chat: a tool call is not judged": {
			req: chat, body: `{"choices":[{"index":0,"message":{"content":null,"tool_calls":[{"id":"c"}]},"finish_reason":"tool_calls"}]}`,
			want: Answer{Unjudged: UnjudgedToolCall},
		},
		"chat: no choices is an empty text": {req: chat, body: `{"choices":[]}`, want: Answer{Texts: [][]byte{nil}}},
		"chat: a body that is not JSON":     {req: chat, body: `{"choices":[`, err: true},
		"chat stream: deltas joined per choice": {
			req: chat, stream: true,
			body: "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"{\\\"a\\\"\"}}]}\n\n" +
				"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\":1}\"},\"finish_reason\":\"stop\"}]}\n\n" +
				"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n",
			want: Answer{Texts: [][]byte{[]byte(`{"a":1}`)}},
		},
		"anthropic: text blocks after thinking": {
			req:  Request{Shape: ShapeAnthropicMessages},
			body: `{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"{\"a\":"},{"type":"text","text":"1}"}],"stop_reason":"end_turn"}`,
			want: Answer{Texts: [][]byte{[]byte(`{"a":1}`)}},
		},
		"anthropic: refusal": {
			req: Request{Shape: ShapeAnthropicMessages}, body: `{"content":[],"stop_reason":"refusal"}`,
			want: Answer{Unjudged: UnjudgedRefusal},
		},
		"anthropic stream": {
			req: Request{Shape: ShapeAnthropicMessages}, stream: true,
			body: "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"[1,\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"2]\"}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"}}\n\n",
			want: Answer{Texts: [][]byte{[]byte(`[1,2]`)}, Truncated: true},
		},
		"responses: output_text of the message": {
			req:  Request{Shape: ShapeOpenAIResponses},
			body: `{"status":"completed","output":[{"type":"reasoning"},{"type":"message","content":[{"type":"output_text","text":"{}"}]}]}`,
			want: Answer{Texts: [][]byte{[]byte(`{}`)}},
		},
		"responses stream: the completed event": {
			req: Request{Shape: ShapeOpenAIResponses}, stream: true,
			body: "event: response.output_text.delta\ndata: {\"delta\":\"{\"}\n\n" +
				"event: response.completed\ndata: {\"response\":{\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"{}\"}]}]}}\n\n",
			want: Answer{Texts: [][]byte{[]byte(`{}`)}},
		},
		"responses stream without its end": {
			req: Request{Shape: ShapeOpenAIResponses}, stream: true, body: "event: response.output_text.delta\ndata: {\"delta\":\"{\"}\n\n", err: true,
		},
		"gemini: parts joined, thoughts left out": {
			req:  Request{Shape: ShapeGeminiGenerate},
			body: `{"candidates":[{"index":0,"content":{"parts":[{"text":"plan","thought":true},{"text":"{\"a\""},{"text":":1}"}]},"finishReason":"STOP"}]}`,
			want: Answer{Texts: [][]byte{[]byte(`{"a":1}`)}},
		},
		"gemini: a JSON array of responses": {
			req:  Request{Shape: ShapeGeminiGenerate},
			body: `[{"candidates":[{"content":{"parts":[{"text":"[t"}]}}]},{"candidates":[{"content":{"parts":[{"text":"rue]"}]},"finishReason":"MAX_TOKENS"}]}]`,
			want: Answer{Texts: [][]byte{[]byte(`[true]`)}, Truncated: true},
		},
		"gemini stream": {
			req: Request{Shape: ShapeGeminiGenerate}, stream: true,
			body: "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"{\"}]}}]}\r\n\r\n" +
				"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"}\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n",
			want: Answer{Texts: [][]byte{[]byte(`{}`)}},
		},
		"a stream event that is not JSON": {req: chat, stream: true, body: "data: {\"choices\":[\n\n", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got Answer
			var err error
			if tc.stream {
				got, err = StreamAnswerOf(tc.req, []byte(tc.body))
			} else {
				got, err = AnswerOf(tc.req, []byte(tc.body))
			}
			if tc.err {
				require.ErrorIs(t, err, ErrNoAnswer)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
