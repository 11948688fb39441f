package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/wire"
)

func TestResponseModel(t *testing.T) {
	tests := map[string]struct {
		shape  Shape
		doc    string
		want   string
		wantOK bool
	}{
		"OpenAI chat completion": {
			shape: ShapeOpenAIChat, doc: `{"id":"c","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[]}`,
			want: "gpt-4o-2024-08-06", wantOK: true,
		},
		"OpenAI chat chunk": {
			shape: ShapeOpenAIChat, doc: `{"id":"c","object":"chat.completion.chunk","model":"o4-mini-2025-04-16","choices":[{"delta":{"content":"Hi"}}]}`,
			want: "o4-mini-2025-04-16", wantOK: true,
		},
		"OpenAI embeddings": {
			shape: ShapeOpenAIEmbeddings, doc: `{"object":"list","data":[],"model":"text-embedding-3-small"}`,
			want: "text-embedding-3-small", wantOK: true,
		},
		"Responses API answer": {
			shape: ShapeOpenAIResponses, doc: `{"id":"resp_1","object":"response","model":"gpt-4.1-2025-04-14","output":[]}`,
			want: "gpt-4.1-2025-04-14", wantOK: true,
		},
		"Responses API response.created event": {
			shape: ShapeOpenAIResponses, doc: `{"type":"response.created","response":{"id":"resp_1","model":"gpt-4.1-2025-04-14"}}`,
			want: "gpt-4.1-2025-04-14", wantOK: true,
		},
		"Anthropic message": {
			shape: ShapeAnthropicMessages, doc: `{"id":"msg_1","type":"message","model":"claude-haiku-4-5-20251001","content":[]}`,
			want: "claude-haiku-4-5-20251001", wantOK: true,
		},
		"Anthropic message_start": {
			shape: ShapeAnthropicMessages, doc: `{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","usage":{}}}`,
			want: "claude-sonnet-4-5-20250929", wantOK: true,
		},
		"Gemini answer": {
			shape: ShapeGeminiGenerate, doc: `{"candidates":[],"modelVersion":"gemini-2.5-flash-lite","responseId":"r"}`,
			want: "gemini-2.5-flash-lite", wantOK: true,
		},
		"Gemini streamed JSON array": {
			shape: ShapeGeminiGenerate, doc: `[{"modelVersion":"gemini-2.5-pro"},{"modelVersion":"gemini-2.5-pro"}]`,
			want: "gemini-2.5-pro", wantOK: true,
		},
		"an event without a model": {
			shape: ShapeAnthropicMessages, doc: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`,
		},
		"a model named only inside the answer's text": {
			shape: ShapeOpenAIChat, doc: `{"choices":[{"delta":{"content":"\"model\":\"fake\""}}]}`,
		},
		"a model nested where the shape has none": {
			shape: ShapeOpenAIChat, doc: `{"response":{"model":"nested"}}`,
		},
		"a model that is not a string": {
			shape: ShapeOpenAIChat, doc: `{"model":{"name":"x"}}`,
		},
		"an empty model": {
			shape: ShapeOpenAIChat, doc: `{"model":""}`,
		},
		"an overlong model": {
			shape: ShapeOpenAIChat, doc: `{"model":"` + strings.Repeat("m", maxModelBytes+1) + `"}`,
		},
		"escapes are decoded": {
			shape: ShapeOpenAIChat, doc: `{"model":"llama\u002d3"}`, want: "llama-3", wantOK: true,
		},
		"not JSON": {
			shape: ShapeOpenAIChat, doc: `<html>"model"</html>`,
		},
		"other requests": {
			shape: ShapeOther, doc: `{"model":"gpt-4o"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ResponseModel(tc.shape, []byte(tc.doc))
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestResponseModel_OfRealAnswers reads the model of every real answer
// that names one, as the sidecar does: from the members a Picker keeps of
// a JSON answer, or from the first event of a stream that names it, and
// checks it against a plain decode of the whole answer.
func TestResponseModel_OfRealAnswers(t *testing.T) {
	for _, c := range loadCaptures(t) {
		t.Run(c.Name, func(t *testing.T) {
			a := adapterFor(t, captureTypes[c.Provider])
			req, err := a.ParseRequest(c.Method, c.Path, []byte(c.RequestBody))
			require.NoError(t, err)
			want := decodedModel(t, c)
			require.NotEmpty(t, want, "every capture names its model")

			if !strings.HasPrefix(c.ContentType, "text/event-stream") {
				p := wire.NewPicker(64<<10, append(UsageMembers, ModelMembers...)...)
				_, _ = p.Write(c.body)
				doc, ok := p.Document()
				require.True(t, ok)
				got, ok := ResponseModel(req.Shape, doc)
				assert.True(t, ok)
				assert.Equal(t, want, got)
				return
			}
			events := wire.NewEventReader(bytes.NewReader(c.body))
			for {
				ev, err := events.Next()
				if errors.Is(err, io.EOF) {
					require.Fail(t, "no event names the model")
					return
				}
				require.NoError(t, err)
				if got, ok := ResponseModel(req.Shape, ev.Data); ok {
					assert.Equal(t, want, got)
					return
				}
			}
		})
	}
}

// decodedModel is the model c's answer names, found by decoding all of it.
func decodedModel(t *testing.T, c capture) string {
	t.Helper()
	type named struct {
		Model        string `json:"model"`
		ModelVersion string `json:"modelVersion"`
		Response     struct {
			Model string `json:"model"`
		} `json:"response"`
		Message struct {
			Model string `json:"model"`
		} `json:"message"`
	}
	pick := func(n named) string {
		for _, m := range []string{n.Model, n.ModelVersion, n.Response.Model, n.Message.Model} {
			if m != "" {
				return m
			}
		}
		return ""
	}
	if !strings.HasPrefix(c.ContentType, "text/event-stream") {
		var n named
		require.NoError(t, json.Unmarshal(c.body, &n))
		return pick(n)
	}
	for _, line := range strings.Split(string(c.body), "\n") {
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data:")
		var n named
		if ok && json.Unmarshal([]byte(strings.TrimSpace(data)), &n) == nil && pick(n) != "" {
			return pick(n)
		}
	}
	return ""
}
