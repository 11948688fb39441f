package mockprovider

import (
	"net/http"
	"sync"
	"time"
)

// Recording limits, when no Option sets them. They bound what a benchmark
// driving thousands of requests per second keeps in memory.
const (
	DefaultHistorySize     = 10_000
	DefaultRecordBodyBytes = 8 << 10
)

// Request is one request the mock received (control API calls excluded).
type Request struct {
	// Seq numbers requests from 1 in arrival order, since start or Reset.
	Seq int64 `json:"seq"`
	// Time is when the request's body had been read.
	Time time.Time `json:"time"`
	// Method, Path and Query (the raw query string) are from the request
	// line.
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	// RawPath is the path as the request line spelt it, escapes and all
	// (Path is decoded), for tests of what a proxy forwards.
	RawPath string `json:"raw_path"`
	// Header holds the request's headers.
	Header http.Header `json:"header"`
	// Body is the request body, cut to the recording limit.
	Body string `json:"body"`
	// BodyTruncated is true when Body was cut.
	BodyTruncated bool `json:"body_truncated,omitempty"`
	// API is the API the path addressed; APIUnknown for other paths.
	API API `json:"api"`
	// Model is the requested model: from the path for Gemini and Azure
	// deployments, else from the body.
	Model string `json:"model,omitempty"`
	// Stream is true when the request asked for a streamed answer.
	Stream bool `json:"stream,omitempty"`
	// Step is the step that answered, and Source where it came from;
	// Source is SourceNone when the mock refused the request itself.
	Step   Step       `json:"step"`
	Source StepSource `json:"source"`
}

// history keeps the most recent requests in a ring.
type history struct {
	limit     int // ring capacity; 0 records nothing
	bodyLimit int // bytes of each body kept

	mu    sync.Mutex // guards ring, next and total
	ring  []Request
	next  int   // ring index the next request goes to
	total int64 // requests received, recorded or not
}

// add records r, numbering it, and evicts the oldest request when full.
func (h *history) add(r Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total++
	if h.limit == 0 {
		return
	}
	r.Seq = h.total
	if len(h.ring) < h.limit {
		h.ring = append(h.ring, r)
		return
	}
	h.ring[h.next] = r
	h.next = (h.next + 1) % h.limit
}

// list returns the recorded requests, oldest first.
func (h *history) list() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Request, 0, len(h.ring))
	out = append(out, h.ring[h.next:]...)
	return append(out, h.ring[:h.next]...)
}

func (h *history) received() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

func (h *history) clear() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring, h.next, h.total = nil, 0, 0
}

// recordBody is the part of body that is kept.
func (h *history) recordBody(body []byte) (string, bool) {
	if len(body) <= h.bodyLimit {
		return string(body), false
	}
	return string(body[:h.bodyLimit]), true
}
