package semantic

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/provider"
)

func TestSplit(t *testing.T) {
	tests := map[string]struct {
		shape    provider.Shape
		body     string
		wantText string // empty: not eligible
		wantRest string
	}{
		"OpenAI chat, a string": {
			shape:    provider.ShapeOpenAIChat,
			body:     `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"How do I reset my password?"}]}`,
			wantText: "How do I reset my password?",
			wantRest: `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"\u0000tollgate.semantic.message"}]}`,
		},
		"OpenAI chat, text parts": {
			shape:    provider.ShapeOpenAIChat,
			body:     `{"messages":[{"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":"there"}]}]}`,
			wantText: "Hello\nthere",
		},
		"OpenAI chat, an image part": {
			shape: provider.ShapeOpenAIChat,
			body:  `{"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://x"}}]}]}`,
		},
		"OpenAI chat ending with a tool result": {
			shape: provider.ShapeOpenAIChat,
			body:  `{"messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"t","content":"42"}]}`,
		},
		"OpenAI chat ending with the assistant": {
			shape: provider.ShapeOpenAIChat,
			body:  `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello"}]}`,
		},
		"an empty message": {
			shape: provider.ShapeOpenAIChat,
			body:  `{"messages":[{"role":"user","content":"  "}]}`,
		},
		"no messages": {
			shape: provider.ShapeOpenAIChat,
			body:  `{"messages":[]}`,
		},
		"messages that are not a list": {
			shape: provider.ShapeOpenAIChat,
			body:  `{"messages":"hi"}`,
		},
		"Anthropic, text blocks with cache_control": {
			shape:    provider.ShapeAnthropicMessages,
			body:     `{"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"Summarise this","cache_control":{"type":"ephemeral"}}]}]}`,
			wantText: "Summarise this",
			wantRest: `{"system":"s","messages":[{"role":"user","content":"\u0000tollgate.semantic.message"}]}`,
		},
		"Anthropic, a tool result": {
			shape: provider.ShapeAnthropicMessages,
			body:  `{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"42"}]}]}`,
		},
		"Gemini, text parts, no role": {
			shape:    provider.ShapeGeminiGenerate,
			body:     `{"contents":[{"parts":[{"text":"Why is the sky blue?"}]}]}`,
			wantText: "Why is the sky blue?",
			wantRest: `{"contents":[{"parts":"\u0000tollgate.semantic.message"}]}`,
		},
		"Gemini, the model's turn last": {
			shape: provider.ShapeGeminiGenerate,
			body:  `{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"hello"}]}]}`,
		},
		"Gemini, inline data": {
			shape: provider.ShapeGeminiGenerate,
			body:  `{"contents":[{"role":"user","parts":[{"text":"what is this"},{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`,
		},
		"Responses, a string input": {
			shape:    provider.ShapeOpenAIResponses,
			body:     `{"model":"m","input":"Tell me a joke"}`,
			wantText: "Tell me a joke",
			wantRest: `{"model":"m","input":"\u0000tollgate.semantic.message"}`,
		},
		"Responses, a list ending with the user's message": {
			shape:    provider.ShapeOpenAIResponses,
			body:     `{"input":[{"role":"developer","content":"d"},{"type":"message","role":"user","content":[{"type":"input_text","text":"Tell me a joke"}]}]}`,
			wantText: "Tell me a joke",
		},
		"Responses, a function call output last": {
			shape: provider.ShapeOpenAIResponses,
			body:  `{"input":[{"role":"user","content":"hi"},{"type":"function_call_output","call_id":"c","output":"42"}]}`,
		},
		"embeddings": {
			shape: provider.ShapeOpenAIEmbeddings,
			body:  `{"input":"hi"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rest, text, err := Split(tc.shape, []byte(tc.body))
			if tc.wantText == "" {
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrNotEligible), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantText, text)
			if tc.wantRest != "" {
				assert.JSONEq(t, tc.wantRest, string(rest))
			}
		})
	}
}

func TestSplit_TheRestIsTheSameForEveryWording(t *testing.T) {
	a, _, err := Split(provider.ShapeOpenAIChat, []byte(`{"model":"m","messages":[{"role":"user","content":"How do I reset my password?"}]}`))
	require.NoError(t, err)
	b, _, err := Split(provider.ShapeOpenAIChat, []byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"password reset?"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))
}

func TestSplit_ALongMessageIsLeftToTheExactCache(t *testing.T) {
	long := make([]byte, MaxTextBytes+1)
	for i := range long {
		long[i] = 'a'
	}
	_, _, err := Split(provider.ShapeOpenAIChat, []byte(`{"messages":[{"role":"user","content":"`+string(long)+`"}]}`))
	assert.ErrorIs(t, err, ErrNotEligible)
}
