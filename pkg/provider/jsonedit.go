package provider

import (
	"encoding/json"
	"fmt"

	"tollgate.dev/tollgate/pkg/wire"
)

// withIncludeUsage returns body with stream_options.include_usage set to
// true, keeping any other stream_options members.
func withIncludeUsage(body []byte) ([]byte, error) {
	f, found, err := wire.FindField(body, "stream_options")
	if err != nil {
		return nil, err
	}
	if !found || body[f.ValueStart] != '{' {
		// Absent, null, or not an object (which the provider would refuse
		// anyway): set the whole member.
		return wire.SetMember(body, "stream_options", []byte(`{"include_usage":true}`))
	}
	opts, err := wire.SetMember(body[f.ValueStart:f.ValueEnd], "include_usage", []byte("true"))
	if err != nil {
		return nil, err
	}
	return wire.Splice(body, f.ValueStart, f.ValueEnd, opts), nil
}

// withBodyModel returns body with its model member set to model.
func withBodyModel(body []byte, model string) ([]byte, error) {
	quoted, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	out, err := wire.SetMember(body, "model", quoted)
	if err != nil {
		return nil, fmt.Errorf("set model in body: %w", err)
	}
	return out, nil
}

// prepareOpenAIChat is PrepareBody for every provider type: only
// OpenAI-shaped streaming chat requests are changed, and only to ask for
// the usage chunk.
func prepareOpenAIChat(req Request, body []byte) ([]byte, error) {
	if !asksForStreamUsage(req) {
		return body, nil
	}
	out, err := withIncludeUsage(body)
	if err != nil {
		return nil, fmt.Errorf("add stream_options.include_usage to chat request: %w", err)
	}
	return out, nil
}

// asksForStreamUsage reports whether the proxy asks a request for the usage
// chunk on the app's behalf: an OpenAI-shaped streaming chat request that
// does not ask for it itself. The stream's observer then drops what the
// asking added.
func asksForStreamUsage(req Request) bool {
	return req.Shape == ShapeOpenAIChat && req.Stream && !req.StreamUsageRequested
}
