package cache

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ignoredField is a top-level request member left out of the key for the
// APIs whose path ends in one of pathSuffixes.
type ignoredField struct {
	name         string
	pathSuffixes []string
	why          string
}

// Paths of the APIs that have members to ignore. "/completions" also ends
// "/chat/completions".
var (
	completionsPaths = []string{"/completions"}
	openAIPaths      = []string{"/completions", "/embeddings"}
	chatAndMessages  = []string{"/completions", "/messages"}
)

// ignoredFields is the one list of request members that do not change the
// answer and are left out of the key. Everything else is kept: a cache
// that wrongly shares answers is worse than a lower hit rate. In
// particular these stay in the key:
//   - stream, stream_options: a stream is a different body from a JSON
//     answer, and include_usage adds a chunk;
//   - store: a Responses API answer stored at the provider can be
//     continued with previous_response_id, one that was not cannot;
//   - service_tier: it is echoed in the answer and changes its price;
//   - everything of the Responses API (/responses): its answer echoes
//     the request's user, metadata, safety_identifier and
//     prompt_cache_key, so a shared answer would show one end user's
//     identifiers to another;
//   - every member of Gemini requests.
var ignoredFields = []ignoredField{
	{"user", openAIPaths, "OpenAI's end-user identifier for abuse monitoring; chat, completions and embeddings answers do not echo it"},
	{"safety_identifier", completionsPaths, "OpenAI's successor to user; not echoed by chat completions"},
	{"prompt_cache_key", completionsPaths, "routes to the provider's prompt cache, which changes cost and latency, not the answer; not echoed by chat completions"},
	{"metadata", chatAndMessages, "OpenAI chat: tags for stored completions; Anthropic: metadata.user_id for abuse detection; neither answer echoes it"},
}

// ignored reports whether the top-level member name of a request to path
// (without query) is left out of the key.
func ignored(path, name string) bool {
	for _, f := range ignoredFields {
		if f.name != name {
			continue
		}
		for _, suffix := range f.pathSuffixes {
			if strings.HasSuffix(path, suffix) {
				return true
			}
		}
	}
	return false
}

// checkStateless returns ErrStateful for a request whose answer must come
// from the provider because the request changes state there: a Responses
// API request naming a conversation appends its turn to it.
func checkStateless(path string, body []byte) error {
	if !strings.HasSuffix(path, "/responses") {
		return nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil // not an object: nothing names a conversation
	}
	if c, ok := top["conversation"]; ok && string(c) != "null" {
		return fmt.Errorf("%w: a Responses API request with a conversation appends to it", ErrStateful)
	}
	return nil
}
