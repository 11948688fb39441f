package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"tollgate.dev/tollgate/pkg/wire"
)

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
	events := wire.NewEventReader(bytes.NewReader(body))
	for {
		ev, err := events.Next()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil, ev.Truncated:
			return errIncompleteStream
		case errorEventNames[ev.Name] || dataReportsError(ev.Data):
			return errErrorEvent
		}
	}
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
