// Package proxy is the sidecar's data path: an HTTP handler that routes the
// app's requests to the current policy's Transport and streams the answers
// back, flushing as they arrive.
package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"tollgate.dev/tollgate/pkg/llmclient"
)

// Current returns the Transport of the policy in force, or nil when no
// policy applies to this pod. The handler calls it once per request, so a
// request runs start to end under the policy it started with, whatever
// reloads happen meanwhile.
type Current func() *llmclient.Transport

// Handler serves the app's requests.
type Handler struct {
	current Current
	// noPolicy answers requests while no policy applies.
	noPolicy func(w http.ResponseWriter, r *http.Request)
}

// New returns a Handler; noPolicy answers requests while current returns nil.
func New(current Current, noPolicy func(w http.ResponseWriter, r *http.Request)) *Handler {
	return &Handler{current: current, noPolicy: noPolicy}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if closesConnection(r) {
		w.Header().Set("Connection", "close")
	}
	id := r.Header.Get(llmclient.HeaderRequest)
	if id == "" {
		id = newRequestID()
	}
	t := h.current()
	if t == nil {
		w.Header().Set(llmclient.HeaderRequest, id)
		h.noPolicy(w, r)
		return
	}
	// A shallow copy: the Transport reads the request and copies what it
	// sends on, and the server is done with r's header, the one thing set
	// here, before the handler runs. r.Clone copied the header and the URL
	// for nothing.
	out := r.WithContext(r.Context())
	out.RequestURI = ""
	out.Header.Set(llmclient.HeaderRequest, id)
	rc := http.NewResponseController(w)
	var body *deadlineBody
	if out.Body != nil && out.Body != http.NoBody {
		body = newDeadlineBody(rc, out.Body, time.Now().Add(t.Policy().Timeouts.Total.D()))
		out.Body = body
	}
	resp, err := t.RoundTrip(out)
	if body != nil {
		body.lift()
	}
	if err != nil {
		// Only a request the app abandoned ends without an answer; there is
		// nobody left to write to.
		return
	}
	defer resp.Body.Close()

	header := w.Header()
	for k, vs := range resp.Header {
		header[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	h.stream(w, rc, resp.Body)
}

// stream copies the answer to the app, flushing after every write so that
// each SSE event reaches the app at once. The Transport's answers, fresh or
// from the cache, copy themselves (io.WriterTo, which io.Copy uses), a
// stream one event per Write: a stream then holds no copy buffer while it
// waits for its next event.
func (h *Handler) stream(w http.ResponseWriter, rc *http.ResponseController, body io.Reader) {
	out := &flushingWriter{w: w, rc: rc}
	_, err := io.Copy(out, body)
	if err == nil || out.err != nil {
		return // the whole answer, or the app went away (closing the body cancels upstream)
	}
	// The provider broke off mid-answer. Abort the app's connection so
	// that it sees a broken answer, not a complete short one.
	panic(http.ErrAbortHandler)
}

// flushingWriter writes to the app and flushes after every write. It
// keeps the first write error: the app went away.
type flushingWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (f *flushingWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		f.err = err
		return n, err
	}
	_ = f.rc.Flush()
	return n, nil
}

// closesConnection reports whether the connection must close after r.
// RFC 9112 §6.1: a server that serves a request carrying both
// Content-Length and Transfer-Encoding must close the connection after
// answering, since something on the way that framed the request by its
// Content-Length would read the rest as another request (request
// smuggling). net/http drops the Content-Length of such a request before
// a handler sees it (golang/go#80942), so every chunked request is taken
// for one: that costs a chunked client a new connection per request, and
// the LLM SDKs send a Content-Length.
func closesConnection(r *http.Request) bool {
	return r.ProtoMajor == 1 && len(r.TransferEncoding) > 0
}

// deadlineBody is a request body read under a deadline on the
// connection's reads, so that a client trickling its body cannot hold the
// connection, and the body's memory, past the policy's total timeout. The
// deadline is lifted once the body has been read or closed: past that
// point it would only cut the read net/http makes to see the app go away,
// while the answer streams.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	once sync.Once
}

func newDeadlineBody(rc *http.ResponseController, body io.ReadCloser, deadline time.Time) *deadlineBody {
	b := &deadlineBody{ReadCloser: body, rc: rc}
	// Without deadline support (not a net/http server connection) the
	// body is read as before.
	_ = b.rc.SetReadDeadline(deadline)
	return b
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.lift()
	}
	return n, err
}

// Close closes the body and then lifts the deadline: closing a body not
// read to its end makes net/http read what is left of it, which the
// deadline must still bound.
func (b *deadlineBody) Close() error {
	err := b.ReadCloser.Close()
	b.lift()
	return err
}

// lift removes the deadline.
func (b *deadlineBody) lift() {
	b.once.Do(func() { _ = b.rc.SetReadDeadline(time.Time{}) })
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
