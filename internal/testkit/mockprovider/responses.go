package mockprovider

import (
	"encoding/json"
	"iter"
)

// OpenAI Responses: https://platform.openai.com/docs/api-reference/responses

type response struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	CreatedAt         int64           `json:"created_at"`
	Status            string          `json:"status"`
	Error             json.RawMessage `json:"error"`
	IncompleteDetails json.RawMessage `json:"incomplete_details"`
	Model             string          `json:"model"`
	Output            []responseItem  `json:"output"`
	ParallelToolCalls bool            `json:"parallel_tool_calls"`
	ToolChoice        string          `json:"tool_choice"`
	Tools             []struct{}      `json:"tools"`
	Usage             *responseUsage  `json:"usage"` // null until completed
}

type responseItem struct {
	Type    string         `json:"type"`
	ID      string         `json:"id"`
	Status  string         `json:"status"`
	Role    string         `json:"role"`
	Content []responsePart `json:"content"`
}

type responsePart struct {
	Type        string     `json:"type"`
	Text        string     `json:"text"`
	Annotations []struct{} `json:"annotations"`
}

type responseUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

// responseEvent is any Responses stream event; each type sets its own
// fields and leaves the others out.
type responseEvent struct {
	Type           string        `json:"type"`
	SequenceNumber int           `json:"sequence_number"`
	Response       *response     `json:"response,omitempty"`
	OutputIndex    *int          `json:"output_index,omitempty"`
	ItemID         string        `json:"item_id,omitempty"`
	ContentIndex   *int          `json:"content_index,omitempty"`
	Item           *responseItem `json:"item,omitempty"`
	Part           *responsePart `json:"part,omitempty"`
	Delta          *string       `json:"delta,omitempty"`
	Text           *string       `json:"text,omitempty"`
	Logprobs       any           `json:"logprobs,omitempty"` // [] on text events
}

func responseUsageOf(u Usage) *responseUsage {
	ru := &responseUsage{
		InputTokens:  u.InputTokens,
		OutputTokens: u.OutputTokens,
		TotalTokens:  u.InputTokens + u.OutputTokens,
	}
	ru.InputTokensDetails.CachedTokens = u.CachedInputTokens
	return ru
}

// completedResponse is the finished response to c.
func completedResponse(c *call) *response {
	return &response{
		ID:         id("resp_mock", c.seq),
		Object:     "response",
		CreatedAt:  c.created,
		Status:     "completed",
		Model:      c.model,
		ToolChoice: "auto",
		Tools:      emptyList,
		Output: []responseItem{{
			Type:    "message",
			ID:      id("msg_mock", c.seq),
			Status:  "completed",
			Role:    "assistant",
			Content: []responsePart{{Type: "output_text", Text: c.st.text, Annotations: emptyList}},
		}},
		ParallelToolCalls: true,
		Usage:             responseUsageOf(c.st.usage),
	}
}

func responsesAnswer(c *call, e *encoder) reply {
	if c.stream {
		return reply{contentType: contentSSE, events: responsesStream(c, e)}
	}
	return reply{contentType: contentJSON, body: e.json(completedResponse(c))}
}

// responsesStream yields what the real API sends for a text answer:
// response.created, response.in_progress, response.output_item.added,
// response.content_part.added, one response.output_text.delta per delta,
// response.output_text.done, response.content_part.done,
// response.output_item.done and response.completed (with usage).
func responsesStream(c *call, e *encoder) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		done := completedResponse(c)
		item := done.Output[0]
		text := done.Output[0].Content[0]

		pending := *done
		pending.Status, pending.Output, pending.Usage = "in_progress", []responseItem{}, nil
		openItem := item
		openItem.Status, openItem.Content = "in_progress", []responsePart{}
		emptyPart := text
		emptyPart.Text = ""

		zero := 0
		seq := 0
		emit := func(ev responseEvent) bool {
			ev.SequenceNumber = seq
			seq++
			return yield(e.event(ev.Type, &ev))
		}
		inItem := func(typ string) responseEvent {
			return responseEvent{Type: typ, ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero}
		}

		if !emit(responseEvent{Type: "response.created", Response: &pending}) ||
			!emit(responseEvent{Type: "response.in_progress", Response: &pending}) ||
			!emit(responseEvent{Type: "response.output_item.added", OutputIndex: &zero, Item: &openItem}) {
			return
		}
		added := inItem("response.content_part.added")
		added.Part = &emptyPart
		if !emit(added) {
			return
		}
		for i := range c.st.deltas {
			delta := inItem("response.output_text.delta")
			delta.Delta, delta.Logprobs = &c.st.deltas[i], emptyList
			if !emit(delta) {
				return
			}
		}
		textDone := inItem("response.output_text.done")
		textDone.Text, textDone.Logprobs = &text.Text, emptyList
		partDone := inItem("response.content_part.done")
		partDone.Part = &text
		if !emit(textDone) || !emit(partDone) ||
			!emit(responseEvent{Type: "response.output_item.done", OutputIndex: &zero, Item: &item}) {
			return
		}
		emit(responseEvent{Type: "response.completed", Response: done})
	}
}
