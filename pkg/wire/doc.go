// Package wire reads and edits the bytes LLM APIs exchange without
// decoding them whole: a JSON scanner that finds a member's value in a body
// of megabytes, edits that splice a member in while every other byte stays
// as the app wrote it, the canonical form of a JSON document (for cache
// keys), and a reader that splits a text/event-stream into events for
// byte-exact passthrough.
//
// pkg/provider, pkg/llmclient and pkg/cache share it, so there is one JSON
// scanner and one SSE splitter. It imports nothing of Tollgate's.
package wire
