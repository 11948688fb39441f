package semantic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/wire"
)

// MaxTextBytes bounds the last user message the semantic cache embeds:
// longer ones are left to the exact cache, rather than sent to an
// embedding model that may refuse them (OpenAI's take 8191 tokens).
const MaxTextBytes = 16 << 10

// ErrNotEligible is wrapped by Split's errors: the request is not one
// the semantic cache compares.
var ErrNotEligible = errors.New("not eligible for the semantic cache")

// placeholder stands for the last user message's text in a partition
// body. Any fixed value works: partition bodies are only compared with
// each other.
var placeholder = []byte(`"\u0000tollgate.semantic.message"`)

// Split returns the partition body of a request of shape (its body with
// the content of its last user message replaced by a placeholder) and the
// text of that message. The request must end with a user message whose
// content is text only: a string, or parts that are all text. Otherwise,
// or when the text is empty or longer than MaxTextBytes, Split returns an
// error wrapping ErrNotEligible.
func Split(shape provider.Shape, body []byte) (partition []byte, text string, err error) {
	var start, end int
	switch shape {
	case provider.ShapeOpenAIChat, provider.ShapeAnthropicMessages:
		start, end, text, err = lastMessage(body, "messages", "content", "role", isText)
	case provider.ShapeGeminiGenerate:
		start, end, text, err = lastMessage(body, "contents", "parts", "role", isGeminiText)
	case provider.ShapeOpenAIResponses:
		start, end, text, err = responsesInput(body)
	default:
		err = fmt.Errorf("%w: %s requests have no user message", ErrNotEligible, shape)
	}
	if err != nil {
		return nil, "", err
	}
	switch {
	case strings.TrimSpace(text) == "":
		return nil, "", fmt.Errorf("%w: the last user message has no text", ErrNotEligible)
	case len(text) > MaxTextBytes:
		return nil, "", fmt.Errorf("%w: the last user message is over %d bytes", ErrNotEligible, MaxTextBytes)
	}
	return wire.Splice(body, start, end, placeholder), text, nil
}

// lastMessage finds the last element of the array member list of body,
// which must be a user message (role "user"; for Gemini an absent role
// too), and returns the span of its content member and the text it
// holds.
func lastMessage(body []byte, list, content, role string, partText func([]byte) (string, bool)) (start, end int, text string, err error) {
	f, found, err := wire.FindField(body, list)
	if err != nil || !found {
		return 0, 0, "", fmt.Errorf("%w: no %s", ErrNotEligible, list)
	}
	elems, err := elements(body, f.ValueStart)
	if err != nil || len(elems) == 0 {
		return 0, 0, "", fmt.Errorf("%w: %s is not a list of messages", ErrNotEligible, list)
	}
	last := elems[len(elems)-1]
	msg := body[last[0]:last[1]]
	r, hasRole := wire.TopLevelValue(msg, role)
	isUser := (hasRole && string(r) == `"user"`) || (!hasRole && list == "contents")
	if !isUser {
		return 0, 0, "", fmt.Errorf("%w: the last message is not the user's", ErrNotEligible)
	}
	cf, found, err := wire.FindField(msg, content)
	if err != nil || !found {
		return 0, 0, "", fmt.Errorf("%w: the last user message has no %s", ErrNotEligible, content)
	}
	text, ok := contentText(msg[cf.ValueStart:cf.ValueEnd], partText)
	if !ok {
		return 0, 0, "", fmt.Errorf("%w: the last user message is not text only", ErrNotEligible)
	}
	return last[0] + cf.ValueStart, last[0] + cf.ValueEnd, text, nil
}

// responsesInput finds the last user message of a Responses API request:
// its input when that is a string, or the last item of its input list.
func responsesInput(body []byte) (start, end int, text string, err error) {
	f, found, err := wire.FindField(body, "input")
	if err != nil || !found {
		return 0, 0, "", fmt.Errorf("%w: no input", ErrNotEligible)
	}
	v := body[f.ValueStart:f.ValueEnd]
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0, 0, "", fmt.Errorf("%w: the input is not a string", ErrNotEligible)
		}
		return f.ValueStart, f.ValueEnd, s, nil
	}
	elems, err := elements(body, f.ValueStart)
	if err != nil || len(elems) == 0 {
		return 0, 0, "", fmt.Errorf("%w: the input is not a list of messages", ErrNotEligible)
	}
	last := elems[len(elems)-1]
	item := body[last[0]:last[1]]
	if t, ok := wire.TopLevelValue(item, "type"); ok && string(t) != `"message"` {
		return 0, 0, "", fmt.Errorf("%w: the last input item is not a message", ErrNotEligible)
	}
	if r, ok := wire.TopLevelValue(item, "role"); !ok || string(r) != `"user"` {
		return 0, 0, "", fmt.Errorf("%w: the last input item is not the user's", ErrNotEligible)
	}
	cf, found, err := wire.FindField(item, "content")
	if err != nil || !found {
		return 0, 0, "", fmt.Errorf("%w: the last user message has no content", ErrNotEligible)
	}
	text, ok := contentText(item[cf.ValueStart:cf.ValueEnd], isText)
	if !ok {
		return 0, 0, "", fmt.Errorf("%w: the last user message is not text only", ErrNotEligible)
	}
	return last[0] + cf.ValueStart, last[0] + cf.ValueEnd, text, nil
}

// contentText is the text of a message's content: a string, or a list of
// parts that partText reads as text, joined by newlines. ok is false when
// a part is not text.
func contentText(v []byte, partText func([]byte) (string, bool)) (string, bool) {
	if len(v) > 0 && v[0] == '"' {
		var s string
		return s, json.Unmarshal(v, &s) == nil
	}
	parts, err := elements(v, 0)
	if err != nil || len(parts) == 0 {
		return "", false
	}
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		t, ok := partText(v[p[0]:p[1]])
		if !ok {
			return "", false
		}
		texts = append(texts, t)
	}
	return strings.Join(texts, "\n"), true
}

// isText reads an OpenAI or Anthropic content part: {"type": "text" (or
// the Responses API's "input_text"), "text": "..."}. Anthropic's
// cache_control and other members of a text part do not change its text.
func isText(part []byte) (string, bool) {
	t, ok := wire.TopLevelValue(part, "type")
	if !ok || (string(t) != `"text"` && string(t) != `"input_text"`) {
		return "", false
	}
	return stringMember(part, "text")
}

// isGeminiText reads a Gemini part that holds text only: {"text": "..."}.
func isGeminiText(part []byte) (string, bool) {
	n := 0
	if wire.EachField(part, func([]byte, wire.Field) { n++ }) != nil || n != 1 {
		return "", false // inlineData, functionResponse, or text with more
	}
	return stringMember(part, "text")
}

func stringMember(obj []byte, key string) (string, bool) {
	v, ok := wire.TopLevelValue(obj, key)
	if !ok || len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// elements returns the spans of the elements of the JSON array that
// starts at b[i] (after whitespace).
func elements(b []byte, i int) ([][2]int, error) {
	i = wire.SkipSpace(b, i)
	if i >= len(b) || b[i] != '[' {
		return nil, wire.ErrMalformed
	}
	var out [][2]int
	i = wire.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, nil
	}
	for i < len(b) {
		end, err := wire.SkipValue(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, [2]int{i, end})
		i = wire.SkipSpace(b, end)
		if i >= len(b) {
			return nil, wire.ErrMalformed
		}
		switch b[i] {
		case ']':
			return out, nil
		case ',':
			i = wire.SkipSpace(b, i+1)
		default:
			return nil, wire.ErrMalformed
		}
	}
	return nil, wire.ErrMalformed
}
