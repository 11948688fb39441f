// Package client is Tollgate's provider layer, usable on its own as a Go
// library: a resilient LLM client whose http.RoundTripper enforces a policy
// (timeouts, retries, circuit breaking, fallbacks) on calls to OpenAI,
// Anthropic, Azure OpenAI, Gemini and OpenAI-compatible servers.
//
// Per provider type an Adapter knows how to read a request (model, stream
// flag, max tokens), how to read token usage from a JSON body or an SSE
// stream, how to classify an error answer, and how to phrase Tollgate's own
// refusals and static responses in the provider's shapes.
//
// Import it under an alias (llmclient) where controller-runtime's client is
// also in scope.
package llmclient
