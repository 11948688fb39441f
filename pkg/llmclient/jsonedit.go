package llmclient

import (
	"encoding/json"
	"fmt"
)

// Bodies are edited by splicing bytes rather than by decoding and
// re-encoding them: every member the proxy does not touch reaches the
// provider exactly as the app wrote it, in its order, with its numbers
// (a decode through float64 would round large integers such as seeds).

// setMember returns obj with member key set to the raw JSON value: the
// value of the last occurrence of key is replaced, or the member is added
// at the end of the object.
func setMember(obj []byte, key string, value []byte) ([]byte, error) {
	f, found, err := findField(obj, key)
	if err != nil {
		return nil, err
	}
	if found {
		return splice(obj, f.valueStart, f.valueEnd, value), nil
	}
	return appendMember(obj, key, value)
}

// appendMember adds member key with the raw JSON value at the end of obj.
func appendMember(obj []byte, key string, value []byte) ([]byte, error) {
	end, err := skipValue(obj, 0)
	if err != nil {
		return nil, err
	}
	closing := end - 1 // the object's '}'
	if closing < 0 || obj[closing] != '}' {
		return nil, errMalformed
	}
	quoted, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	open := skipSpace(obj, 0)
	empty := skipSpace(obj, open+1) == closing
	member := make([]byte, 0, len(quoted)+len(value)+2)
	if !empty {
		member = append(member, ',')
	}
	member = append(member, quoted...)
	member = append(member, ':')
	member = append(member, value...)
	return splice(obj, closing, closing, member), nil
}

// splice returns a new slice holding b with b[start:end] replaced by repl.
func splice(b []byte, start, end int, repl []byte) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(repl))
	out = append(out, b[:start]...)
	out = append(out, repl...)
	return append(out, b[end:]...)
}

// withIncludeUsage returns body with stream_options.include_usage set to
// true, keeping any other stream_options members.
func withIncludeUsage(body []byte) ([]byte, error) {
	f, found, err := findField(body, "stream_options")
	if err != nil {
		return nil, err
	}
	if !found || body[f.valueStart] != '{' {
		// Absent, null, or not an object (which the provider would refuse
		// anyway): set the whole member.
		return setMember(body, "stream_options", []byte(`{"include_usage":true}`))
	}
	opts, err := setMember(body[f.valueStart:f.valueEnd], "include_usage", []byte("true"))
	if err != nil {
		return nil, err
	}
	return splice(body, f.valueStart, f.valueEnd, opts), nil
}

// withBodyModel returns body with its model member set to model.
func withBodyModel(body []byte, model string) ([]byte, error) {
	quoted, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	out, err := setMember(body, "model", quoted)
	if err != nil {
		return nil, fmt.Errorf("set model in body: %w", err)
	}
	return out, nil
}

// prepareOpenAIChat is PrepareBody for every provider type: only
// OpenAI-shaped streaming chat requests are changed, and only to ask for
// the usage chunk.
func prepareOpenAIChat(req Request, body []byte) ([]byte, error) {
	if req.Shape != ShapeOpenAIChat || !req.Stream || req.StreamUsageRequested {
		return body, nil
	}
	out, err := withIncludeUsage(body)
	if err != nil {
		return nil, fmt.Errorf("add stream_options.include_usage to chat request: %w", err)
	}
	return out, nil
}
