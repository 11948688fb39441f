package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"

	"tollgate.dev/tollgate/pkg/wire"
)

// keyVersion is hashed into every key, so that a change to the key's
// rules can never make a new key equal an old one.
const keyVersion = "tollgate.cache.key/v1"

// ErrNoScope is returned by Key for a KeyInput without a Scope: entries
// must be scoped per credential, and an empty scope would let every
// tenant share answers.
var ErrNoScope = errors.New("cache key needs a credential scope")

// ErrStateful is returned by Key for a request that changes state at the
// provider, which an answer from the cache would skip.
var ErrStateful = errors.New("request changes state at the provider")

// KeyInput is everything that identifies an answer.
type KeyInput struct {
	// Scope keeps the answers of different credentials apart: ScopeOf the
	// app's API key, or the provider name when the sidecar holds the key.
	// Required.
	Scope string
	// Provider is the provider's name in the policy. A caller that keeps
	// a Store across policy reloads may append the provider's base URL,
	// so that a provider pointed elsewhere does not serve the old
	// upstream's answers.
	Provider string
	// Path is the upstream path after the provider prefix, with its query
	// string (/v1/chat/completions, /v1beta/models/m:generateContent?alt=sse).
	// Gemini's key query parameter is left out of the key: it is a
	// credential, which Scope stands for.
	Path string
	// Body is the request body as the app sent it (JSON).
	Body []byte
}

// Key returns the cache key of a request: the hex SHA-256 of the scope,
// provider, path (without credentials) and the canonical form of the body
// without the fields listed in ignoredFields. Key returns an error, and
// the request is not to be cached, when the body is not JSON or has no
// single canonical form (wire.ErrNotJSON, wire.ErrDuplicateName, wire.ErrLoneSurrogate),
// when in.Scope is empty (ErrNoScope), or when the request changes state
// at the provider (ErrStateful).
//
// Key does not judge whether a path is worth caching: the caller caches
// generation requests (chat completions, responses, messages,
// generateContent, embeddings) and nothing else.
func Key(in KeyInput) (string, error) {
	if in.Scope == "" {
		return "", ErrNoScope
	}
	path, _, _ := strings.Cut(in.Path, "?")
	canon, err := wire.Canonical(in.Body, func(name string) bool { return ignored(path, name) })
	if err != nil {
		return "", fmt.Errorf("cache key of %s %s: %w", in.Provider, path, err)
	}
	if err := checkStateless(path, in.Body); err != nil {
		return "", fmt.Errorf("cache key of %s %s: %w", in.Provider, path, err)
	}
	h := sha256.New()
	for _, part := range []string{keyVersion, in.Scope, in.Provider, withoutCredentials(in.Path)} {
		writeField(h, []byte(part))
	}
	writeField(h, canon)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeField writes b length-prefixed, so that no two sequences of fields
// hash the same bytes.
func writeField(h hash.Hash, b []byte) {
	h.Write(binary.AppendUvarint(nil, uint64(len(b))))
	h.Write(b)
}

// ScopeOf returns the scope of a credential (an API key): a one-way hash,
// so that neither keys nor the Store hold secrets.
func ScopeOf(credential string) string {
	sum := sha256.Sum256([]byte("tollgate.cache.scope\x00" + credential))
	return hex.EncodeToString(sum[:16])
}

// credentialParams are query parameters that carry credentials and are
// left out of keys.
var credentialParams = map[string]bool{
	"key": true, // Gemini's ?key=<API key>
}

// withoutCredentials returns path with its credential query parameters
// removed; the other parameters keep their order and encoding.
func withoutCredentials(path string) string {
	p, query, ok := strings.Cut(path, "?")
	if !ok {
		return path
	}
	var kept []string
	for part := range strings.SplitSeq(query, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && credentialParams[n] {
			continue
		}
		kept = append(kept, part)
	}
	if len(kept) == 0 {
		return p
	}
	return p + "?" + strings.Join(kept, "&")
}
