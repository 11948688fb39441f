package llmclient

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"tollgate.dev/tollgate/pkg/outputcheck"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// Headers of answers to requests that asked for structured output, under
// a policy that validates it.
const (
	// HeaderValidation is "passed", "failed" (no rung gave a valid answer:
	// this is the last one) or "skipped" (the answer was not checked).
	HeaderValidation = "X-Tollgate-Validation"
	// HeaderValidationReason says, for failed and skipped, what was wrong
	// or why: a reason code (ValidationReasons), a colon, and a message
	// for the app's developer.
	HeaderValidationReason = "X-Tollgate-Validation-Reason"
)

// Validation results (Report.Validation and HeaderValidation).
const (
	ValidationPassed  = "passed"
	ValidationFailed  = "failed"
	ValidationSkipped = "skipped"
)

// Reasons of a failed or skipped check (Report.ValidationReason), besides
// outputcheck's (not_json, not_object, schema_mismatch, schema_unusable).
const (
	// ReasonUnreadableAnswer: the answer is not the JSON (or stream) its
	// API promises, so it has no text to judge (failed).
	ReasonUnreadableAnswer = "unreadable_answer"
	// ReasonTooLarge: the answer is over maxCheckedBytes (skipped).
	ReasonTooLarge = "too_large"
	// ReasonNoRoom: the sidecar's buffer budget had no room to hold the
	// answer (skipped).
	ReasonNoRoom = "no_room"
	// ReasonStream: a streamed answer under streams: PassThrough (skipped).
	ReasonStream = "stream"
	// ReasonUnreadableFormat: the request's format member is not what its
	// API documents (skipped; the provider judges the request).
	ReasonUnreadableFormat = "unreadable_format"
	// ReasonStatic: the policy's static response (skipped).
	ReasonStatic = "static"
)

// maxCheckedBytes bounds the answer (JSON body or whole stream) held to be
// checked: answers are held whole, and a checked JSON text is decoded in
// full, which takes several times its size.
const maxCheckedBytes = 2 << 20

// maxReasonHeader bounds HeaderValidationReason.
const maxReasonHeader = 300

// validation is what an exchange knows of its request's structured output.
type validation struct {
	format provider.OutputFormat
	// skip is the reason the request's answers are not checked at all
	// (ReasonStream, ReasonUnreadableFormat), and skipMessage its message.
	skip, skipMessage string
	// judged are the answers read whole and judged, in order.
	judged []*judged
}

// judged is one answer that was read whole to be judged.
type judged struct {
	resp   *http.Response
	target policy.Target
	usage  provider.Usage
	// size is the bytes of the answer read; complete is false when it
	// broke off.
	size     int64
	complete bool
	// reserved is the room held in the buffer budget for its bytes.
	reserved int64
	result   string // ValidationPassed, ValidationFailed, ValidationSkipped
	reason   string // a reason code, for failed and skipped
	message  string // for the app
	keyword  string // the JSON Schema keyword missed, for logs
}

// validationFor says what the exchange's answers are checked for: nothing
// (nil) when the policy does not validate or the request asks for no
// structured output.
func (t *Transport) validationFor(rq provider.Request) *validation {
	if t.checker == nil || rq.Shape == provider.ShapeOther {
		return nil
	}
	f, err := provider.ParseOutputFormat(rq)
	if err != nil {
		return &validation{skip: ReasonUnreadableFormat, skipMessage: err.Error()}
	}
	if !f.Structured() {
		return nil
	}
	v := &validation{format: f}
	if rq.Stream && !t.set.Policy().Validation.BufferStreams {
		v.skip, v.skipMessage = ReasonStream, "streamed answers are passed through unchecked (spec.validation.streams: PassThrough)"
	}
	return v
}

// judge reads a 2xx answer of target whole (up to maxCheckedBytes), judges
// it, and leaves resp.Body reading the same bytes. It returns
// policy.InvalidOutput for an answer that is not what the request asked
// for, policy.ConnectionError for one that broke off while being read.
func (ex *exchange) judge(target policy.Target, resp *http.Response) policy.Failure {
	v := ex.validation
	sse := wire.IsEventStream(resp.Header.Get("Content-Type"))
	j := &judged{resp: resp, target: target}
	if resp.ContentLength > maxCheckedBytes {
		j.result, j.reason, j.message = ValidationSkipped, ReasonTooLarge, tooLarge()
		v.judged = append(v.judged, j)
		return policy.NoFailure
	}
	room := int64(maxCheckedBytes)
	if resp.ContentLength >= 0 {
		room = resp.ContentLength
	}
	if !ex.t.buffers.tryAcquire(room) {
		j.result, j.reason, j.message = ValidationSkipped, ReasonNoRoom, "the sidecar's memory for bodies (--max-buffered-bytes) had no room to hold the answer"
		v.judged = append(v.judged, j)
		return policy.NoFailure
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCheckedBytes+1))
	j.size = int64(len(body))
	// Keep only the room the bytes take.
	if held := int64(cap(body)); held < room {
		ex.t.buffers.release(room - held)
		room = held
	}
	j.reserved = room
	v.judged = append(v.judged, j)
	switch {
	case err != nil:
		// Broken off: the app may still get what arrived, and the error.
		resp.Body = readCloser(io.MultiReader(bytes.NewReader(body), errorReader{err}), resp.Body)
		j.usage = ex.usageOf(target, body, sse)
		j.result, j.reason, j.message = ValidationSkipped, ReasonUnreadableAnswer, "the answer broke off before it was complete"
		return policy.ConnectionError
	case len(body) > maxCheckedBytes:
		resp.Body = readCloser(io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body)
		j.result, j.reason, j.message = ValidationSkipped, ReasonTooLarge, tooLarge()
		return policy.NoFailure
	}
	resp.Body = readCloser(bytes.NewReader(body), resp.Body)
	j.complete = true
	j.usage = ex.usageOf(target, body, sse)

	var answer provider.Answer
	if sse {
		answer, err = provider.StreamAnswerOf(ex.rq, body)
	} else {
		answer, err = provider.AnswerOf(ex.rq, body)
	}
	switch {
	case err != nil:
		j.result, j.reason, j.message = ValidationFailed, ReasonUnreadableAnswer, "the answer is not the JSON its API promises, so it has no text to check"
		return policy.InvalidOutput
	case answer.Unjudged != "":
		j.result, j.reason, j.message = ValidationSkipped, answer.Unjudged, unjudgedMessage(answer.Unjudged)
		return policy.NoFailure
	}
	want, schema := outputcheck.AnyJSON, []byte(nil)
	switch f := v.format; {
	case f.Kind == provider.FormatJSONObject:
		want = outputcheck.Object
	case f.Kind == provider.FormatJSONSchema:
		want, schema = outputcheck.Schema, f.Schema
	}
	for i, text := range answer.Texts {
		r := ex.t.checker.Check(want, schema, text)
		switch r.Verdict {
		case outputcheck.Invalid:
			j.result, j.reason, j.keyword = ValidationFailed, r.Reason, r.Keyword
			j.message = r.Message
			if len(answer.Texts) > 1 {
				j.message = "choice " + strconv.Itoa(i) + ": " + j.message
			}
			if answer.Truncated {
				j.message = "the answer stopped at its output limit (max tokens); " + j.message
			}
			return policy.InvalidOutput
		case outputcheck.Skipped:
			j.result, j.reason, j.message = ValidationSkipped, r.Reason, r.Message
			return policy.NoFailure
		}
	}
	j.result = ValidationPassed
	if v.format.SyntaxOnly {
		j.message = v.format.Where + " is an OpenAPI schema, not JSON Schema: only the JSON syntax was checked"
	}
	return policy.NoFailure
}

// usageOf reads the usage of an answer held whole.
func (ex *exchange) usageOf(target policy.Target, body []byte, sse bool) provider.Usage {
	a := ex.prov.adapter
	if p := ex.t.providers[target.Provider]; p != nil {
		a = p.adapter
	}
	if !sse {
		return a.Usage(ex.rq, body)
	}
	obs := a.NewStreamObserver(ex.rq)
	events := wire.NewEventReader(bytes.NewReader(body))
	for {
		ev, err := events.Next()
		if err != nil {
			break
		}
		obs.Observe(ev)
	}
	return obs.Usage()
}

// verdictOf is the judgement of resp, or nil when it was not judged.
func (v *validation) verdictOf(resp *http.Response) *judged {
	if v == nil {
		return nil
	}
	for _, j := range v.judged {
		if j.resp == resp {
			return j
		}
	}
	return nil
}

// setHeaders says on the app's answer how its check went.
func (v *validation) setHeaders(h http.Header, resp *http.Response, static bool, rep *Report) {
	if v == nil || resp.StatusCode/100 != 2 {
		return
	}
	result, reason, message := ValidationSkipped, v.skip, v.skipMessage
	switch j := v.verdictOf(resp); {
	case static:
		reason, message = ReasonStatic, "the policy's static response is not checked"
	case v.skip != "":
	case j != nil:
		result, reason, message = j.result, j.reason, j.message
		rep.ValidationKeyword = j.keyword
	default:
		return // not a 2xx answer: nothing was asked of it
	}
	rep.Validation, rep.ValidationReason = result, reason
	h.Set(HeaderValidation, result)
	if reason != "" || message != "" {
		text := reason
		if message != "" {
			text += ": " + message
		}
		h.Set(HeaderValidationReason, headerText(text))
	}
}

// discarded are the answers that were read whole and paid for but not
// given to the app: each is charged as well.
func (v *validation) discarded(final *http.Response) []*judged {
	if v == nil {
		return nil
	}
	var out []*judged
	for _, j := range v.judged {
		if j.resp != final && j.size > 0 {
			out = append(out, j)
		}
	}
	return out
}

// releaseExcept gives back the buffer room of every judged answer but
// keep's (nil: all of them).
func (v *validation) releaseExcept(buffers *BufferBudget, keep *http.Response) {
	if v == nil {
		return
	}
	for _, j := range v.judged {
		if j.resp != keep && j.reserved > 0 {
			buffers.release(j.reserved)
			j.reserved = 0
		}
	}
}

// chargeDiscarded prices the discarded answers, each at its own target's
// price, into rep.Discarded. An answer whose usage is unknown or
// incomplete is charged conservatively, as the final answer would be.
func (t *Transport) chargeDiscarded(rep *Report, rq provider.Request, v *validation, final *http.Response) {
	for _, j := range v.discarded(final) {
		d := Discarded{Served: j.target, Usage: j.usage, Result: j.result}
		if d.Served.Model == "" {
			d.Served.Model = rq.Model
		}
		if price, ok := t.priceOf(d.Served.Provider, d.Served.Model); ok {
			d.Priced = true
			d.CostUSD = price.Cost(tokensOf(j.usage))
			switch {
			case !j.complete:
				d.Estimated = EstimateCutShort
			case !j.usage.Known:
				d.Estimated = EstimateNoUsage
			}
			if d.Estimated != "" {
				d.CostUSD = proxyconfig.MaxUSD(d.CostUSD, chargeUnknown(price, rq, j.size))
			}
		}
		rep.Discarded = append(rep.Discarded, d)
	}
}

// discardedCost is what rep's discarded answers cost together.
func (rep *Report) discardedCost() proxyconfig.USD {
	var sum proxyconfig.USD
	for _, d := range rep.Discarded {
		sum = sum.Add(d.CostUSD)
	}
	return sum
}

func tooLarge() string {
	return "the answer is over " + strconv.Itoa(maxCheckedBytes) + " bytes, more than the sidecar holds to check"
}

func unjudgedMessage(reason string) string {
	if reason == provider.UnjudgedRefusal {
		return "the model refused; a refusal is passed on unchecked"
	}
	return "the model called a tool; only a final answer is checked"
}

// headerText makes s a safe header value: printable ASCII, bounded.
func headerText(s string) string {
	b := make([]byte, 0, min(len(s), maxReasonHeader))
	for i := 0; i < len(s) && len(b) < maxReasonHeader; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b = append(b, c)
	}
	if len(s) > maxReasonHeader {
		b = append(b[:maxReasonHeader-3], "..."...)
	}
	return string(b)
}

func readCloser(r io.Reader, c io.Closer) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{r, c}
}

// errorReader fails every read with err.
type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }
