package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

func TestAdapter_Usage(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		shape    Shape
		file     string // a testdata file, or
		body     string // a literal body
		want     Usage
	}{
		"OpenAI chat: prompt, cached prompt and completion tokens": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIChat, file: "openai/chat_response.json",
			want: Usage{InputTokens: 1432, CachedInputTokens: 1024, OutputTokens: 7, Known: true},
		},
		"OpenAI Responses: input, cached input and output tokens (reasoning included)": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIResponses, file: "openai/responses_response.json",
			want: Usage{InputTokens: 812, CachedInputTokens: 512, OutputTokens: 139, ReasoningTokens: 128, Known: true},
		},
		"OpenAI embeddings: input tokens only": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIEmbeddings, file: "openai/embeddings_response.json",
			want: Usage{InputTokens: 12, Known: true},
		},
		"Azure chat with content filter results": {
			provider: proxyconfig.AzureOpenAI, shape: ShapeOpenAIChat, file: "azure/chat_response.json",
			want: Usage{InputTokens: 22, OutputTokens: 18, Known: true},
		},
		"OpenAI-compatible chat without token details": {
			provider: proxyconfig.OpenAICompatible, shape: ShapeOpenAIChat, file: "compat/chat_response.json",
			want: Usage{InputTokens: 26, OutputTokens: 8, Known: true},
		},
		"Anthropic: input counts cache reads and writes, cached counts the reads": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, file: "anthropic/messages_response.json",
			want: Usage{InputTokens: 21 + 1800 + 188, CachedInputTokens: 1800, CacheWriteTokens: 188, OutputTokens: 12, Known: true},
		},
		"Anthropic's compat chat answers in OpenAI's shape": {
			provider: proxyconfig.Anthropic, shape: ShapeOpenAIChat,
			body: `{"id":"msg_1","object":"chat.completion","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`,
			want: Usage{InputTokens: 5, OutputTokens: 2, Known: true},
		},
		"Gemini: output counts thinking tokens": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, file: "gemini/generate_response.json",
			want: Usage{InputTokens: 2210, CachedInputTokens: 2048, OutputTokens: 9 + 312, ReasoningTokens: 312, Known: true},
		},
		"Gemini: the prompt its tools added (URL context, Google Search) counts as input": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate,
			body: `{"usageMetadata":{"promptTokenCount":13,"candidatesTokenCount":73,"toolUsePromptTokenCount":109,"thoughtsTokenCount":45,"totalTokenCount":240}}`,
			want: Usage{InputTokens: 13 + 109, OutputTokens: 73 + 45, ReasoningTokens: 45, Known: true},
		},
		"Anthropic: writes to the one-hour cache apart from 5-minute ones": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages,
			body: `{"usage":{"input_tokens":10,"cache_creation_input_tokens":1500,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":500},"output_tokens":4}}`,
			want: Usage{InputTokens: 10 + 1500, CacheWriteTokens: 1000, CacheWrite1hTokens: 500, OutputTokens: 4, Known: true},
		},
		"Anthropic: a breakdown alone gives the cache writes": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages,
			body: `{"usage":{"input_tokens":10,"cache_creation":{"ephemeral_5m_input_tokens":30,"ephemeral_1h_input_tokens":20},"output_tokens":4}}`,
			want: Usage{InputTokens: 10 + 50, CacheWriteTokens: 30, CacheWrite1hTokens: 20, OutputTokens: 4, Known: true},
		},
		"Anthropic: a breakdown above the total writes keeps the total": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages,
			body: `{"usage":{"input_tokens":1,"cache_creation_input_tokens":40,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":90}}}`,
			want: Usage{InputTokens: 1 + 40, CacheWrite1hTokens: 40, Known: true},
		},
		"Anthropic: a breakdown of the wrong shape leaves the writes 5-minute ones": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages,
			body: `{"usage":{"input_tokens":1,"cache_creation_input_tokens":40,"cache_creation":"soon","output_tokens":2}}`,
			want: Usage{InputTokens: 1 + 40, CacheWriteTokens: 40, OutputTokens: 2, Known: true},
		},
		"DeepSeek without prompt_tokens_details: prompt_cache_hit_tokens are the cached input": {
			provider: proxyconfig.OpenAICompatible, shape: ShapeOpenAIChat,
			body: `{"usage":{"prompt_tokens":337,"completion_tokens":37,"total_tokens":374,"prompt_cache_hit_tokens":256,"prompt_cache_miss_tokens":81}}`,
			want: Usage{InputTokens: 337, CachedInputTokens: 256, OutputTokens: 37, Known: true},
		},
		"prompt_tokens_details wins over DeepSeek's own count": {
			provider: proxyconfig.OpenAICompatible, shape: ShapeOpenAIChat,
			body: `{"usage":{"prompt_tokens":337,"completion_tokens":37,"prompt_tokens_details":{"cached_tokens":0},"prompt_cache_hit_tokens":256}}`,
			want: Usage{InputTokens: 337, OutputTokens: 37, Known: true},
		},
		"OpenRouter: cache_write_tokens are cache writes": {
			provider: proxyconfig.OpenAICompatible, shape: ShapeOpenAIChat,
			body: `{"usage":{"prompt_tokens":194,"completion_tokens":2,"total_tokens":196,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":100,"audio_tokens":0}}}`,
			want: Usage{InputTokens: 194, CacheWriteTokens: 100, OutputTokens: 2, Known: true},
		},
		"xAI: reasoning tokens beside completion_tokens are output too": {
			provider: proxyconfig.OpenAICompatible, shape: ShapeOpenAIChat,
			body: `{"usage":{"prompt_tokens":10120,"completion_tokens":1499,"total_tokens":14428,"prompt_tokens_details":{"cached_tokens":128},"completion_tokens_details":{"reasoning_tokens":2809}}}`,
			want: Usage{InputTokens: 10120, CachedInputTokens: 128, OutputTokens: 1499 + 2809, ReasoningTokens: 2809, Known: true},
		},
		"OpenAI: reasoning tokens within completion_tokens are not counted twice": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIChat,
			body: `{"usage":{"prompt_tokens":8,"completion_tokens":377,"total_tokens":385,"completion_tokens_details":{"reasoning_tokens":320}}}`,
			want: Usage{InputTokens: 8, OutputTokens: 377, ReasoningTokens: 320, Known: true},
		},
		"Gemini streamed JSON array: the last element's usage": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, file: "gemini/stream_array.json",
			want: Usage{InputTokens: 31, CachedInputTokens: 8, OutputTokens: 14 + 88, ReasoningTokens: 88, Known: true},
		},
		"Gemini JSON array without usage": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, body: `[{"candidates":[]},{"candidates":[]}]`,
		},
		"an answer without usage is unknown": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIChat, body: `{"id":"x","choices":[]}`,
		},
		"null usage is unknown": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIChat, body: `{"usage":null}`,
		},
		"usage of the wrong type is unknown": {
			provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, body: `{"usage":"lots"}`,
		},
		"a body that is not JSON is unknown": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, body: `<html>502 Bad Gateway</html>`,
		},
		"an empty body is unknown": {
			provider: proxyconfig.OpenAI, shape: ShapeOpenAIResponses, body: ``,
		},
		"other requests have no usage": {
			provider: proxyconfig.OpenAI, shape: ShapeOther, file: "openai/chat_response.json",
		},
		"negative counts read as zero, floats and strings as numbers": {
			provider: proxyconfig.OpenAICompatible, shape: ShapeOpenAIChat,
			body: `{"usage":{"prompt_tokens":-5,"completion_tokens":12.0,"prompt_tokens_details":{"cached_tokens":"3"}}}`,
			want: Usage{OutputTokens: 12, CachedInputTokens: 3, Known: true},
		},
		"huge counts are capped, not wrapped": {
			provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate,
			body: `{"usageMetadata":{"candidatesTokenCount":9223372036854775807,"thoughtsTokenCount":1e30}}`,
			want: Usage{OutputTokens: 1<<63 - 1, ReasoningTokens: 1<<63 - 1, Known: true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.file != "" {
				body = testdata(t, tc.file)
			}
			got := adapterFor(t, tc.provider).Usage(Request{Shape: tc.shape}, body)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAdapter_UsageReadsAsMuchFromTheUsageMembersAlone(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		shape    Shape
		file     string
	}{
		"OpenAI chat":         {provider: proxyconfig.OpenAI, shape: ShapeOpenAIChat, file: "openai/chat_response.json"},
		"OpenAI Responses":    {provider: proxyconfig.OpenAI, shape: ShapeOpenAIResponses, file: "openai/responses_response.json"},
		"OpenAI embeddings":   {provider: proxyconfig.OpenAI, shape: ShapeOpenAIEmbeddings, file: "openai/embeddings_response.json"},
		"Azure chat":          {provider: proxyconfig.AzureOpenAI, shape: ShapeOpenAIChat, file: "azure/chat_response.json"},
		"Anthropic messages":  {provider: proxyconfig.Anthropic, shape: ShapeAnthropicMessages, file: "anthropic/messages_response.json"},
		"Gemini generate":     {provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, file: "gemini/generate_response.json"},
		"Gemini stream array": {provider: proxyconfig.Gemini, shape: ShapeGeminiGenerate, file: "gemini/stream_array.json"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := testdata(t, tc.file)
			p := wire.NewPicker(64<<10, UsageMembers...)
			_, _ = p.Write(body)
			doc, ok := p.Document()
			require.True(t, ok)
			assert.Less(t, len(doc), len(body))
			a, req := adapterFor(t, tc.provider), Request{Shape: tc.shape}
			want := a.Usage(req, body)
			require.True(t, want.Known)
			assert.Equal(t, want, a.Usage(req, doc))
		})
	}
}
