package cache

import "sync"

// Recorder keeps a copy of the answer body an app was given, up to a
// limit, to store it once the answer is complete. Write it what the app
// got, after any filtering (an SSE chunk the app did not ask for must not
// be replayed to it either). It is safe for concurrent use.
type Recorder struct {
	limit int

	mu         sync.Mutex // guards buf and overflowed
	buf        []byte
	overflowed bool
}

// NewRecorder returns a Recorder that keeps at most limit bytes; limit <= 0
// means DefaultMaxEntryBytes.
func NewRecorder(limit int) *Recorder {
	if limit <= 0 {
		limit = DefaultMaxEntryBytes
	}
	return &Recorder{limit: limit}
}

// Write appends p to the copy, or, once the copy would pass the limit,
// drops it for good. It never fails, so that recording never breaks the
// app's answer.
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.overflowed {
		return len(p), nil
	}
	if len(r.buf)+len(p) > r.limit {
		r.overflowed, r.buf = true, nil
		return len(p), nil
	}
	r.buf = append(r.buf, p...)
	return len(p), nil
}

// Bytes returns the recorded body, or nil after an overflow. The slice is
// the Recorder's own; Store.Add copies it.
func (r *Recorder) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf
}

// Overflowed reports whether the body passed the limit, so that it is not
// to be stored.
func (r *Recorder) Overflowed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.overflowed
}
