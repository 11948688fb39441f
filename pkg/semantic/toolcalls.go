package semantic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"tollgate.dev/tollgate/pkg/wire"
)

// CallsTools reports whether an answer calls a tool, in any provider's
// shape: OpenAI chat tool_calls or function_call (in a message or a
// stream's delta, or as the finish_reason), an Anthropic tool_use or
// server_tool_use block (or stop_reason), a Gemini functionCall part, or
// a Responses API output item of a *_call type. stream says body is an
// SSE stream, read event by event. A body it cannot read is taken to call
// one: the semantic cache then leaves it alone.
func CallsTools(body []byte, stream bool) bool {
	if !mayCallTools(body) {
		return false
	}
	if !stream {
		var v any
		if json.Unmarshal(body, &v) != nil {
			return true
		}
		return callsTools(v)
	}
	events := wire.NewEventReader(bytes.NewReader(body))
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			return true
		}
		if !mayCallTools(ev.Data) {
			continue
		}
		var v any
		if json.Unmarshal(ev.Data, &v) != nil {
			continue // [DONE] and other non-JSON data
		}
		if callsTools(v) {
			return true
		}
	}
}

// mayCallTools is a cheap pre-check: every marker CallsTools looks for
// contains one of these.
func mayCallTools(b []byte) bool {
	return bytes.Contains(b, []byte("tool")) || bytes.Contains(b, []byte("unction")) || bytes.Contains(b, []byte("_call"))
}

// callsTools walks a decoded JSON value for a tool call.
func callsTools(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "tool_calls":
				if list, ok := x.([]any); ok && len(list) > 0 {
					return true
				}
			case "function_call", "functionCall":
				if x != nil {
					return true
				}
			case "type":
				if s, ok := x.(string); ok && (s == "tool_use" || s == "server_tool_use" || strings.HasSuffix(s, "_call")) {
					return true
				}
			case "finish_reason", "stop_reason", "finishReason":
				if s, ok := x.(string); ok && (s == "tool_calls" || s == "tool_use" || s == "function_call") {
					return true
				}
			}
			if callsTools(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if callsTools(x) {
				return true
			}
		}
	}
	return false
}
