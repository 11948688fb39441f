package mockprovider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// Content types of answers.
const (
	contentJSON = "application/json"
	contentSSE  = "text/event-stream; charset=utf-8"
)

// encoder holds one request's buffers: the body read in, and each answer
// or stream event encoded out. Encoders are pooled so that a busy mock
// reuses buffers instead of allocating them per request and per event.
type encoder struct {
	in  bytes.Buffer
	out bytes.Buffer
	enc *json.Encoder // writes to out
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.out)
	e.enc.SetEscapeHTML(false)
	return e
}}

func getEncoder() *encoder { return encoders.Get().(*encoder) }

func putEncoder(e *encoder) {
	// Drop buffers grown by an unusual request rather than pin them.
	const keep = 1 << 20
	if e.in.Cap() > keep || e.out.Cap() > keep {
		return
	}
	e.in.Reset()
	e.out.Reset()
	encoders.Put(e)
}

// json encodes v as a whole body. The slice is valid until the next call.
func (e *encoder) json(v any) []byte {
	e.out.Reset()
	e.encode(v)
	return e.out.Bytes()
}

// event encodes v as one SSE event: "event: name\n" when name is set, then
// "data: <json>\n\n". The slice is valid until the next call.
func (e *encoder) event(name string, v any) []byte {
	e.out.Reset()
	if name != "" {
		e.out.WriteString("event: ")
		e.out.WriteString(name)
		e.out.WriteByte('\n')
	}
	e.out.WriteString("data: ")
	e.encode(v) // ends with '\n'
	e.out.WriteByte('\n')
	return e.out.Bytes()
}

// element encodes v as a streamed JSON array element after sep.
func (e *encoder) element(sep string, v any) []byte {
	e.out.Reset()
	e.out.WriteString(sep)
	e.encode(v)
	return e.out.Bytes()
}

// encode appends v's JSON and a newline to out. The values are the mock's
// own types, which always encode, so a failure is a bug worth a panic
// (net/http confines it to the request).
func (e *encoder) encode(v any) {
	if err := e.enc.Encode(v); err != nil {
		panic(fmt.Sprintf("mockprovider: encode %T: %v", v, err))
	}
}

// id is an answer id: prefix and a number unique to this server.
func id(prefix string, seq uint64) string {
	return prefix + strconv.FormatUint(seq, 10)
}

// jsonNull encodes as null where a field must be present but empty, like
// OpenAI's "usage":null on stream chunks.
var jsonNull = json.RawMessage("null")

// emptyList encodes as [] where the real APIs send an empty list, not null.
var emptyList = []struct{}{}

// truncateEvent makes an SSE event's data invalid JSON by cutting it in
// half; other events (JSON array elements) are cut in half whole.
func truncateEvent(ev []byte) []byte {
	data := bytes.Index(ev, []byte("data: "))
	if data < 0 {
		return ev[:len(ev)/2]
	}
	start := data + len("data: ")
	end := bytes.Index(ev[start:], []byte("\n"))
	if end < 0 {
		end = len(ev) - start
	}
	out := make([]byte, 0, len(ev))
	out = append(out, ev[:start+end/2]...)
	return append(out, "\n\n"...)
}
