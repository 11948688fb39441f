package mockprovider

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"
)

// maxRequestBody bounds request bodies; the real APIs refuse larger ones
// too.
const maxRequestBody = 32 << 20

// call is one request being answered: what it asked for and the step that
// answers it.
type call struct {
	ep           *endpoint
	errs         errorShape // the shape errors take, even on unknown paths
	st           *script
	model        string
	stream       bool
	includeUsage bool     // OpenAI chat: stream_options.include_usage
	sse          bool     // Gemini streams: alt=sse, else a JSON array
	inputs       []string // embeddings: the texts to embed
	dimensions   int      // embeddings: the vectors' length
	base64       bool     // embeddings: encoding_format "base64"
	seq          uint64   // makes the answer's ids unique
	created      int64    // unix seconds
}

// requestFields is what the mock reads from a request body. Unmarshalling
// skips every other field, which keeps parsing cheap.
type requestFields struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     int             `json:"dimensions"`
}

// reply is an answer ready to write: a whole body, or a stream's events.
type reply struct {
	contentType string
	body        []byte
	// events yields a stream's events, each a complete SSE event (or JSON
	// array element); a yielded slice is only valid until the next.
	events iter.Seq[[]byte]
}

// ServeHTTP answers a provider API request as the script says, or a
// control API request under /_mock/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.control(w, r)
		return
	}
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)

	e := getEncoder()
	defer putEncoder(e)
	_, readErr := e.in.ReadFrom(http.MaxBytesReader(w, r.Body, maxRequestBody))
	body := e.in.Bytes()

	ep, pathModel, pathStream, errs := route(r.URL.Path)
	rec := s.newRecord(r, body)
	c := call{ep: ep, errs: errs, model: pathModel, seq: s.ids.Add(1), created: rec.Time.Unix()}

	// What the mock refuses itself, as the real API would, consumes no step.
	refuse := func(status int, message string) {
		s.history.add(rec)
		c.st = plain
		s.deliver(w, r, &c, status, errorReply(e, errs, status, "", message))
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(readErr, &tooLarge):
		refuse(http.StatusRequestEntityTooLarge, "Request body too large.")
		return
	case readErr != nil:
		return // the client went away while sending
	case ep == nil:
		refuse(http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
		return
	case r.Method != ep.method:
		refuse(http.StatusMethodNotAllowed, fmt.Sprintf("Method %s not allowed on %s; use %s.", r.Method, r.URL.Path, ep.method))
		return
	}
	rec.API = ep.api
	if ep.method == http.MethodPost {
		var f requestFields
		if err := json.Unmarshal(body, &f); err != nil {
			refuse(http.StatusBadRequest, "We could not parse the JSON body of your request: "+err.Error())
			return
		}
		if c.model == "" {
			c.model = f.Model
		}
		c.stream = f.Stream || pathStream
		c.includeUsage = f.StreamOptions.IncludeUsage
		switch ep {
		case geminiGenerate:
			c.sse = r.URL.Query().Get("alt") == "sse"
		case openAIEmbeddings:
			c.inputs, c.base64 = embeddingInputs(f.Input), f.EncodingFormat == "base64"
			c.dimensions = f.Dimensions
		}
	}
	c.st, rec.Source = s.queue.next(c.model)
	rec.Model, rec.Stream, rec.Step = c.model, c.stream, c.st.Step
	s.history.add(rec)

	status, rep := c.answer(e)
	s.deliver(w, r, &c, status, rep)
}

// newRecord starts the record of r; the caller fills in what the body says.
func (s *Server) newRecord(r *http.Request, body []byte) Request {
	rec := Request{
		Time:   time.Now(),
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
	}
	rec.RawPath, _, _ = strings.Cut(r.RequestURI, "?")
	if s.history.limit > 0 {
		rec.Header = r.Header.Clone()
		rec.Body, rec.BodyTruncated = s.history.recordBody(body)
	}
	return rec
}

// answer is the status and reply the step scripts for c.
func (c *call) answer(e *encoder) (int, reply) {
	st := c.st
	status := st.Status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case !st.Fault.known():
		status = http.StatusInternalServerError
		return status, errorReply(e, c.errs, status, "", fmt.Sprintf("mock provider: unknown fault %q in script", st.Fault))
	case st.Body != "":
		ct := contentJSON
		if c.stream && status < 400 {
			ct = contentSSE
		}
		return status, reply{contentType: ct, body: st.body}
	case status >= 400:
		return status, errorReply(e, c.errs, status, st.ErrorCode, "")
	}
	return status, c.ep.answer(c, e)
}

// embeddingInputs are the inputs an embeddings request asks to embed:
// one per string or token array in a list, else one. A string is its
// text; token ids are embedded as the text of their JSON.
func embeddingInputs(input json.RawMessage) []string {
	text := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	var list []json.RawMessage
	if len(input) == 0 || input[0] != '[' || json.Unmarshal(input, &list) != nil || len(list) == 0 {
		return []string{text(input)}
	}
	if first := list[0]; len(first) > 0 && first[0] != '"' && first[0] != '[' {
		return []string{string(input)} // a single input given as a list of token ids
	}
	out := make([]string, len(list))
	for i, raw := range list {
		out[i] = text(raw)
	}
	return out
}
