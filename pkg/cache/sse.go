package cache

import (
	"bytes"
	"encoding/json"
)

// nextEvent returns the end of the server-sent event that starts at
// start: just past the blank line that ends it. Lines end in "\n", "\r\n"
// or "\r". A blank line at the start of an event is an event of its own
// (a stray line end), so every byte belongs to exactly one event. When no
// blank line follows, the event runs to the end of b and terminated is
// false.
func nextEvent(b []byte, start int) (end int, terminated bool) {
	i := start
	for i < len(b) {
		j := bytes.IndexAny(b[i:], "\r\n")
		if j < 0 {
			return len(b), false
		}
		next := i + j + 1
		if b[i+j] == '\r' && next < len(b) && b[next] == '\n' {
			next++
		}
		if j == 0 { // a blank line
			return next, true
		}
		i = next
	}
	return len(b), false
}

// errorEventNames are the SSE event names of errors reported in the middle
// of a stream that began with 200: Anthropic's and the Responses API's
// "error", the Responses API's "response.failed".
var errorEventNames = map[string]bool{"error": true, "response.failed": true}

// checkStream returns ErrIncomplete for a stream that is empty or does not
// end with a complete event, and ErrErrorAnswer for a stream that reports an error:
// an event named in errorEventNames, or data that is a JSON object with a
// non-null top-level error member (OpenAI chat and Gemini streams) or a
// type in errorEventNames.
func checkStream(body []byte) error {
	if len(body) == 0 {
		return errIncompleteStream // a provider's stream has at least one event
	}
	for start := 0; start < len(body); {
		end, terminated := nextEvent(body, start)
		if !terminated {
			return errIncompleteStream
		}
		if eventReportsError(body[start:end]) {
			return errErrorEvent
		}
		start = end
	}
	return nil
}

// eventReportsError reports whether one raw event says the answer failed.
func eventReportsError(ev []byte) bool {
	var data []byte
	for len(ev) > 0 {
		line := ev
		if i := bytes.IndexAny(ev, "\r\n"); i >= 0 {
			line, ev = ev[:i], ev[i+1:]
		} else {
			ev = nil
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			if errorEventNames[string(value)] {
				return true
			}
		case "data":
			data = append(append(data, value...), '\n')
		}
	}
	return dataReportsError(data)
}

// dataReportsError reports whether a JSON answer or event data is an
// object with a non-null top-level error member or an error type.
func dataReportsError(data []byte) bool {
	if !bytes.Contains(data, []byte(`"error"`)) && !bytes.Contains(data, []byte(`response.failed`)) {
		return false // the common case, without decoding
	}
	var top struct {
		Error json.RawMessage `json:"error"`
		Type  string          `json:"type"`
	}
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	return (len(top.Error) > 0 && string(top.Error) != "null") || errorEventNames[top.Type]
}
