package llmclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/wire"
)

// maxCapturedBody bounds how much of a non-streamed answer is kept to read
// its usage; beyond it, usage is unknown rather than memory unbounded.
const maxCapturedBody = 8 << 20

// firstByteBody is a body whose first byte was read ahead, to know that the
// answer has begun before the attempt counts as a success.
type firstByteBody struct {
	first []byte // 0 or 1 bytes not yet returned
	rest  io.ReadCloser
}

// readFirstByte reads the first byte of body (blocking until it arrives,
// the body ends, or the request is canceled).
func readFirstByte(body io.ReadCloser) (*firstByteBody, error) {
	b := make([]byte, 1)
	n, err := io.ReadFull(body, b)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &firstByteBody{first: b[:n], rest: body}, nil
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
	// to maxCapturedBody), passed to onFinish, for the cache.
	keep     bool
	onFinish func(u provider.Usage, ttft time.Duration, end string, body []byte, sent int64)
}

// observedBody passes an answer through to the app while reading its
// usage: an SSE answer event by event (each Read returns at most one event,
// so that the reader can flush per event), any other answer as it comes,
// keeping a bounded copy to read usage from at the end. It finishes the
// request's report exactly once: at the end of the body, on an error, or
// when closed early.
type observedBody struct {
	src io.ReadCloser
	o   observation

	events   *wire.EventReader       // SSE only
	observer provider.StreamObserver // SSE only
	pending  []byte                  // rest of the current event
	capture  bytes.Buffer            // non-SSE, or kept SSE: the body so far, up to maxCapturedBody
	overflow bool
	// terminal is set once the stream's terminating event ([DONE],
	// message_stop, response.completed) went out: the app has the whole
	// answer, even if it closes before the provider's end of body.
	terminal bool

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
	}
	return b
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
		if n > 0 {
			b.keep(p[:n])
		}
	}
	if n > 0 && b.firstAt == 0 {
		b.firstAt = max(time.Since(b.o.start), time.Nanosecond)
	}
	b.sent += int64(n)
	if err != nil && n > 0 {
		// Hand out the last bytes first and end on the next Read: the
		// report (usage parsing, log, metrics) must not delay the end of
		// the answer.
		b.held = err
		return n, nil
	}
	if err != nil {
		err = b.end(err)
	}
	return n, err
}

// keep adds p to the bounded copy of the body.
func (b *observedBody) keep(p []byte) {
	if b.overflow {
		return
	}
	if b.capture.Len()+len(p) > maxCapturedBody {
		b.overflow = true
		b.capture = bytes.Buffer{}
		return
	}
	b.capture.Write(p)
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

// readEvent hands out the current event, reading the next one kept for the
// app when the current one is done.
func (b *observedBody) readEvent(p []byte) (int, error) {
	for len(b.pending) == 0 {
		ev, err := b.events.Next()
		if err != nil {
			return 0, err
		}
		if isTerminal(ev) {
			b.terminal = true
		}
		if raw, keep := b.observer.Observe(ev); keep {
			b.pending = raw
			if b.o.keep {
				b.keep(raw)
			}
		}
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// end finishes the report and tells the reader how the body ended: a clean
// EOF at its end or at the total timeout (the app sees a complete HTTP
// answer, not a hang); the error itself when the provider broke off, so
// that the app sees a broken answer rather than a short one.
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
		return io.EOF
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
		switch {
		case b.o.sse:
			u = b.observer.Usage()
		case !b.overflow && b.o.status < 300:
			u = b.o.adapter.Usage(b.o.req, b.capture.Bytes())
		}
		var body []byte
		if b.o.keep && !b.overflow && end == "complete" {
			body = b.capture.Bytes()
		}
		b.capture = bytes.Buffer{}
		ttft := b.firstAt
		if ttft == 0 {
			ttft = time.Since(b.o.start)
		}
		b.o.onFinish(u, ttft, end, body, b.sent)
	})
}
