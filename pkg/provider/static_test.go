package provider

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// pinClock makes static answers' timestamps fixed for the test.
func pinClock(t *testing.T) {
	old := nowUnix
	nowUnix = func() int64 { return 1750000000 }
	t.Cleanup(func() { nowUnix = old })
}

func TestAdapter_StaticResponse_Bytes(t *testing.T) {
	pinClock(t)
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		req      Request
		wantType string
		want     string
	}{
		"OpenAI chat JSON": {
			provider: proxyconfig.OpenAI, req: Request{Shape: ShapeOpenAIChat, Model: "gpt-4o"},
			wantType: "application/json",
			want:     `{"id":"chatcmpl-tollgate-static","object":"chat.completion","created":1750000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
		},
		"OpenAI chat stream without the usage chunk": {
			provider: proxyconfig.OpenAICompatible, req: Request{Shape: ShapeOpenAIChat, Model: "llama3.2", Stream: true},
			wantType: "text/event-stream",
			want: `data: {"id":"chatcmpl-tollgate-static","object":"chat.completion.chunk","created":1750000000,"model":"llama3.2","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-tollgate-static","object":"chat.completion.chunk","created":1750000000,"model":"llama3.2","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-tollgate-static","object":"chat.completion.chunk","created":1750000000,"model":"llama3.2","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}

data: [DONE]

`,
		},
		"OpenAI chat stream with the usage chunk the app asked for": {
			provider: proxyconfig.AzureOpenAI, req: Request{Shape: ShapeOpenAIChat, Model: "d", Stream: true, StreamUsageRequested: true},
			wantType: "text/event-stream",
			want: `data: {"id":"chatcmpl-tollgate-static","object":"chat.completion.chunk","created":1750000000,"model":"d","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-tollgate-static","object":"chat.completion.chunk","created":1750000000,"model":"d","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-tollgate-static","object":"chat.completion.chunk","created":1750000000,"model":"d","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-tollgate-static","object":"chat.completion.chunk","created":1750000000,"model":"d","choices":[],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}

data: [DONE]

`,
		},
		"Anthropic message JSON": {
			provider: proxyconfig.Anthropic, req: Request{Shape: ShapeAnthropicMessages, Model: "claude-haiku-4-5"},
			wantType: "application/json",
			want:     `{"id":"msg_tollgate_static","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		"Anthropic message stream": {
			provider: proxyconfig.Anthropic, req: Request{Shape: ShapeAnthropicMessages, Model: "claude-haiku-4-5", Stream: true},
			wantType: "text/event-stream",
			want: `event: message_start
data: {"type":"message_start","message":{"id":"msg_tollgate_static","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":0}}

event: message_stop
data: {"type":"message_stop"}

`,
		},
		"Gemini JSON": {
			provider: proxyconfig.Gemini, req: Request{Shape: ShapeGeminiGenerate, Model: "gemini-2.5-flash"},
			wantType: "application/json",
			want:     `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":0,"candidatesTokenCount":0,"totalTokenCount":0},"modelVersion":"gemini-2.5-flash","responseId":"tollgate-static"}`,
		},
		"Gemini stream": {
			provider: proxyconfig.Gemini, req: Request{Shape: ShapeGeminiGenerate, Model: "gemini-2.5-flash", Stream: true},
			wantType: "text/event-stream",
			want: `data: {"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":0,"candidatesTokenCount":0,"totalTokenCount":0},"modelVersion":"gemini-2.5-flash","responseId":"tollgate-static"}

`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ct, body, ok := adapterFor(t, tc.provider).StaticResponse(tc.req, "Hi")
			require.True(t, ok)
			assert.Equal(t, tc.wantType, ct)
			assert.Equal(t, tc.want, string(body))
		})
	}
}

func TestAdapter_StaticResponse_IsReadBackByTheAdapter(t *testing.T) {
	all := []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI, proxyconfig.Gemini, proxyconfig.OpenAICompatible}
	const content = "line one\nline two\r\n\"quoted\" <tag> & \u2028 done"
	for _, p := range all {
		for _, shape := range []Shape{ShapeOpenAIChat, ShapeOpenAIResponses, ShapeAnthropicMessages, ShapeGeminiGenerate} {
			for _, stream := range []bool{false, true} {
				req := Request{Shape: shape, Model: "m", Stream: stream}
				a := adapterFor(t, p)
				ct, body, ok := a.StaticResponse(req, content)
				require.True(t, ok)
				if !stream {
					assert.Equal(t, "application/json", ct)
					require.True(t, json.Valid(body), "%s %s", p, shape)
					assert.Equal(t, Usage{Known: true}, a.Usage(req, body), "%s %s: zero usage, known", p, shape)
					assert.Contains(t, textOf(t, body), content)
					continue
				}
				assert.Equal(t, "text/event-stream", ct)
				obs := a.NewStreamObserver(req)
				var text string
				for _, ev := range readAll(t, bytes.NewReader(body)) {
					raw, keep := obs.Observe(ev)
					assert.True(t, keep, "%s %s: nothing of a static stream is dropped", p, shape)
					assert.Equal(t, string(ev.Raw), string(raw), "%s %s: nor changed", p, shape)
					if string(ev.Data) != "[DONE]" {
						require.True(t, json.Valid(ev.Data), "%s %s: %s", p, shape, ev.Data)
						text += textOf(t, ev.Data)
					}
				}
				assert.Contains(t, text, content, "%s %s", p, shape)
				if shape != ShapeOpenAIChat {
					assert.Equal(t, Usage{Known: true}, obs.Usage(), "%s %s", p, shape)
				}
			}
		}
	}
}

// textOf returns every string in a JSON document, concatenated.
func textOf(t *testing.T, doc []byte) string {
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	var out string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out += v
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, k := range []string{"delta", "text", "content", "message", "choices", "candidates", "parts", "output", "item", "part", "response", "content_block"} {
				if e, ok := v[k]; ok {
					walk(e)
				}
			}
		}
	}
	walk(v)
	return out
}

func TestAdapter_StaticResponse_HasNoAnswerForEmbeddingsOrOtherRequests(t *testing.T) {
	for _, p := range []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI, proxyconfig.Gemini, proxyconfig.OpenAICompatible} {
		for _, shape := range []Shape{ShapeOpenAIEmbeddings, ShapeOther} {
			ct, body, ok := adapterFor(t, p).StaticResponse(Request{Shape: shape}, "x")
			assert.False(t, ok)
			assert.Empty(t, ct)
			assert.Nil(t, body)
		}
	}
}
