package llmclient

import (
	"net/http"
	"strings"
	"time"

	"tollgate.dev/tollgate/pkg/policy"
)

// Trace is what a failure record shows of a request that failed or fell
// back (Report.FailedOrFellBack): the request as the app sent it and each
// attempt with the provider's error answer. Nothing in it holds a
// credential: credential headers and key-like query parameters are
// Redacted, and every credential seen in the request or held by the
// Transport is scrubbed from the rest, as is anything that looks like a
// key (sk-..., AIza..., bearer tokens, key= in URLs).
type Trace struct {
	// Method and Path are the app's request line, the route prefix
	// included; Query is its raw query, key-like parameters Redacted.
	// Path and Query are cut at 2 KiB each.
	Method string
	Path   string
	Query  string
	// Header is the app's request header: at most 64 headers, values cut
	// at 512 bytes, credentials Redacted.
	Header http.Header
	// Body is the start of the app's request body, when the policy's
	// failure records include it (spec.failureRecords), cut at their
	// maxBodyBytes; BodyBytes is the whole body's length and BodyTruncated
	// says whether Body is shorter.
	Body          []byte
	BodyBytes     int
	BodyTruncated bool
	// Attempts are the request's attempts, and the targets passed over,
	// in order.
	Attempts []TraceAttempt
}

// TraceAttempt is one attempt of a Trace, or a target passed over.
type TraceAttempt struct {
	// N numbers the attempts from 1; 0 for a target passed over (its
	// breaker open, the retry budget spent).
	N int
	// Rung is 0 for the primary target, i for the i-th fallback rung.
	Rung   int
	Target policy.Target
	// Status is the answer's HTTP status, 0 without one.
	Status int
	// Reason is what went wrong (policy.Attempt.Reason): "none",
	// "server_error", "timeout", "circuit_open", ...
	Reason string
	// Error is the connection error without an answer, cut at 1 KiB.
	Error   string
	Start   time.Time
	Latency time.Duration
	// ErrorBody is the start of the provider's error answer (status 400
	// and above), cut at TraceErrorBodyBytes; ErrorBodyTruncated says
	// whether the answer was longer.
	ErrorBody          []byte
	ErrorBodyTruncated bool
	// Header holds the error answer's headers that help tell what
	// happened: Retry-After, Content-Type, request ids, rate limits.
	Header http.Header
}

// Bounds of a trace.
const (
	// TraceErrorBodyBytes is how much of each error answer a trace keeps.
	TraceErrorBodyBytes = 4 << 10
	// maxTraceErrorBytes bounds a connection error's message.
	maxTraceErrorBytes = 1 << 10
	// maxTracePathBytes bounds the path and the query, which the app
	// chooses.
	maxTracePathBytes = 2 << 10
)

// FailedOrFellBack tells whether the request deserves a failure record:
// its answer is an error (HTTP 400 and above: a refusal of Tollgate's or
// the provider's own error), it broke off (upstream_error,
// total_timeout), or a fallback rung answered it.
func (r *Report) FailedOrFellBack() bool {
	return r.Status >= 400 || r.End == "upstream_error" || r.End == "total_timeout" || r.Rung > 0
}

// errorAnswer is the start of one attempt's error answer, as classify read
// it, kept until the trace is made: not scrubbed yet.
type errorAnswer struct {
	n      int // the attempt, as policy.Attempt.N
	body   []byte
	whole  bool // body is the whole answer
	header http.Header
}

// keepErrorAnswer notes the start of an error answer to attempt n for the
// trace; peek is what classify read of it.
func (ex *exchange) keepErrorAnswer(n int, resp *http.Response, peek []byte, whole bool) {
	keep := min(len(peek), TraceErrorBodyBytes+secretMargin)
	h := http.Header{}
	for name, values := range resp.Header {
		if diagnosticHeader(name) {
			h[name] = append([]string(nil), values...)
		}
	}
	ex.rep.errorAnswers = append(ex.rep.errorAnswers, errorAnswer{
		n: n, body: append([]byte(nil), peek[:keep]...), whole: whole && keep == len(peek), header: h,
	})
}

// diagnosticHeader tells whether an error answer's header helps tell what
// happened, and so belongs in a trace.
func diagnosticHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "retry-after" || n == "content-type" || n == "x-should-retry" ||
		strings.Contains(n, "request-id") || strings.Contains(n, "ratelimit")
}

// keepRequest notes the app's request for the trace, when the Transport
// makes traces.
func (t *Transport) keepRequest(rep *Report, req *http.Request) {
	if t.opts.Trace {
		rep.in = req
	}
}

// keepBody notes the request's body for the trace, when the Transport
// makes traces and the policy's failure records include bodies.
func (t *Transport) keepBody(rep *Report, body []byte) {
	if t.opts.Trace && t.set.Policy().RecordedBodyBytes() > 0 {
		rep.body = body
	}
}

// keepAttempts notes the request's attempts for its trace, in the
// report's own room while they fit: the policy's trace lives in its
// per-request state, which the report must not keep alive.
func (t *Transport) keepAttempts(rep *Report, trace []policy.Attempt) {
	if t.opts.Trace {
		rep.attempts = append(rep.attemptsBuf[:0], trace...)
	}
}

// trace makes the trace of a request that failed or fell back.
func (t *Transport) trace(rep *Report) *Trace {
	s := &scrubber{}
	for _, p := range t.providers {
		if p.key != "" {
			s.add(p.key)
		}
	}
	tr := &Trace{}
	if req := rep.in; req != nil {
		// Every credential is learnt before anything is scrubbed.
		s.learnHeader(req.Header)
		query, _ := s.prefix([]byte(s.redactedQuery(req.URL.RawQuery)), maxTracePathBytes)
		tr.Query = string(query)
		tr.Method = req.Method
		path, _ := s.prefix([]byte(requestPath(req.URL)), maxTracePathBytes)
		tr.Path = string(path)
		tr.Header = s.redactedHeader(req.Header, nil)
	}
	if n := t.set.Policy().RecordedBodyBytes(); n > 0 && rep.body != nil {
		tr.Body, tr.BodyTruncated = s.prefix(rep.body, n)
		tr.BodyBytes = len(rep.body)
	}
	for _, a := range rep.attempts {
		ta := TraceAttempt{N: a.N, Rung: a.Rung, Target: a.Target, Status: a.Status, Reason: a.Reason(), Start: a.Start, Latency: a.Latency}
		if a.Err != nil && !a.Skipped() {
			msg, _ := s.prefix([]byte(a.Err.Error()), maxTraceErrorBytes)
			ta.Error = string(msg)
		}
		for _, e := range rep.errorAnswers {
			if a.N > 0 && e.n == a.N {
				var cut bool
				ta.ErrorBody, cut = s.prefix(e.body, TraceErrorBodyBytes)
				ta.ErrorBodyTruncated = cut || !e.whole
				ta.Header = s.redactedHeader(e.header, nil)
			}
		}
		tr.Attempts = append(tr.Attempts, ta)
	}
	return tr
}
