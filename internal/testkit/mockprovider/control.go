package mockprovider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// controlPrefix is where the HTTP control API lives (see the package
// documentation), on the same listener as the provider APIs.
const controlPrefix = "/_mock/"

// maxControlBody bounds control API bodies.
const maxControlBody = 8 << 20

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case controlPrefix + "enqueue":
		if !allow(w, r, http.MethodPost) {
			return
		}
		var req enqueueRequest
		if !decodeControl(w, r, &req) {
			return
		}
		s.EnqueueFor(req.Model, req.Steps...)
		w.WriteHeader(http.StatusNoContent)
	case controlPrefix + "default":
		if !allow(w, r, http.MethodPost) {
			return
		}
		var step Step
		if !decodeControl(w, r, &step) {
			return
		}
		s.SetDefault(step)
		w.WriteHeader(http.StatusNoContent)
	case controlPrefix + "requests":
		if !allow(w, r, http.MethodGet) {
			return
		}
		writeControl(w, http.StatusOK, requestsResponse{Received: s.Received(), Requests: s.Requests()})
	case controlPrefix + "reset":
		if !allow(w, r, http.MethodPost) {
			return
		}
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case controlPrefix + "healthz":
		writeControl(w, http.StatusOK, map[string]string{"status": "ok"})
	default:
		writeControl(w, http.StatusNotFound, controlError{Error: "no control endpoint " + r.URL.Path})
	}
}

// enqueueRequest is the body of POST /_mock/enqueue: a list of steps, or
// an object naming the model whose queue they go to.
type enqueueRequest struct {
	Model string `json:"model"`
	Steps []Step `json:"steps"`
}

// UnmarshalJSON takes a bare list of steps as well as the object.
func (q *enqueueRequest) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		return strictUnmarshal(b, &q.Steps)
	}
	type plain enqueueRequest // without this method
	return strictUnmarshal(b, (*plain)(q))
}

// requestsResponse is the body of GET /_mock/requests.
type requestsResponse struct {
	// Received counts requests since start or reset, including those
	// dropped from the bounded history.
	Received int64     `json:"received"`
	Requests []Request `json:"requests"`
}

type controlError struct {
	Error string `json:"error"`
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeControl(w, http.StatusMethodNotAllowed, controlError{Error: fmt.Sprintf("use %s for %s", method, r.URL.Path)})
	return false
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	var body bytes.Buffer
	if _, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, maxControlBody)); err != nil {
		writeControl(w, http.StatusBadRequest, controlError{Error: "read body: " + err.Error()})
		return false
	}
	if err := strictUnmarshal(body.Bytes(), v); err != nil {
		writeControl(w, http.StatusBadRequest, controlError{Error: "decode " + r.URL.Path + ": " + err.Error()})
		return false
	}
	return true
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// strictUnmarshal refuses unknown fields, so that a misspelt step field
// fails loudly instead of scripting a plain 200.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}

// stepJSON is Step as the control API and Request records spell it:
// snake_case fields, durations as Go duration strings ("250ms").
type stepJSON struct {
	Status         int               `json:"status,omitempty"`
	RetryAfter     string            `json:"retry_after,omitempty"`
	Headers        map[string]string `json:"headers,omitempty"`
	Body           string            `json:"body,omitempty"`
	ErrorCode      string            `json:"error_code,omitempty"`
	FirstByteDelay string            `json:"first_byte_delay,omitempty"`
	ChunkDelay     string            `json:"chunk_delay,omitempty"`
	Fault          Fault             `json:"fault,omitempty"`
	AfterEvents    int               `json:"after_events,omitempty"`
	Content        string            `json:"content,omitempty"`
	Usage          *Usage            `json:"usage,omitempty"`
	Chunks         int               `json:"chunks,omitempty"`
	ContentBytes   int               `json:"content_bytes,omitempty"`
}

// MarshalJSON encodes st as the control API takes it.
func (st Step) MarshalJSON() ([]byte, error) {
	j := stepJSON{
		Status: st.Status, RetryAfter: st.RetryAfter, Headers: st.Headers, Body: st.Body,
		ErrorCode: st.ErrorCode, Fault: st.Fault, AfterEvents: st.AfterEvents,
		Content: st.Content, Usage: st.Usage, Chunks: st.Chunks, ContentBytes: st.ContentBytes,
	}
	if st.FirstByteDelay != 0 {
		j.FirstByteDelay = st.FirstByteDelay.String()
	}
	if st.ChunkDelay != 0 {
		j.ChunkDelay = st.ChunkDelay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a step from the control API, refusing unknown
// fields and faults.
func (st *Step) UnmarshalJSON(b []byte) error {
	var j stepJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	if !j.Fault.known() {
		return fmt.Errorf("unknown fault %q: use one of %q, %q, %q, %q, %q", j.Fault,
			FaultResetBeforeHeaders, FaultResetMidStream, FaultCutStream, FaultMalformedJSON, FaultHang)
	}
	first, err := parseDuration("first_byte_delay", j.FirstByteDelay)
	if err != nil {
		return err
	}
	chunk, err := parseDuration("chunk_delay", j.ChunkDelay)
	if err != nil {
		return err
	}
	*st = Step{
		Status: j.Status, RetryAfter: j.RetryAfter, Headers: j.Headers, Body: j.Body,
		ErrorCode: j.ErrorCode, FirstByteDelay: first, ChunkDelay: chunk, Fault: j.Fault,
		AfterEvents: j.AfterEvents, Content: j.Content, Usage: j.Usage, Chunks: j.Chunks, ContentBytes: j.ContentBytes,
	}
	return nil
}

func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w (write a Go duration such as \"250ms\")", field, err)
	}
	return d, nil
}
