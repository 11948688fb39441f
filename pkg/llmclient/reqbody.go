package llmclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// readBody reads the whole request body, up to the Transport's limit,
// within the buffer budget. It returns the function that gives the body's
// share of the budget back, or the refusal to answer with:
//   - tollgate_overloaded when the budget has no room for the body before
//     the total timeout;
//   - tollgate_timeout (408) when the body did not arrive in time: the
//     sidecar's handler sets the connection's read deadline at the total
//     timeout, so a client that trickles its body cannot hold the
//     connection and the body's memory past it;
//   - tollgate_bad_request for a body over the limit or unreadable.
func (t *Transport) readBody(req *http.Request, start time.Time) ([]byte, func(), *refusal) {
	none := func() {}
	if req.Body == nil || req.Body == http.NoBody {
		return nil, none, nil
	}
	defer req.Body.Close()
	limit := t.opts.MaxRequestBytes
	tooLarge := func() *refusal {
		return &refusal{status: http.StatusBadRequest, code: CodeBadRequest,
			message: fmt.Sprintf("request body is larger than the sidecar's limit of %d bytes", limit)}
	}
	if req.ContentLength > limit {
		return nil, none, tooLarge()
	}
	// A body of unknown length may be as large as the limit; what it does
	// not use is given back once it has been read.
	held := limit
	if req.ContentLength > 0 {
		held = req.ContentLength
	}
	total := t.set.Policy().Timeouts.Total
	if err := t.acquireBody(req.Context(), held, start.Add(total.D())); err != nil {
		return nil, none, &refusal{status: http.StatusServiceUnavailable, code: CodeOverloaded, retryAfter: time.Second,
			message: fmt.Sprintf("the sidecar holds %s of request bodies and answers in memory, its limit of %s; this request's body (%s) found no room within the total timeout of %s (policy %s). Retry, or send smaller bodies",
				mib(t.buffers.InUse()), mib(t.buffers.Limit()), mib(held), total, t.policyRef)}
	}
	var once sync.Once
	release := func() { once.Do(func() { t.buffers.release(held) }) }

	b, err := readAll(req.Body, req.ContentLength, limit)
	switch {
	case errors.Is(err, errTooLarge):
		release()
		return nil, none, tooLarge()
	case errors.Is(err, os.ErrDeadlineExceeded):
		release()
		return nil, none, &refusal{status: http.StatusRequestTimeout, code: CodeTimeout,
			message: fmt.Sprintf("the request body did not arrive within the total timeout of %s (policy %s)", total, t.policyRef)}
	case err != nil:
		release()
		return nil, none, &refusal{status: http.StatusBadRequest, code: CodeBadRequest, message: err.Error()}
	}
	if n := int64(cap(b)); n < held {
		t.buffers.release(held - n)
		held = n
	}
	return b, release, nil
}

// acquireBody takes n bytes of the buffer budget for a request body: at
// once when they fit (the common case, which needs no timer), else waiting
// until they do, ctx ends or the deadline passes.
func (t *Transport) acquireBody(ctx context.Context, n int64, deadline time.Time) error {
	if t.buffers.acquireNow(n) {
		return nil
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return t.buffers.acquire(ctx, n)
}

// errTooLarge is returned by readAll for a body over its limit.
var errTooLarge = errors.New("request body too large")

// readAll reads a body of length (or -1 or 0 when unknown) up to limit
// bytes. A body of known length is read into one slice of that length, so
// that memory holds it once, without the copies of a growing buffer.
func readAll(r io.Reader, length, limit int64) ([]byte, error) {
	if length > 0 {
		b := make([]byte, length)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		var extra [1]byte
		if n, _ := io.ReadFull(r, extra[:]); n > 0 {
			return nil, fmt.Errorf("read request body: it is longer than its Content-Length of %d bytes", length)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}
