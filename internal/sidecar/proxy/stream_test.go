package proxy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/wire"
)

func TestProxy_StreamChunksCarryNoUsageMemberTheAppDidNotAskFor(t *testing.T) {
	tests := map[string]struct {
		body      string
		wantNulls bool
	}{
		"an app that did not ask for usage gets chunks without usage null": {
			body: chatStream,
		},
		"an app that asked for usage gets the chunks as the provider sent them": {
			body:      `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			wantNulls: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "")
			h.mock.Enqueue(mockprovider.Step{Content: "one two three", Usage: &mockprovider.Usage{InputTokens: 30, OutputTokens: 9}})
			body := readAll(t, h.post("/openai/v1/chat/completions", tc.body))
			events := sseEvents(body)
			assert.Equal(t, "[DONE]", events[len(events)-1])
			content := 0
			for _, data := range events[:len(events)-1] {
				if strings.Contains(data, `"usage":{`) {
					assert.True(t, tc.wantNulls, "only an app that asked gets the usage chunk")
					continue
				}
				if strings.Contains(data, `"content"`) {
					content++
				}
				assert.Equal(t, tc.wantNulls, strings.Contains(data, `"usage":null`), data)
			}
			assert.Positive(t, content)
			assert.Contains(t, h.mock.Requests()[0].Body, `"include_usage":true`)
			assert.Equal(t, int64(30), h.lastReport().Usage.InputTokens)
		})
	}
}

func TestProxy_ALargeEventReachesTheAppWhole(t *testing.T) {
	h := newHarness(t, "")
	big := strings.Repeat("tollgate ", (96<<10)/len("tollgate ")) // 96 KiB in one delta: larger than any buffer on the way
	h.mock.Enqueue(mockprovider.Step{Content: big, Chunks: 1, Usage: &mockprovider.Usage{InputTokens: 30, OutputTokens: 9}})
	resp := h.post("/openai/v1/chat/completions", chatStream)
	assert.True(t, wire.IsEventStream(resp.Header.Get("Content-Type")), resp.Header.Get("Content-Type"))
	events := sseEvents(readAll(t, resp))
	assert.Equal(t, "[DONE]", events[len(events)-1])
	var content strings.Builder
	for _, data := range events[:len(events)-1] {
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if assert.NoError(t, json.Unmarshal([]byte(data), &chunk), data) {
			for _, c := range chunk.Choices {
				content.WriteString(c.Delta.Content)
			}
		}
	}
	assert.Equal(t, strings.TrimSpace(big), strings.TrimSpace(content.String()), "the one large delta, whole")
	assert.Equal(t, int64(9), h.lastReport().Usage.OutputTokens)
}
