package semantic

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The real answers recorded under pkg/provider/testdata/captures.
func TestCallsTools_RealAnswers(t *testing.T) {
	tests := map[string]struct {
		stream bool
		want   bool
	}{
		"openai-chat-tools":                                {false, true},
		"openai-chat-gpt41-sync-tools":                     {false, true},
		"openai-chat-gpt41-stream-tools":                   {true, true},
		"anthropic-haiku45-stream-tools":                   {true, true},
		"anthropic-haiku35-stream-tools-delta-output-only": {true, true},
		"gemini-flashlite-stream-tools":                    {true, true},
		"compat-deepseek-stream-tools-cached":              {true, true},
		"anthropic-haiku45-stream-websearch":               {true, true},
		"openai-responses-o4mini-websearch-cached":         {false, true},
		"openai-chat-basic":                                {false, false},
		"openai-chat-stream-include-usage":                 {true, false},
		"anthropic-haiku45-sync":                           {false, false},
		"anthropic-haiku45-stream":                         {true, false},
		"gemini-flashlite-sync":                            {false, false},
		"openai-responses-gpt41-sync":                      {false, false},
		"compat-mistral-stream":                            {true, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("..", "provider", "testdata", "captures", name+".body"))
			require.NoError(t, err)
			assert.Equal(t, tc.want, CallsTools(body, tc.stream))
		})
	}
}

func TestCallsTools_Shapes(t *testing.T) {
	tests := map[string]struct {
		body   string
		stream bool
		want   bool
	}{
		"empty tool_calls are none":  {body: `{"choices":[{"message":{"content":"hi","tool_calls":[]},"finish_reason":"stop"}]}`},
		"null function_call is none": {body: `{"choices":[{"message":{"content":"hi","function_call":null}}]}`},
		"a legacy function_call":     {body: `{"choices":[{"message":{"function_call":{"name":"f","arguments":"{}"}}}]}`, want: true},
		"a Gemini functionCall":      {body: `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]}}]}`, want: true},
		"text that mentions tools":   {body: `{"choices":[{"message":{"content":"I used the tool_calls API and a function_call"}}]}`},
		"a stream with a tool delta": {body: "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\ndata: [DONE]\n\n", stream: true, want: true},
		"a body that is not JSON":    {body: `{"tool`, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, CallsTools([]byte(tc.body), tc.stream))
		})
	}
}
