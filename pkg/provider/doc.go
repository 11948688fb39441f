// Package provider knows the LLM providers' APIs. Per provider type
// (OpenAI, Anthropic, Azure OpenAI, Gemini, OpenAI-compatible) an Adapter
// reads a request (model, stream flag, max tokens), reads token usage from
// a JSON answer or an SSE stream as it passes, classifies an error answer
// for the retry and breaker policies, sets credentials, and phrases
// Tollgate's own refusals and static answers in the provider's shapes.
//
// It is a pure function of bytes: no HTTP client, no server. pkg/llmclient
// drives it; the recorded answers under testdata/ pin what it reads.
package provider
