package llmclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"tollgate.dev/tollgate/pkg/policy"
)

// Tracing. A Transport starts no span for a request: the span of the
// request's context stands for it (the sidecar's GenAI span, or a library
// user's own), and Report.Span hands it to whoever ends it. While that
// span records, each attempt sent upstream gets a child span of kind
// CLIENT that follows OpenTelemetry's HTTP client conventions, which give
// every physical request, each retry included, a span of its own: named
// for its method, with http.request.method, server.address, server.port,
// url.full (without its query, where Gemini's key may ride),
// http.response.status_code and error.type, and Tollgate's
// tollgate.attempt, tollgate.provider and tollgate.model. It carries no
// gen_ai.* attribute: the request's span does, once, so that backends that
// sum GenAI spans count a request's tokens once however many attempts it
// took. The span of an attempt ends when its outcome is known: the first
// byte of a successful answer (what the first-token timeout covers), the
// headers of an error answer, or the failure.
//
// The semantic cache's embedding call is traced the same way: each of its
// attempts is a CLIENT span under the request's span, with
// tollgate.embedding true, the embedding model as tollgate.model, and its
// own attempt number (the embedding's retries count apart from the
// request's). Its span ends when the embedding's answer is read whole.
//
// Trace context upstream. The app's traceparent, tracestate and baggage
// are dropped from every upstream request: providers are third parties,
// and baggage often carries user or tenant ids. A provider whose
// ForwardTraceContext is set (a self-hosted server traced by the same
// collector) gets a traceparent and tracestate all the same: those of the
// attempt's span, so that its span is the attempt's child, or, when no
// span records, the app's own as they came. Baggage never goes upstream.

// tracerName is the instrumentation scope of the attempt spans.
const tracerName = "tollgate.dev/tollgate/pkg/llmclient"

// Attribute keys of Tollgate's own.
const (
	// AttrAttempt is the number of an attempt among the request's, from 1,
	// over every rung.
	AttrAttempt = attribute.Key("tollgate.attempt")
	// AttrProvider is a provider of the policy, by its name.
	AttrProvider = attribute.Key("tollgate.provider")
	// AttrModel is the model an attempt asked for.
	AttrModel = attribute.Key("tollgate.model")
	// AttrEmbedding marks the attempts of the semantic cache's embedding
	// call, which the sidecar makes on its own before the request's.
	AttrEmbedding = attribute.Key("tollgate.embedding")
)

// traceHeaders are the W3C trace context headers, dropped from every
// upstream request.
var traceHeaders = []string{"Traceparent", "Tracestate", "Baggage"}

// forwardedHeaders are those of traceHeaders a provider with
// ForwardTraceContext gets.
var forwardedHeaders = []string{"Traceparent", "Tracestate"}

// attemptSpan is the span of one attempt, nil when the request's span
// does not record.
type attemptSpan struct{ trace.Span }

// startAttempt starts the span of attempt number n about to send up to
// target, when the request's span records; extra are further attributes.
func (ex *exchange) startAttempt(ctx context.Context, target policy.Target, up *http.Request, n int, extra ...attribute.KeyValue) attemptSpan {
	parent := ex.rep.Span
	if parent == nil || !parent.IsRecording() {
		return attemptSpan{}
	}
	host, port := serverOf(up.URL)
	u := *up.URL
	u.RawQuery, u.ForceQuery, u.User = "", false, nil
	_, span := parent.TracerProvider().Tracer(tracerName, trace.WithSchemaURL(semconv.SchemaURL)).Start(
		ctx, up.Method, // ctx is the request's: its span is parent
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(up.Method),
			semconv.ServerAddress(host),
			semconv.ServerPort(port),
			semconv.URLFull(u.String()),
			AttrAttempt.Int(n),
			AttrProvider.String(target.Provider),
			AttrModel.String(Bounded(target.Model)),
		),
		trace.WithAttributes(extra...))
	return attemptSpan{span}
}

// traceAttempt starts the span of attempt number n (startAttempt) and, for
// a provider with ForwardTraceContext, sets up's trace context from it.
func (ex *exchange) traceAttempt(ctx context.Context, target policy.Target, up *http.Request, n int, extra ...attribute.KeyValue) attemptSpan {
	span := ex.startAttempt(ctx, target, up, n, extra...)
	if ex.t.providers[target.Provider].cfg.ForwardTraceContext {
		span.propagate(up.Header, ex.in.Header)
	}
	return span
}

// propagate sets the W3C trace context of up, a request to a provider with
// ForwardTraceContext: the span's, when it records, else what the app
// sent in (nothing when it sent none).
func (s attemptSpan) propagate(up, in http.Header) {
	if s.Span != nil {
		propagation.TraceContext{}.Inject(trace.ContextWithSpan(context.Background(), s.Span), propagation.HeaderCarrier(up))
		return
	}
	for _, h := range forwardedHeaders {
		if vs := in.Values(h); len(vs) > 0 {
			up[h] = append([]string(nil), vs...)
		}
	}
}

// end ends the span with the attempt's outcome: the answer's status, or
// err.
func (s attemptSpan) end(ex *exchange, ctx context.Context, resp *http.Response, err error) {
	if s.Span == nil {
		return
	}
	switch {
	case err != nil:
		s.SetAttributes(semconv.ErrorTypeKey.String(attemptError(ex, ctx)))
		s.SetStatus(codes.Error, "")
	case resp != nil:
		s.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		if resp.StatusCode >= 400 {
			s.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
			s.SetStatus(codes.Error, "")
		}
	}
	s.End()
}

// attemptError classifies an attempt that got no answer, as policy.Failure
// names it: cut by the first-token timeout (the attempt's context ended
// while the request's did not) or the total timeout, abandoned by the app,
// or failed to connect or to read.
func attemptError(ex *exchange, ctx context.Context) string {
	switch {
	case ex.in.Context().Err() != nil:
		return policy.Canceled.String()
	case errors.Is(ex.ctx.Err(), context.DeadlineExceeded), ctx.Err() != nil:
		return policy.Timeout.String()
	}
	return policy.ConnectionError.String()
}

// serverOf is the host and port u reaches.
func serverOf(u *url.URL) (string, int) {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return u.Hostname(), p
	}
	if u.Scheme == "http" {
		return u.Hostname(), 80
	}
	return u.Hostname(), 443
}

// maxAttributeBytes bounds what of a value the app chose (a model name) a
// span carries.
const maxAttributeBytes = 256

// Bounded is s, a value the app (or a provider) chose, as a span carries
// it: cut to maxAttributeBytes and made valid UTF-8, since an exporter
// refuses a whole batch that holds invalid UTF-8.
func Bounded(s string) string {
	if len(s) > maxAttributeBytes {
		s = s[:maxAttributeBytes]
	}
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
