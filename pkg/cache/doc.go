// Package cache is Tollgate's exact response cache: it answers a request
// that is identical to an earlier one with the earlier answer, from
// memory. It is pure Go: no HTTP server, no Kubernetes; pkg/llmclient wires it
// into its Transport.
//
// # Keys
//
// Key hashes (SHA-256) the credential scope, the provider name, the
// upstream path with its query string, and the canonical form of the
// request body: objects' members sorted, no insignificant whitespace,
// strings decoded and re-encoded one way, numbers compared as exact
// decimals (1 and 1.0 are equal, 0.7 and 0.70 too; no float64 rounding).
// Every member that can change the answer is in the key: model, messages,
// system, tools, temperature, top_p, seed, response_format, max tokens,
// stream and stream_options, and any member Tollgate does not know. The
// few members left out are listed, each with its reason, in
// ignoredFields; when in doubt a member stays in, because a cache that
// wrongly shares answers is worse than a lower hit rate.
//
// Keys never contain an API key: Gemini's key query parameter is left out,
// and Scope stands for the credential (ScopeOf hashes it one way). Scope
// is required, so that two tenants never share answers.
//
// A body that is not JSON, or that has no single canonical form (a member
// named twice, a lone surrogate escape), gets no key and is not cached;
// neither is a request that changes state at the provider (a Responses API
// request naming a conversation).
//
// # What is stored
//
// Store.Add takes only 2xx answers, identity-encoded, complete (a stream
// ends with a blank line, a JSON body is valid JSON), not reporting an
// error in their body, and no larger than MaxEntryBytes. Completeness of
// a read is the caller's to know: it adds an answer only once the
// provider's body ended cleanly (not at a timeout, not broken off), and
// only the answer of the target the app asked for (not a fallback's, not a
// static response). Only the Content-Type header is kept (keptHeaders).
//
// # Determinism
//
// With onlyDeterministic set, the caller caches only requests for which
// Deterministic is true: a temperature set to 0. OpenAI, Anthropic and
// Gemini all default the temperature to 1.0, so a request without one is
// not deterministic. Gemini puts it under generationConfig.temperature.
//
// # Streams
//
// A streaming request's key differs from a non-streaming one's (stream is
// in the key), so a stream is answered from a stored stream. Entry.Response
// replays it one event per Read, so a proxy that flushes after every Read
// sends it event by event.
//
// # Store
//
// Store is an LRU with a TTL (hashicorp/golang-lru/v2 expirable), bounded
// by entry count and total bytes. Entries expire TTL after they were
// stored; a hit does not extend them.
//
// # Stale answers
//
// The cachedResponse fallback rung serves the last good answer to a
// request when the providers fail, up to its maxStale old. It reads the
// same Store as the response cache: the caller builds the Store with the
// longer of the two ages as its TTL, and each reader asks for answers no
// older than its own (Store.Within). Such an answer is marked
// X-Tollgate-Cache: stale instead of hit.
package cache
