package mockprovider

import (
	"encoding/json"
	"iter"
)

// Anthropic messages: https://docs.anthropic.com/en/api/messages and
// https://docs.anthropic.com/en/docs/build-with-claude/streaming

type anthropicMessage struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Model        string           `json:"model"`
	Content      []anthropicBlock `json:"content"`
	StopReason   *string          `json:"stop_reason"`
	StopSequence json.RawMessage  `json:"stop_sequence"`
	Usage        anthropicUsage   `json:"usage"`
}

type anthropicBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicUsage struct {
	InputTokens              int64  `json:"input_tokens"`
	CacheCreationInputTokens int64  `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64  `json:"cache_read_input_tokens"`
	OutputTokens             int64  `json:"output_tokens"`
	ServiceTier              string `json:"service_tier"`
}

// anthropicEvent is any Anthropic stream event; each type sets its own
// fields and leaves the others out.
type anthropicEvent struct {
	Type         string            `json:"type"`
	Message      *anthropicMessage `json:"message,omitempty"`
	Index        *int              `json:"index,omitempty"`
	ContentBlock *anthropicBlock   `json:"content_block,omitempty"`
	Delta        any               `json:"delta,omitempty"`
	Usage        *anthropicDelta   `json:"usage,omitempty"`
}

type anthropicTextDelta struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicStop struct {
	StopReason   string          `json:"stop_reason"`
	StopSequence json.RawMessage `json:"stop_sequence"`
}

// anthropicDelta is message_delta's usage: the output tokens so far.
type anthropicDelta struct {
	OutputTokens int64 `json:"output_tokens"`
}

// anthropicUsageOf splits u the way Anthropic reports it: input_tokens
// leaves out the tokens read from the cache, which have their own field.
func anthropicUsageOf(u Usage) anthropicUsage {
	return anthropicUsage{
		InputTokens:          max(u.InputTokens-u.CachedInputTokens, 0),
		CacheReadInputTokens: u.CachedInputTokens,
		OutputTokens:         u.OutputTokens,
		ServiceTier:          "standard",
	}
}

func anthropicAnswer(c *call, e *encoder) reply {
	if c.stream {
		return reply{contentType: contentSSE, events: anthropicStream(c, e)}
	}
	stop := "end_turn"
	return reply{contentType: contentJSON, body: e.json(&anthropicMessage{
		ID:         id("msg_mock", c.seq),
		Type:       "message",
		Role:       "assistant",
		Model:      c.model,
		Content:    []anthropicBlock{{Type: "text", Text: c.st.text}},
		StopReason: &stop,
		Usage:      anthropicUsageOf(c.st.usage),
	})}
}

// pingEvent is the keep-alive Anthropic sends early in every stream;
// clients must skip it.
var pingEvent = []byte("event: ping\ndata: {\"type\": \"ping\"}\n\n")

// anthropicStream yields what the real API sends for a text answer:
// message_start (with the input usage), content_block_start, ping, one
// content_block_delta per delta, content_block_stop, message_delta (with
// stop_reason and the output tokens) and message_stop.
func anthropicStream(c *call, e *encoder) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		usage := anthropicUsageOf(c.st.usage)
		usage.OutputTokens = min(usage.OutputTokens, 1) // what has been generated so far
		start := anthropicMessage{
			ID:      id("msg_mock", c.seq),
			Type:    "message",
			Role:    "assistant",
			Model:   c.model,
			Content: []anthropicBlock{},
			Usage:   usage,
		}
		zero := 0
		if !yield(e.event("message_start", &anthropicEvent{Type: "message_start", Message: &start})) ||
			!yield(e.event("content_block_start", &anthropicEvent{Type: "content_block_start", Index: &zero, ContentBlock: &anthropicBlock{Type: "text"}})) ||
			!yield(pingEvent) {
			return
		}
		delta := anthropicTextDelta{Type: "text_delta"}
		ev := anthropicEvent{Type: "content_block_delta", Index: &zero, Delta: &delta}
		for _, text := range c.st.deltas {
			delta.Text = text
			if !yield(e.event("content_block_delta", &ev)) {
				return
			}
		}
		if !yield(e.event("content_block_stop", &anthropicEvent{Type: "content_block_stop", Index: &zero})) ||
			!yield(e.event("message_delta", &anthropicEvent{
				Type:  "message_delta",
				Delta: &anthropicStop{StopReason: "end_turn"},
				Usage: &anthropicDelta{OutputTokens: c.st.usage.OutputTokens},
			})) {
			return
		}
		yield(e.event("message_stop", &anthropicEvent{Type: "message_stop"}))
	}
}
