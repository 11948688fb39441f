// Package mockprovider is a fault-injecting fake LLM provider for tests and
// benchmarks. It answers on one listener in the shapes of the real APIs:
//
//   - OpenAI chat completions (POST .../chat/completions, including Azure
//     /openai/deployments/{deployment}/chat/completions and Gemini's
//     /v1beta/openai/chat/completions), JSON or SSE;
//   - OpenAI Responses (POST .../responses), JSON or SSE;
//   - OpenAI embeddings (POST .../embeddings), with a deterministic
//     stand-in for an embedding model ([Embed]: a feature hash of words,
//     word pairs and character trigrams, as long as the request's
//     "dimensions", else [DefaultEmbeddingDimensions]);
//   - Anthropic messages (POST /v1/messages), JSON or SSE;
//   - Gemini generateContent and streamGenerateContent (SSE with alt=sse,
//     a streamed JSON array without);
//   - OpenAI model listing (GET .../models), for passthrough tests.
//
// Bodies and streams carry what SDKs and usage parsers read: the request's
// model echoed back, the reply text, and token usage in each provider's own
// fields. Errors use each provider's error shape.
//
// Tests script answers per request with [Step]s: queued FIFO for any request
// ([Server.Enqueue]) or for one model first ([Server.EnqueueFor]), with a
// default for when nothing is queued ([Server.SetDefault]). A step sets the
// status, headers, delays, token usage and reply, and can inject a [Fault]:
// a connection reset before headers or mid-stream, a stream cut short, a
// malformed body, or a hang. Every request is recorded ([Server.Requests])
// with the step that answered it.
//
// # HTTP control API
//
// The same scripting is reachable over HTTP on the same listener, which is
// how the cmd/mock-provider binary is driven by demos and the benchmark:
//
//	POST /_mock/enqueue   [step, ...], or {"model": "m", "steps": [step, ...]}
//	POST /_mock/default   step
//	GET  /_mock/requests  {"received": n, "requests": [request, ...]}
//	POST /_mock/reset
//	GET  /_mock/healthz   {"status": "ok"}
//
// A step is the JSON form of [Step]: snake_case fields, durations as Go
// duration strings, faults by name, e.g.
//
//	{"status": 429, "retry_after": "2", "error_code": "insufficient_quota"}
//	{"first_byte_delay": "250ms", "chunk_delay": "20ms", "chunks": 200,
//	 "usage": {"input_tokens": 1000, "output_tokens": 200, "cached_input_tokens": 0}}
//	{"fault": "reset_mid_stream", "after_events": 3}
//	{"content_bytes": 65536}
//
// Unknown fields and faults are refused, so that a typo fails loudly rather
// than scripting a plain 200. Mutations answer 204; bad input answers 400
// with {"error": "..."}. Control calls are not recorded.
package mockprovider
