package failures

import (
	"net/http"
	"time"
	"unicode/utf8"

	"tollgate.dev/tollgate/pkg/llmclient"
)

// Kinds of record.
const (
	// KindFailure is a request that finally failed: its answer was an
	// error, or it broke off.
	KindFailure = "failure"
	// KindFallback is a request a fallback rung answered.
	KindFallback = "fallback"
)

// recordVersion is the version of the record format.
const recordVersion = 1

// Record is one failure record, as the disk keeps it and /failures
// serves it.
type Record struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	// Kind is KindFailure or KindFallback.
	Kind string `json:"kind"`
	// Time is when the request arrived.
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	Policy    string    `json:"policy"`
	// Provider and Model are what the app asked for.
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	Stream   bool   `json:"stream"`
	// Status is the HTTP status the app got; 0 when the answer never
	// started.
	Status int `json:"status"`
	// ErrorType is what went wrong (llmclient.Report.ErrorType): a
	// refusal code, a failure class, or how the answer ended.
	ErrorType string `json:"error_type,omitempty"`
	End       string `json:"end"`
	LatencyMS int64  `json:"latency_ms"`
	// Rung is the fallback rung whose answer the app got (for a failure,
	// its error), AnsweredBy what it is: provider/model, "cache" (the
	// last good answer) or "static"; both empty when the app got the
	// primary's answer or none.
	Rung       int    `json:"rung,omitempty"`
	AnsweredBy string `json:"answered_by,omitempty"`
	// Attempts are the request's attempts, and the targets passed over, in
	// order.
	Attempts []Attempt `json:"attempts"`
	Request  Request   `json:"request"`
}

// Attempt is one attempt of a record, or a target passed over (N 0).
type Attempt struct {
	N        int    `json:"n"`
	Rung     int    `json:"rung"`
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	Status   int    `json:"status,omitempty"`
	// ErrorType is "none" for a good answer, else what went wrong:
	// server_error, rate_limited, client_error, timeout,
	// connection_error, invalid_output, circuit_open,
	// retry_budget_exhausted, canceled.
	ErrorType string    `json:"error_type"`
	Error     string    `json:"error,omitempty"`
	Start     time.Time `json:"start"`
	// LatencyMS is how long the attempt took to its answer's first byte
	// or its error, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// ErrorBody is the start of the provider's error answer.
	ErrorBody          string      `json:"error_body,omitempty"`
	ErrorBodyTruncated bool        `json:"error_body_truncated,omitempty"`
	Headers            http.Header `json:"headers,omitempty"`
}

// Request is the app's request, credentials redacted.
type Request struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Query   string      `json:"query,omitempty"`
	Headers http.Header `json:"headers"`
	// Body is the start of the request body when the policy's failure
	// records include it; BodyBytes the whole body's length.
	Body          string `json:"body,omitempty"`
	BodyBytes     int    `json:"body_bytes,omitempty"`
	BodyTruncated bool   `json:"body_truncated,omitempty"`
}

// maxLabel bounds the strings of a record that the app chooses without
// a bound of their own: the request id, the provider and the model.
const maxLabel = 256

// fromReport makes the record of a finished request that has a trace.
func fromReport(rep *llmclient.Report, id string) Record {
	tr := rep.Trace
	r := Record{
		Version:   recordVersion,
		ID:        id,
		Kind:      KindFailure,
		Time:      rep.Start.UTC(),
		RequestID: cut(rep.RequestID),
		Policy:    rep.Policy,
		Provider:  cut(rep.Provider),
		Model:     cut(rep.Model),
		Stream:    rep.Stream,
		Status:    rep.Status,
		ErrorType: rep.ErrorType(),
		End:       rep.End,
		LatencyMS: rep.Latency.Milliseconds(),
		Attempts:  make([]Attempt, 0, len(tr.Attempts)),
		Request: Request{
			Method: tr.Method, Path: tr.Path, Query: tr.Query, Headers: tr.Header,
			Body: string(tr.Body), BodyBytes: tr.BodyBytes, BodyTruncated: tr.BodyTruncated,
		},
	}
	if rep.Rung > 0 {
		r.Rung = rep.Rung
		switch {
		case rep.Static:
			r.AnsweredBy = llmclient.FallbackStatic
		case rep.Stale:
			r.AnsweredBy = llmclient.FallbackCache
		default:
			r.AnsweredBy = rep.Served.String()
		}
		if rep.Status < 400 && (rep.End == "complete" || rep.End == "client_gone") {
			r.Kind = KindFallback
		}
	}
	for _, a := range tr.Attempts {
		r.Attempts = append(r.Attempts, Attempt{
			N: a.N, Rung: a.Rung, Provider: a.Target.Provider, Model: cut(a.Target.Model),
			Status: a.Status, ErrorType: a.Reason, Error: a.Error,
			Start:     a.Start.UTC(),
			LatencyMS: float64(a.Latency.Microseconds()) / 1000,
			ErrorBody: string(a.ErrorBody), ErrorBodyTruncated: a.ErrorBodyTruncated, Headers: a.Header,
		})
	}
	return r
}

// cut bounds s to maxLabel bytes of whole characters.
func cut(s string) string {
	if len(s) <= maxLabel {
		return s
	}
	n := maxLabel
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
