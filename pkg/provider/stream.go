package provider

import (
	"bytes"
	"encoding/json"

	"tollgate.dev/tollgate/pkg/wire"
)

// Stream observers see every event of a stream on its way to the app, so
// each first rules out, with a byte search, the events that cannot carry
// usage (nearly all of them: content deltas) and parses only the rest.

// chatObserver reads an OpenAI chat completions stream: usage arrives in a
// final chunk with no choices when stream_options.include_usage is set.
type chatObserver struct {
	// dropUsageChunk is set when the proxy, not the app, asked for the
	// usage chunk: the app must not see a chunk it did not ask for, nor
	// the "usage":null that asking adds to every other chunk.
	dropUsageChunk bool
	usage          Usage
	// edited holds the last chunk handed out without its "usage":null,
	// reused from chunk to chunk.
	edited []byte
}

// Observe keeps every event but the usage chunk the app did not ask for,
// and hands out chunks without the "usage":null it did not ask for either.
func (o *chatObserver) Observe(ev wire.Event) ([]byte, bool) {
	if o.dropUsageChunk {
		// Every chunk of a stream the proxy asked for usage carries
		// "usage":null until the usage chunk: look for that first.
		if start, end, ok := wire.NullMember(ev.Data, "usage"); ok {
			return o.without(ev, start, end), true
		}
	}
	if !wire.MayHaveObjectMember(ev.Data, `"usage"`) {
		return ev.Raw, true
	}
	raw, ok := wire.TopLevelValue(ev.Data, "usage")
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return ev.Raw, true
	}
	var u chatUsageJSON
	if !decodeUsage(&u, raw, func() { u = chatUsageJSON{} }, u.decode) {
		return ev.Raw, true
	}
	// Servers that report usage on every chunk (vLLM's continuous usage
	// stats) report running totals: the last one counts.
	o.usage = u.usage()
	if !o.dropUsageChunk {
		return ev.Raw, true
	}
	choices, ok := wire.TopLevelValue(ev.Data, "choices")
	if ok && !isEmptyArray(choices) {
		return ev.Raw, true // content rides along: the app needs this chunk
	}
	return nil, false
}

// without returns ev.Raw without the bytes ev.Data[start:end], or ev.Raw
// itself when the data is not a slice of it: data over several lines,
// which providers never send, is passed on as it came.
func (o *chatObserver) without(ev wire.Event, start, end int) []byte {
	off, ok := offsetIn(ev.Raw, ev.Data)
	if !ok {
		return ev.Raw
	}
	o.edited = append(append(o.edited[:0], ev.Raw[:off+start]...), ev.Raw[off+end:]...)
	return o.edited
}

// offsetIn returns where data starts in raw: the data of a one-line event
// is a slice of its raw bytes, found without searching; otherwise data is
// searched for.
func offsetIn(raw, data []byte) (int, bool) {
	if len(data) == 0 {
		return 0, false
	}
	if off := cap(raw) - cap(data); off >= 0 && off+len(data) <= len(raw) && &raw[off] == &data[0] {
		return off, true
	}
	off := bytes.Index(raw, data)
	return off, off >= 0
}

// Usage is the last usage the stream reported.
func (o *chatObserver) Usage() Usage { return o.usage }

// isEmptyArray reports whether the raw JSON value v is [] (or null).
func isEmptyArray(v []byte) bool {
	if string(v) == "null" {
		return true
	}
	if len(v) < 2 || v[0] != '[' {
		return false
	}
	return wire.SkipSpace(v, 1) == len(v)-1
}

// responsesObserver reads a Responses API stream: its terminal event
// (response.completed, .incomplete or .failed) carries the response with
// its usage.
type responsesObserver struct{ usage Usage }

// Observe keeps every event.
func (o *responsesObserver) Observe(ev wire.Event) ([]byte, bool) {
	if !wire.MayHaveObjectMember(ev.Data, `"usage"`) {
		return ev.Raw, true
	}
	var e struct {
		Type     string `json:"type"`
		Response *struct {
			Usage *responsesUsageJSON `json:"usage"`
		} `json:"response"`
	}
	if json.Unmarshal(ev.Data, &e) != nil || e.Response == nil || e.Response.Usage == nil {
		return ev.Raw, true
	}
	switch e.Type {
	case "response.completed", "response.incomplete", "response.failed":
		o.usage = e.Response.Usage.usage()
	}
	return ev.Raw, true
}

// Usage is the usage of the terminal event, once seen.
func (o *responsesObserver) Usage() Usage { return o.usage }

// anthropicObserver reads an Anthropic messages stream: message_start
// carries the input counts (and a first output count), each message_delta
// the cumulative output count and, in newer API versions, the final input
// counts too.
type anthropicObserver struct{ counts anthropicCounts }

// Observe keeps every event.
func (o *anthropicObserver) Observe(ev wire.Event) ([]byte, bool) {
	switch ev.Name {
	case "message_start", "message_delta", "":
	default:
		return ev.Raw, true // content_block_*, ping, message_stop, error
	}
	if !wire.MayHaveObjectMember(ev.Data, `"usage"`) {
		return ev.Raw, true
	}
	var e struct {
		Type    string `json:"type"`
		Message *struct {
			Usage *anthropicUsageJSON `json:"usage"`
		} `json:"message"`
		Usage *anthropicUsageJSON `json:"usage"`
	}
	if json.Unmarshal(ev.Data, &e) != nil {
		return ev.Raw, true
	}
	switch e.Type {
	case "message_start":
		if e.Message != nil && e.Message.Usage != nil {
			o.counts.merge(e.Message.Usage)
		}
	case "message_delta":
		if e.Usage != nil {
			o.counts.merge(e.Usage)
		}
	}
	return ev.Raw, true
}

// Usage is the usage seen so far.
func (o *anthropicObserver) Usage() Usage { return o.counts.usage() }

// geminiObserver reads a Gemini streamGenerateContent?alt=sse stream:
// every chunk may carry usageMetadata, each a running total.
type geminiObserver struct{ usage Usage }

// Observe keeps every event.
func (o *geminiObserver) Observe(ev wire.Event) ([]byte, bool) {
	if !wire.MayHaveObjectMember(ev.Data, `"usageMetadata"`) {
		return ev.Raw, true
	}
	raw, ok := wire.TopLevelValue(ev.Data, "usageMetadata")
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return ev.Raw, true
	}
	var u geminiUsageJSON
	if json.Unmarshal(raw, &u) == nil {
		o.usage = u.usage()
	}
	return ev.Raw, true
}

// Usage is the last usage the stream reported.
func (o *geminiObserver) Usage() Usage { return o.usage }

// passObserver observes streams that carry no usage Tollgate reads.
type passObserver struct{}

// Observe keeps every event.
func (passObserver) Observe(ev wire.Event) ([]byte, bool) { return ev.Raw, true }

// Usage is always unknown.
func (passObserver) Usage() Usage { return Usage{} }
