package llmclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/wire"
)

// maxCapturedBody bounds the copy of an answer kept for the cache.
const maxCapturedBody = 8 << 20

// maxUsageBytes bounds what is kept of a non-streamed answer to read its
// usage: its usage members only (see wire.Picker), whatever its size.
const maxUsageBytes = 64 << 10

// modelEvents is how many events of a stream are searched for the model
// of the answer (Options.ReadResponseModel): providers name it in the
// first.
const modelEvents = 8

// answerMembers are the members of a non-streamed answer kept to read its
// usage and model.
var answerMembers = slices.Concat(provider.UsageMembers, provider.ModelMembers)

// minCapture is the room the copy of an answer of unknown length for the
// cache starts with; it doubles from there.
const minCapture = 4 << 10

// ErrTotalTimeout is the error a non-streamed answer's body ends with when
// the policy's total timeout cut it: a JSON answer cut short must read as
// broken, not as a complete short one. A streamed (SSE) answer ends with
// io.EOF instead, after its last whole event.
var ErrTotalTimeout = errors.New("the answer was cut at the policy's total timeout")

// firstByteBody is a body whose first byte was read ahead, to know that the
// answer has begun before the attempt counts as a success.
type firstByteBody struct {
	first []byte // 0 or 1 bytes not yet returned, in buf
	rest  io.ReadCloser
	buf   [1]byte
}

// readFirstByte reads the first byte of body (blocking until it arrives,
// the body ends, or the request is canceled).
func readFirstByte(body io.ReadCloser) (*firstByteBody, error) {
	b := &firstByteBody{rest: body}
	n, err := io.ReadFull(body, b.buf[:])
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	b.first = b.buf[:n]
	return b, nil
}

func (b *firstByteBody) Read(p []byte) (int, error) {
	if len(b.first) > 0 && len(p) > 0 {
		p[0] = b.first[0]
		b.first = nil
		if len(p) == 1 {
			return 1, nil
		}
		n, err := b.rest.Read(p[1:])
		return n + 1, err
	}
	return b.rest.Read(p)
}

func (b *firstByteBody) Close() error { return b.rest.Close() }

// observation is what an observedBody needs to know.
type observation struct {
	sse     bool
	adapter provider.Adapter
	req     provider.Request
	// ctx is the request's context (total timeout); parent the app's.
	ctx, parent context.Context
	start       time.Time
	status      int
	// keep asks for a copy of the whole body as the app received it (up
	// to maxCapturedBody, and as the buffer budget has room), passed to
	// onFinish, for the cache.
	keep bool
	// length is the answer's length, or -1 when unknown; the copy of an
	// answer of known length is allocated once.
	length int64
	// buffers is where the copy's memory is taken from.
	buffers *BufferBudget
	// model asks for the model the answer names (Options.ReadResponseModel).
	model bool
	// onFinish gets what the answer was: its usage, the time to its first
	// byte, how it ended, the copy kept for the cache, the bytes handed to
	// the app and the model it named.
	onFinish func(f finished)
}

// finished is what an observedBody saw of its answer.
type finished struct {
	usage provider.Usage
	ttft  time.Duration
	// end says how the answer ended (Report.End).
	end string
	// body is the copy kept for the cache, nil when none was kept.
	body []byte
	// sent counts the bytes handed to the app.
	sent int64
	// model is the model the answer named, when asked for and found.
	model string
}

// observedBody passes an answer through to the app while reading its
// usage: an SSE answer event by event (each Read returns at most one event,
// so that the reader can flush per event), any other answer as it comes,
// keeping only its usage members to read usage from at the end (and, for
// the cache, a bounded copy of the whole). It finishes the
// request's report exactly once: at the end of the body, on an error, or
// when closed early.
type observedBody struct {
	src io.ReadCloser
	o   observation

	events   *wire.EventReader       // SSE only
	observer provider.StreamObserver // SSE only
	pending  []byte                  // rest of the current event
	usage    *wire.Picker            // non-SSE: the usage members of the body so far
	capture  []byte                  // kept answers: the body so far, up to maxCapturedBody
	reserved int64                   // the copy's room taken from o.buffers: cap(capture)
	overflow bool                    // the copy was given up: too large, or no room in o.buffers
	// terminal is set once the stream's terminating event ([DONE],
	// message_stop, response.completed) went out: the app has the whole
	// answer, even if it closes before the provider's end of body.
	terminal bool
	// model is the model a stream's events named; modelLooks counts the
	// events searched for it, up to modelEvents.
	model      string
	modelLooks int

	firstAt    time.Duration // time to the first byte handed out
	sent       int64         // bytes handed out to the app
	finishOnce sync.Once
	// held is the error that came with the last bytes, returned (and the
	// report finished) on the next Read.
	held error
}

func newObservedBody(src io.ReadCloser, o observation) *observedBody {
	b := &observedBody{src: src, o: o}
	if o.sse {
		b.events = wire.NewEventReader(src)
		b.observer = o.adapter.NewStreamObserver(o.req)
	} else if o.model {
		b.usage = wire.NewPicker(maxUsageBytes, answerMembers...)
	} else {
		b.usage = getPicker()
	}
	return b
}

// pickers holds the Pickers of finished answers: one per answer, each
// grown to the usage members it kept, so that reading an answer's usage
// allocates nothing.
var pickers = sync.Pool{New: func() any { return wire.NewPicker(maxUsageBytes, provider.UsageMembers...) }}

func getPicker() *wire.Picker {
	p := pickers.Get().(*wire.Picker)
	p.Reset()
	return p
}

func (b *observedBody) Read(p []byte) (int, error) {
	if b.held != nil {
		err := b.held
		b.held = nil
		return 0, b.end(err)
	}
	var n int
	var err error
	if b.o.sse {
		n, err = b.readEvent(p)
	} else {
		n, err = b.src.Read(p)
		if n > 0 && b.usage != nil { // nil once finished: the Picker went back to the pool
			_, _ = b.usage.Write(p[:n])
			if b.o.keep {
				b.keep(p[:n])
			}
		}
	}
	return b.handOut(n, err)
}

// handOut accounts for n bytes handed to the app, which came with err, and
// returns what the reader is to see: the bytes without the error, which is
// held for the next read (the report, which the end starts, must not
// delay the answer's last bytes), or the end.
func (b *observedBody) handOut(n int, err error) (int, error) {
	if n > 0 && b.firstAt == 0 {
		b.firstAt = max(time.Since(b.o.start), time.Nanosecond)
	}
	b.sent += int64(n)
	if err != nil && n > 0 {
		b.held = err
		return n, nil
	}
	if err != nil {
		err = b.end(err)
	}
	return n, err
}

// copyBuffers hold the buffers a non-streamed answer is copied through by
// WriteTo: as large as httputil.ReverseProxy's.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// WriteTo writes the rest of the answer to w and returns nil at its clean
// end, or what broke it off: w's error as it is, or the answer's (see
// end). A stream goes out one event per Write, straight from the event
// reader's buffer: a stream spends its life waiting for events of a few
// hundred bytes, and holds no copy buffer while it waits. Any other answer
// goes through a pooled 32 KiB buffer, one Write per read.
func (b *observedBody) WriteTo(w io.Writer) (int64, error) {
	if !b.o.sse {
		bp := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(bp)
		return io.CopyBuffer(w, (*readOnly)(b), *bp)
	}
	var written int64
	for {
		if b.held != nil {
			err := b.held
			b.held = nil
			return written, cleanEnd(b.end(err))
		}
		if err := b.nextEvent(); err != nil {
			_, err = b.handOut(0, err)
			return written, cleanEnd(err)
		}
		n, werr := w.Write(b.pending)
		b.pending = b.pending[n:]
		_, _ = b.handOut(n, nil)
		written += int64(n)
		if werr != nil {
			return written, werr
		}
	}
}

// readOnly is an observedBody without its WriteTo, for io.CopyBuffer to
// read.
type readOnly observedBody

func (r *readOnly) Read(p []byte) (int, error) { return (*observedBody)(r).Read(p) }

// cleanEnd is err as WriteTo returns it: nil for the answer's clean end.
func cleanEnd(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// keep adds p to the bounded copy of the body, taking the copy's room
// from the buffer budget as it grows. Without room the copy is given up
// (the answer is not cached), never the answer.
func (b *observedBody) keep(p []byte) {
	if b.overflow {
		return
	}
	need := len(b.capture) + len(p)
	if need > maxCapturedBody || b.o.length > maxCapturedBody {
		b.dropCapture()
		return
	}
	if need > cap(b.capture) {
		size := max(need, 2*cap(b.capture), minCapture)
		if b.o.length >= int64(need) {
			size = int(b.o.length)
		}
		size = min(size, maxCapturedBody)
		if !b.o.buffers.tryAcquire(int64(size) - b.reserved) {
			b.dropCapture()
			return
		}
		grown := make([]byte, len(b.capture), size)
		copy(grown, b.capture)
		b.capture, b.reserved = grown, int64(size)
	}
	b.capture = append(b.capture, p...)
}

// dropCapture gives up the copy of the body and its room.
func (b *observedBody) dropCapture() {
	b.overflow = true
	b.capture = nil
	b.o.buffers.release(b.reserved)
	b.reserved = 0
}

// isTerminal tells whether ev ends a stream: OpenAI's data: [DONE],
// Anthropic's message_stop, the Responses API's final events.
func isTerminal(ev wire.Event) bool {
	switch ev.Name {
	case "message_stop", "response.completed", "response.incomplete", "response.failed":
		return true
	}
	return bytes.Equal(bytes.TrimSpace(ev.Data), []byte("[DONE]"))
}

// whole tells whether an answer that ended cleanly is the whole answer:
// a stream of a shape that ends with a terminating event must have sent
// it. A stream that stops early with a clean end of body (a provider or a
// proxy on the way giving up) must not be kept and replayed as if it were
// complete. Gemini's streams have no terminating event: they just end.
func (b *observedBody) whole() bool {
	if !b.o.sse || b.terminal {
		return true
	}
	switch b.o.req.Shape {
	case provider.ShapeOpenAIChat, provider.ShapeOpenAIResponses, provider.ShapeAnthropicMessages:
		return false
	}
	return true
}

// readEvent hands out the current event, reading the next one kept for the
// app when the current one is done.
func (b *observedBody) readEvent(p []byte) (int, error) {
	if err := b.nextEvent(); err != nil {
		return 0, err
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// nextEvent makes pending the next event kept for the app, unless some
// of the current one is still pending.
func (b *observedBody) nextEvent() error {
	for len(b.pending) == 0 {
		ev, err := b.events.Next()
		if err != nil {
			return err
		}
		if isTerminal(ev) {
			b.terminal = true
		}
		if b.o.model && b.model == "" && b.modelLooks < modelEvents {
			b.modelLooks++
			b.model, _ = provider.ResponseModel(b.o.req.Shape, ev.Data)
		}
		if raw, keep := b.observer.Observe(ev); keep {
			b.pending = raw
			if b.o.keep {
				b.keep(raw)
			}
		}
	}
	return nil
}

// end finishes the report and tells the reader how the body ended: a clean
// EOF at its end, or for a stream at the total timeout (the app sees a
// stream of whole events end, not a hang); an error when the provider
// broke off or the total timeout cut a non-streamed answer, so that the
// app sees a broken answer rather than a short one that looks complete.
func (b *observedBody) end(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		b.finish("complete")
		return io.EOF
	case b.terminal && len(b.pending) == 0:
		// The app has the whole answer; what broke is only the tail
		// after the terminating event.
		b.finish("complete")
		return io.EOF
	case b.o.parent.Err() != nil:
		b.finish("client_gone")
		return err
	case errors.Is(b.o.ctx.Err(), context.DeadlineExceeded):
		b.finish("total_timeout")
		if b.o.sse {
			return io.EOF
		}
		// Chunked or decompressed answers have no length the app could
		// check: only an error tells it that the JSON is cut.
		return fmt.Errorf("%w: %w", ErrTotalTimeout, err)
	default:
		b.finish("upstream_error")
		return err
	}
}

func (b *observedBody) Close() error {
	err := b.src.Close()
	if b.terminal && len(b.pending) == 0 {
		b.finish("complete")
	} else {
		b.finish("client_gone")
	}
	return err
}

func (b *observedBody) finish(end string) {
	b.finishOnce.Do(func() {
		var u provider.Usage
		model := b.model
		switch {
		case b.o.sse:
			u = b.observer.Usage()
		case b.o.status < 300:
			if doc, ok := b.usage.Document(); ok {
				u = b.o.adapter.Usage(b.o.req, doc)
				if b.o.model {
					model, _ = provider.ResponseModel(b.o.req.Shape, doc)
				}
			}
		}
		if b.usage != nil {
			pickers.Put(b.usage) // with doc: Usage keeps nothing of it
			b.usage = nil
		}
		var body []byte
		if b.o.keep && !b.overflow && end == "complete" && b.whole() {
			body = b.capture
		}
		ttft := b.firstAt
		if ttft == 0 {
			ttft = time.Since(b.o.start)
		}
		b.o.onFinish(finished{usage: u, ttft: ttft, end: end, body: body, sent: b.sent, model: model})
		// The cache keeps a copy of its own.
		b.capture = nil
		b.o.buffers.release(b.reserved)
		b.reserved = 0
	})
}
