package mockprovider

import (
	"context"
	"iter"
	"net"
	"net/http"
	"strconv"
	"time"
)

// deliver writes rep with status to w, applying the step's delays and
// fault. It holds no lock: many slow streams run side by side.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, c *call, status int, rep reply) {
	st := c.st
	p := pauser{ctx: r.Context(), done: s.done}
	defer p.stop()
	if st.Fault == FaultHang {
		p.wait()
		p.abortIfClosed()
		return
	}
	if !p.pause(st.FirstByteDelay) {
		p.abortIfClosed()
		return
	}
	if st.Fault == FaultResetBeforeHeaders {
		resetConnection(w)
		return
	}

	h := w.Header()
	h.Set("Content-Type", rep.contentType)
	if name := c.errs.requestIDHeader(); name != "" {
		h.Set(name, id("req_mock", c.seq))
	}
	if st.RetryAfter != "" {
		h.Set("Retry-After", st.RetryAfter)
	}
	for k, v := range st.Headers {
		h.Set(k, v)
	}
	if rep.events == nil {
		deliverBody(w, st, status, rep.body)
		return
	}
	h.Set("Cache-Control", "no-cache")
	deliverStream(w, &p, st, status, rep.events)
}

// deliverBody writes a whole body, or half of it for the faults that cut
// answers short.
func deliverBody(w http.ResponseWriter, st *script, status int, body []byte) {
	sent := len(body)
	switch st.Fault {
	case FaultMalformedJSON:
		body = body[:len(body)/2]
		sent = len(body)
	case FaultResetMidStream, FaultCutStream:
		// Content-Length still promises the whole body, so the client
		// sees it end early.
		sent = len(body) / 2
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if _, err := w.Write(body[:sent]); err != nil {
		return
	}
	if st.Fault == FaultResetMidStream {
		if http.NewResponseController(w).Flush() == nil {
			resetConnection(w)
		}
	}
	// FaultCutStream: net/http closes a connection whose body fell short
	// of its Content-Length once the handler returns.
}

// deliverStream writes a stream event by event, flushing each so that the
// client sees it when a real provider would send it.
func deliverStream(w http.ResponseWriter, p *pauser, st *script, status int, events iter.Seq[[]byte]) {
	rc := http.NewResponseController(w)
	w.WriteHeader(status)
	if rc.Flush() != nil {
		return
	}
	sent := 0
	for ev := range events {
		if sent > 0 && !p.pause(st.ChunkDelay) {
			p.abortIfClosed()
			return
		}
		if sent == st.AfterEvents && strike(w, rc, st.Fault, ev) {
			return
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		sent++
	}
	// The stream was shorter than AfterEvents: strike after its end.
	strike(w, rc, st.Fault, nil)
}

// strike injects a mid-stream fault in place of ev (nil past the end of
// the stream) and reports whether the stream must end.
func strike(w http.ResponseWriter, rc *http.ResponseController, f Fault, ev []byte) bool {
	switch f {
	case FaultResetMidStream:
		resetConnection(w)
		return true
	case FaultCutStream:
		return true // returning ends a chunked body cleanly
	case FaultMalformedJSON:
		if ev != nil {
			if _, err := w.Write(truncateEvent(ev)); err == nil {
				_ = rc.Flush()
			}
		}
		return true
	}
	return false
}

// resetConnection takes the connection from net/http and closes it with a
// TCP RST (SO_LINGER 0) instead of a FIN: what a crashed upstream or a load
// balancer dropping a connection looks like to a client.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): aborting is the nearest thing.
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// pauser waits out scripted delays, giving up when the client goes away
// (ctx) or the server closes (done). One timer serves all the pauses of a
// stream.
type pauser struct {
	ctx   context.Context
	done  <-chan struct{}
	timer *time.Timer
}

// pause waits d and reports whether the answer should go on.
func (p *pauser) pause(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return true
	case <-p.ctx.Done():
	case <-p.done:
	}
	return false
}

// wait blocks until the client goes away or the server closes.
func (p *pauser) wait() {
	select {
	case <-p.ctx.Done():
	case <-p.done:
	}
}

// abortIfClosed breaks the connection when a wait ended because the server
// is closing: returning would send an empty 200, or end a stream cleanly,
// which a client would take for a complete answer.
func (p *pauser) abortIfClosed() {
	select {
	case <-p.done:
		panic(http.ErrAbortHandler)
	default:
	}
}

func (p *pauser) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
