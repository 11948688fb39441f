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

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Set(llmclient.HeaderRequest, id)
	resp, err := t.RoundTrip(out)
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
	h.stream(w, resp.Body)
}

// stream copies the answer, flushing after every read so that each SSE
// event (the body hands them out one per read) reaches the app at once.
func (h *Handler) stream(w http.ResponseWriter, body io.Reader) {
	rc := http.NewResponseController(w)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the app went away; closing the body cancels upstream
			}
			_ = rc.Flush()
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// The provider broke off mid-answer. Abort the app's connection
			// so that it sees a broken answer, not a complete short one.
			panic(http.ErrAbortHandler)
		}
	}
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
