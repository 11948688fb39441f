// Package llmclient is Tollgate's resilient LLM client, usable on its own
// as a Go library: an http.RoundTripper that enforces a policy (timeouts,
// retries, circuit breaking, rate limits, fallbacks, the response cache and
// the cost budget) on calls to OpenAI, Anthropic, Azure OpenAI, Gemini and
// OpenAI-compatible servers. The sidecar serves it to the app's SDKs.
//
// What differs per provider (how to read a request, its usage, its errors)
// is in pkg/provider; the byte-level JSON and SSE handling both share is in
// pkg/wire; the failsafe-go composition is pkg/policy. Its name needs no
// alias next to controller-runtime's client package.
//
// Tracing is the caller's: a request whose context carries a recording
// OpenTelemetry span gets a child span per attempt sent upstream, and
// Report.Span hands the span back when the request is over (see tracing.go).
// No trace context is forwarded to providers, except to those whose
// ForwardTraceContext is set: the attempt span's traceparent and
// tracestate, or the app's own without a recording span; never baggage.
package llmclient
