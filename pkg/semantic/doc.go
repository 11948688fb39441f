// Package semantic is Tollgate's semantic cache: it answers a request
// from the answer to an earlier one whose context is identical and whose
// last user message is close in meaning, as measured by the cosine
// similarity of the two messages' embeddings. It is pure Go, like
// pkg/cache, whose Entry it stores and replays; pkg/llmclient calls the
// embedding model and wires it into its Transport.
//
// # Partitions
//
// Split cuts a request body in two: the text of its last user message,
// and everything else with that text replaced by a fixed placeholder. The
// caller hashes everything else into a partition key with cache.Key
// (model, parameters, system prompt, tools, earlier turns, path, and the
// credential scope), and the Store compares messages only within a
// partition: two requests that differ in anything but the wording of the
// last user message never share an answer. A request that does not end
// with a user message of plain text (a tool result, an image) is not
// split, and is left to the exact cache.
//
// # Matching
//
// Store.Lookup scores every entry of the partition (exact search: see
// Store) and returns the best one whose similarity reaches the threshold
// and whose message the Guard does not tell apart from the request's.
// Embeddings are blind to small words that flip a meaning ("turn on" and
// "turn off" score close to 1), so Guard refuses a match when the two
// messages differ in negations, in words of opposite polarity (on/off,
// enable/disable, ...), in negating prefixes (legal/illegal) or in
// numbers. It is a lexical, English-only check and catches only what its
// lists name; the threshold does the rest.
//
// # Storage
//
// Only answers that the exact cache would store are stored (cache.Prepare),
// and, unless the caller allows it, none that calls a tool (CallsTools):
// such an answer acts on the wording of its request. The Store is bounded
// by entry count, bytes (answers, vectors and message texts) and a TTL,
// with an expirable LRU (hashicorp/golang-lru/v2) underneath, like the
// exact cache's.
package semantic
