// Package telemetry exports the sidecar's traces and metrics over OTLP/HTTP
// (the exporters of package otlp: no gRPC), following OpenTelemetry's
// GenAI semantic conventions (the Go semconv package v1.41.0, the last to
// hold them before they moved to their own repository), when the standard
// OTEL_EXPORTER_OTLP_* variables ask for it (see FromEnv). Without them
// there is no Telemetry at all: the sidecar builds no exporter and no SDK
// provider, starts no goroutine or span, and records nothing.
//
// Traces. Each request the app sends is one span of kind CLIENT named
// "{gen_ai.operation.name} {gen_ai.request.model}", a child of the app's
// span when the request carries W3C trace context (traceparent,
// tracestate), with gen_ai.provider.name, gen_ai.request.model,
// gen_ai.request.stream, gen_ai.response.model, gen_ai.usage.* (input and
// output tokens, cache reads and writes, reasoning tokens, where the
// provider reports them), gen_ai.response.time_to_first_chunk of a stream,
// server.address and server.port of the provider that answered, error.type
// when the request failed, and Tollgate's own tollgate.* attributes
// (policy, provider, attempts, fallback rung and who served, cache
// result, cost as an exact decimal string, why a cost is an estimate,
// budget and breaker state, how the answer ended, request id). The
// attempts sent upstream are its child spans (see pkg/llmclient): retries
// and fallbacks show as spans of their own, while only this span carries
// gen_ai.* attributes, so that a request's tokens are counted once.
// Requests that are no GenAI operation (model listings, files) keep a span
// named for their HTTP method, with the tollgate.* attributes.
//
// Metrics. gen_ai.client.operation.duration, gen_ai.client.token.usage
// (by gen_ai.token.type input and output) and, for streams,
// gen_ai.client.operation.time_to_first_chunk, with the bucket boundaries
// the conventions advise. Their attribute values are as bounded as the
// Prometheus labels: models are counted under the values the Prometheus
// metrics use (see metrics.Sidecar.ModelLabel), providers and servers come
// from the loaded policy, error types from a fixed set. The Prometheus
// metrics are unchanged.
//
// What is never exported: prompts, answers, tool calls and any other
// content (no gen_ai.input.messages, gen_ai.output.messages,
// gen_ai.system_instructions), headers, API keys, and URL queries (where
// Gemini's key may be).
package telemetry
