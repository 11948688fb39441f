package cache

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net/http"
	"strconv"
	"time"

	"tollgate.dev/tollgate/pkg/wire"
)

// HeaderCache is the header that tells whether an answer came from the
// cache (Hit) or from the provider (Miss).
const HeaderCache = "X-Tollgate-Cache"

// Values of HeaderCache.
const (
	// Hit marks an answer served from the cache.
	Hit = "hit"
	// Miss marks an answer from the provider to a cacheable request.
	Miss = "miss"
	// Stale marks an answer the cachedResponse fallback rung served
	// because the providers failed: older than the cache's TTL, perhaps.
	Stale = "stale"
)

// keptHeaders are the only headers of an answer that are stored and
// replayed: the ones that describe its content. Everything else is left
// out: rate-limit and timing headers describe the original exchange, not
// this one; request ids would send the app's support ticket to a request
// it did not make; Set-Cookie, organization and auth headers belong to
// the original caller; x-tollgate-* headers (fallback, attempts) describe
// how the original was served. The caller adds its own headers to a hit.
var keptHeaders = []string{"Content-Type"}

// Usage is the token usage of a stored answer, for reporting a hit. Its
// fields are those of provider.Usage, in the same order, so that one
// converts to the other.
type Usage struct {
	// InputTokens counts every input token, cached ones included.
	InputTokens int64
	// CachedInputTokens is the part of InputTokens read from the
	// provider's prompt cache.
	CachedInputTokens int64
	// CacheWriteTokens and CacheWrite1hTokens are the parts of InputTokens
	// written to the provider's prompt cache (5-minute and one-hour).
	CacheWriteTokens, CacheWrite1hTokens int64
	// OutputTokens counts every output token, reasoning ones included.
	OutputTokens int64
	// Known is false when the answer carried no usage.
	Known bool
}

// Entry is one stored answer. An Entry returned by Store.Get is shared by
// every caller: read it, never modify it.
type Entry struct {
	// Status is the answer's HTTP status; only 2xx are stored.
	Status int
	// Header holds the answer's headers; Store.Add keeps only keptHeaders.
	Header http.Header
	// Body is the whole answer body, identity-encoded.
	Body []byte
	// Stream is true when Body is a server-sent event stream, replayed
	// one event per Read.
	Stream bool
	// Usage is the answer's token usage, as read when it was stored.
	Usage Usage
	// Meta holds whatever else the caller wants to report of a hit (the
	// model or provider that served the original, say).
	Meta map[string]string
	// StoredAt is when Store.Add stored the answer.
	StoredAt time.Time
}

// clone returns a deep copy of e with only keptHeaders.
func (e *Entry) clone() *Entry {
	c := *e
	c.Header = http.Header{}
	for _, name := range keptHeaders {
		if v := e.Header.Values(name); len(v) > 0 {
			c.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), v...)
		}
	}
	c.Body = bytes.Clone(e.Body)
	c.Meta = maps.Clone(e.Meta)
	return &c
}

// size estimates the memory e holds, for the Store's byte limits.
func (e *Entry) size() int64 {
	n := int64(len(e.Body)) + 256
	for k, vs := range e.Header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v))
		}
	}
	for k, v := range e.Meta {
		n += int64(len(k) + len(v))
	}
	return n
}

// Response returns the answer for req as a new *http.Response, with its
// own Header and Body, and X-Tollgate-Cache: hit and Age (seconds since
// the answer was stored) added. A stream's body is replayed one event per
// Read: each Read returns bytes of one event only, up to and including the
// blank line that ends it, so that a proxy that flushes after every Read
// sends the stream event by event.
func (e *Entry) Response(req *http.Request) *http.Response {
	h := e.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(HeaderCache, Hit)
	if !e.StoredAt.IsZero() {
		h.Set("Age", strconv.FormatInt(int64(time.Since(e.StoredAt)/time.Second), 10))
	}
	resp := &http.Response{
		Status:        strconv.Itoa(e.Status) + " " + http.StatusText(e.Status),
		StatusCode:    e.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          newReplayBody(e.Body, e.Stream),
		ContentLength: int64(len(e.Body)),
		Request:       req,
	}
	if e.Stream {
		resp.ContentLength = -1
	}
	return resp
}

// replayBody reads a stored body; a stream's one event per Read.
type replayBody struct {
	body   []byte
	off    int               // next byte of body to return (JSON only)
	events *wire.EventReader // stream only
	event  []byte            // the rest of the current event (stream only)
	closed bool
}

func newReplayBody(body []byte, stream bool) *replayBody {
	b := &replayBody{body: body}
	if stream {
		b.events = wire.NewEventReader(bytes.NewReader(body))
	}
	return b
}

func (b *replayBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.events == nil {
		if b.off >= len(b.body) {
			return 0, io.EOF
		}
		n := copy(p, b.body[b.off:])
		b.off += n
		return n, nil
	}
	if len(b.event) == 0 {
		// The event's bytes alias the reader's buffer until the next call
		// to Next, which comes only once they have all been returned.
		ev, err := b.events.Next()
		if err != nil {
			return 0, err // io.EOF at the end; a stored body has no other
		}
		b.event = ev.Raw
	}
	n := copy(p, b.event)
	b.event = b.event[n:]
	return n, nil
}

// WriteTo writes the rest of the body to w: a JSON answer in one Write, a
// stream one event per Write, so that a writer flushing after each write
// sends each event as it would have come.
func (b *replayBody) WriteTo(w io.Writer) (int64, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	var written int64
	if b.events == nil {
		n, err := w.Write(b.body[b.off:])
		b.off += n
		return int64(n), err
	}
	for {
		if len(b.event) == 0 {
			ev, err := b.events.Next()
			if errors.Is(err, io.EOF) {
				return written, nil
			}
			if err != nil {
				return written, err
			}
			b.event = ev.Raw
		}
		n, err := w.Write(b.event)
		b.event = b.event[n:]
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
}

func (b *replayBody) Close() error {
	b.closed = true
	return nil
}
