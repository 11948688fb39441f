package semantic

import (
	"testing"

	"tollgate.dev/tollgate/pkg/provider"
)

// FuzzSplit feeds arbitrary bodies and messages to what reads the app's
// input: Split must never panic, and a split body keeps its text out.
func FuzzSplit(f *testing.F) {
	for _, seed := range []string{
		`{"messages":[{"role":"user","content":"hi"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		`{"contents":[{"parts":[{"text":"x"}]}]}`,
		`{"input":[{"role":"user","content":"y"}]}`,
		`{"input":"z"}`,
		`{"messages":[{"role":"user","content":"\ud800"}]}`,
		`[`, `{"messages":[`, `{"messages":[{"role":"user","content":[{"type":"text"}]}]}`,
	} {
		f.Add([]byte(seed), "turn on the 3 lights")
	}
	shapes := []provider.Shape{provider.ShapeOpenAIChat, provider.ShapeAnthropicMessages, provider.ShapeGeminiGenerate, provider.ShapeOpenAIResponses}
	f.Fuzz(func(t *testing.T, body []byte, other string) {
		for _, shape := range shapes {
			rest, text, err := Split(shape, body)
			if err != nil {
				continue
			}
			if text == "" || len(rest) == 0 {
				t.Fatalf("%s: split %q into %q and %q", shape, body, rest, text)
			}
			_ = Guard(text, other)
		}
		_ = CallsTools(body, false)
		_ = CallsTools(body, true)
		_, _ = ParseEmbedding(body)
	})
}
