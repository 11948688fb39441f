package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"

	"tollgate.dev/tollgate/pkg/wire"
)

// Why an answer is passed on without being judged (Answer.Unjudged).
const (
	// UnjudgedRefusal: the model declined (OpenAI's refusal, Anthropic's
	// stop_reason refusal); the refusal is the answer, in its own member.
	UnjudgedRefusal = "refusal"
	// UnjudgedToolCall: the model called a tool instead of answering; the
	// format applies to its final answer, not to a tool call.
	UnjudgedToolCall = "tool_call"
)

// Answer is what an answer gives where its request asked for structured
// output: one text per choice (OpenAI's n) or candidate (Gemini's
// candidateCount), each the whole assistant text of that choice.
type Answer struct {
	Texts [][]byte
	// Unjudged, when set, says why the answer is not to be judged
	// (UnjudgedRefusal, UnjudgedToolCall): every choice refused or called
	// a tool.
	Unjudged string
	// Truncated is set when a choice stopped at its output limit
	// (finish_reason length, stop_reason max_tokens, MAX_TOKENS,
	// incomplete): its text is likely cut short.
	Truncated bool
}

// ErrNoAnswer is returned for an answer that is not the JSON (or the
// stream) its shape promises: there is no text to judge.
var ErrNoAnswer = errors.New("the answer is not the JSON its API promises")

// AnswerOf reads the assistant texts of a complete, non-streamed JSON
// answer to req.
func AnswerOf(req Request, body []byte) (Answer, error) {
	if !json.Valid(body) {
		return Answer{}, ErrNoAnswer
	}
	var a answerBuilder
	switch req.Shape {
	case ShapeOpenAIChat:
		var v chatAnswerJSON
		if json.Unmarshal(body, &v) != nil {
			return Answer{}, ErrNoAnswer
		}
		for _, c := range v.Choices {
			a.add(c.Index, c.Message.Content, c.Message.Refusal, len(c.Message.ToolCalls) > 0, c.FinishReason == "length")
		}
	case ShapeOpenAIResponses:
		if err := a.responses(body); err != nil {
			return Answer{}, err
		}
	case ShapeAnthropicMessages:
		var v anthropicMessageJSON
		if json.Unmarshal(body, &v) != nil {
			return Answer{}, ErrNoAnswer
		}
		var text bytes.Buffer
		tool := false
		for _, b := range v.Content {
			switch b.Type {
			case "text":
				text.WriteString(b.Text)
			case "tool_use", "server_tool_use":
				tool = true
			}
		}
		a.append(0, text.String(), refusalIf(v.StopReason == "refusal"), tool || v.StopReason == "tool_use", v.StopReason == "max_tokens")
	case ShapeGeminiGenerate:
		// A streamGenerateContent answer without alt=sse is a JSON array
		// of responses, which a stream's events would have carried.
		i := wire.SkipSpace(body, 0)
		if i < len(body) && body[i] == '[' {
			var all []json.RawMessage
			if json.Unmarshal(body, &all) != nil {
				return Answer{}, ErrNoAnswer
			}
			for _, r := range all {
				if err := a.gemini(r); err != nil {
					return Answer{}, err
				}
			}
		} else if err := a.gemini(body); err != nil {
			return Answer{}, err
		}
	default:
		return Answer{}, nil
	}
	return a.answer(), nil
}

// StreamAnswerOf reads the assistant texts of a complete SSE stream to
// req, from its bytes as received.
func StreamAnswerOf(req Request, stream []byte) (Answer, error) {
	events := wire.NewEventReader(bytes.NewReader(stream))
	var a answerBuilder
	completed := false // Responses API: response.completed seen
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Answer{}, ErrNoAnswer
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 || string(data) == "[DONE]" {
			continue
		}
		if !json.Valid(data) {
			return Answer{}, ErrNoAnswer
		}
		switch req.Shape {
		case ShapeOpenAIChat:
			var v chatChunkJSON
			if json.Unmarshal(data, &v) != nil {
				return Answer{}, ErrNoAnswer
			}
			for _, c := range v.Choices {
				a.append(c.Index, c.Delta.Content, c.Delta.Refusal, len(c.Delta.ToolCalls) > 0, c.FinishReason == "length")
			}
		case ShapeAnthropicMessages:
			var v anthropicEventJSON
			if json.Unmarshal(data, &v) != nil {
				return Answer{}, ErrNoAnswer
			}
			switch v.Type {
			case "content_block_start":
				switch v.ContentBlock.Type {
				case "text":
					a.append(0, v.ContentBlock.Text, "", false, false)
				case "tool_use", "server_tool_use":
					a.append(0, "", "", true, false)
				}
			case "content_block_delta":
				if v.Delta.Type == "text_delta" {
					a.append(0, v.Delta.Text, "", false, false)
				}
			case "message_delta":
				a.append(0, "", refusalIf(v.Delta.StopReason == "refusal"), v.Delta.StopReason == "tool_use", v.Delta.StopReason == "max_tokens")
			}
		case ShapeOpenAIResponses:
			// The terminal event repeats the whole response.
			if ev.Name != "response.completed" && ev.Name != "response.incomplete" {
				continue
			}
			var v struct {
				Response json.RawMessage `json:"response"`
			}
			if json.Unmarshal(data, &v) != nil || len(v.Response) == 0 {
				return Answer{}, ErrNoAnswer
			}
			if err := a.responses(v.Response); err != nil {
				return Answer{}, err
			}
			completed = true
		case ShapeGeminiGenerate:
			if err := a.gemini(data); err != nil {
				return Answer{}, err
			}
		default:
			return Answer{}, nil
		}
	}
	if req.Shape == ShapeOpenAIResponses && !completed {
		return Answer{}, ErrNoAnswer
	}
	return a.answer(), nil
}

// choiceText is one choice as it builds up.
type choiceText struct {
	text                 bytes.Buffer
	refused, tool, trunc bool
}

// answerBuilder gathers the choices of an answer, by index.
type answerBuilder struct {
	choices map[int]*choiceText
}

func (a *answerBuilder) choice(i int) *choiceText {
	if a.choices == nil {
		a.choices = map[int]*choiceText{}
	}
	c := a.choices[i]
	if c == nil {
		c = &choiceText{}
		a.choices[i] = c
	}
	return c
}

// add records a whole choice; append adds to one as a stream delivers it.
func (a *answerBuilder) add(i int, text *string, refusal *string, tool, truncated bool) {
	s := ""
	if text != nil {
		s = *text
	}
	r := ""
	if refusal != nil {
		r = *refusal
	}
	a.append(i, s, r, tool, truncated)
}

func (a *answerBuilder) append(i int, text, refusal string, tool, truncated bool) {
	c := a.choice(i)
	c.text.WriteString(text)
	c.refused = c.refused || refusal != ""
	c.tool = c.tool || tool
	c.trunc = c.trunc || truncated
}

// answer is what the choices give: the texts of those that answered, or,
// when every choice refused or called a tool (and wrote nothing), why the
// answer is not judged.
func (a *answerBuilder) answer() Answer {
	var out Answer
	indexes := make([]int, 0, len(a.choices))
	for i := range a.choices {
		indexes = append(indexes, i)
	}
	sort.Ints(indexes)
	unjudged := ""
	for _, i := range indexes {
		c := a.choices[i]
		if c.text.Len() == 0 && (c.refused || c.tool) {
			if c.refused {
				unjudged = UnjudgedRefusal
			} else if unjudged == "" {
				unjudged = UnjudgedToolCall
			}
			continue
		}
		out.Texts = append(out.Texts, c.text.Bytes())
		out.Truncated = out.Truncated || c.trunc
	}
	if len(out.Texts) == 0 && unjudged != "" {
		out.Unjudged = unjudged
	} else if len(out.Texts) == 0 {
		// No choice at all (a content filter, an empty answer): judged
		// as an empty text, which is no JSON.
		out.Texts = [][]byte{nil}
	}
	return out
}

// responses reads a Responses API response object's message texts.
func (a *answerBuilder) responses(body []byte) error {
	var v struct {
		Status string `json:"status"`
		Output []struct {
			Type    string `json:"type"`
			Content []struct {
				Type    string `json:"type"`
				Text    string `json:"text"`
				Refusal string `json:"refusal"`
			} `json:"content"`
		} `json:"output"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ErrNoAnswer
	}
	truncated := v.Status == "incomplete"
	for _, item := range v.Output {
		switch item.Type {
		case "message":
			for _, part := range item.Content {
				switch part.Type {
				case "output_text":
					a.append(0, part.Text, "", false, truncated)
				case "refusal":
					a.append(0, "", part.Refusal, false, truncated)
				}
			}
		case "function_call", "custom_tool_call", "mcp_call":
			a.append(0, "", "", true, false)
		}
	}
	a.choice(0).trunc = a.choice(0).trunc || truncated
	return nil
}

// gemini reads one GenerateContentResponse: each candidate's text parts,
// thoughts left out.
func (a *answerBuilder) gemini(body []byte) error {
	var v struct {
		Candidates []struct {
			Index   int `json:"index"`
			Content struct {
				Parts []struct {
					Text         *string         `json:"text"`
					Thought      bool            `json:"thought"`
					FunctionCall json.RawMessage `json:"functionCall"`
				} `json:"parts"`
			} `json:"content"`
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ErrNoAnswer
	}
	for _, c := range v.Candidates {
		for _, p := range c.Content.Parts {
			switch {
			case len(p.FunctionCall) > 0:
				a.append(c.Index, "", "", true, false)
			case p.Text != nil && !p.Thought:
				a.append(c.Index, *p.Text, "", false, false)
			}
		}
		a.append(c.Index, "", "", false, c.FinishReason == "MAX_TOKENS")
	}
	return nil
}

func refusalIf(refused bool) string {
	if refused {
		return "refused"
	}
	return ""
}

// chatAnswerJSON is what AnswerOf reads of a chat completion.
type chatAnswerJSON struct {
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content   *string           `json:"content"`
			Refusal   *string           `json:"refusal"`
			ToolCalls []json.RawMessage `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// chatChunkJSON is what StreamAnswerOf reads of a chat completion chunk.
type chatChunkJSON struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content   string            `json:"content"`
			Refusal   string            `json:"refusal"`
			ToolCalls []json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// anthropicMessageJSON is what AnswerOf reads of an Anthropic message.
type anthropicMessageJSON struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
}

// anthropicEventJSON is what StreamAnswerOf reads of an Anthropic stream
// event.
type anthropicEventJSON struct {
	Type         string `json:"type"`
	ContentBlock struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content_block"`
	Delta struct {
		Type       string `json:"type"`
		Text       string `json:"text"`
		StopReason string `json:"stop_reason"`
	} `json:"delta"`
}
