package llmclient

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestCredentialName_CoversEveryProvidersHeaderAndKeyLikeNames(t *testing.T) {
	for _, name := range []string{
		"Authorization", "authorization", "X-Api-Key", "x-api-key", "Api-Key", "X-Goog-Api-Key",
		"Proxy-Authorization", "Cookie", "Set-Cookie", "Ocp-Apim-Subscription-Key", "X-Auth-Token",
		"key", "api_key", "apikey", "access_token", "client_secret", "sig", "password",
	} {
		assert.True(t, credentialName(name), name)
	}
	for _, name := range []string{"Content-Type", "Anthropic-Version", "X-Request-Id", "User-Agent", "api-version", "alt", "OpenAI-Organization"} {
		assert.False(t, credentialName(name), name)
	}
}

func TestScrubber_RemovesKnownSecretsAndKeyLookingStrings(t *testing.T) {
	tests := map[string]struct {
		secrets []string
		in      string
		want    string
	}{
		"a secret by its value": {
			secrets: []string{"0123456789abcdef0123456789abcdef"},
			in:      `{"error":"key 0123456789abcdef0123456789abcdef is not valid"}`,
			want:    `{"error":"key [redacted] is not valid"}`,
		},
		"the token of a bearer header": {
			secrets: []string{"Bearer my-azure-ad-token-value"},
			in:      `token my-azure-ad-token-value expired`,
			want:    `token [redacted] expired`,
		},
		"an OpenAI key nobody declared": {
			in:   `Incorrect API key provided: sk-proj-AbCdEf0123456789xyz. You can find your API key`,
			want: `Incorrect API key provided: [redacted]. You can find your API key`,
		},
		"a Google key": {
			in:   `API key AIzaSyA1234567890abcdefghijklmnopqrstu not valid`,
			want: `API key [redacted] not valid`,
		},
		"a bearer token in text": {
			in:   `sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc`,
			want: `sent Authorization: Bearer [redacted]`,
		},
		"a key in a URL of an error message": {
			in:   `Post "https://generativelanguage.googleapis.com/v1beta/models/x:generateContent?alt=sse&key=abc123": dial tcp: i/o timeout`,
			want: `Post "https://generativelanguage.googleapis.com/v1beta/models/x:generateContent?alt=sse&key=[redacted]": dial tcp: i/o timeout`,
		},
		"short values are not scrubbed by value": {
			secrets: []string{"abc"},
			in:      "abcdef",
			want:    "abcdef",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &scrubber{}
			for _, v := range tc.secrets {
				s.add(v)
			}
			assert.Equal(t, tc.want, string(s.scrub([]byte(tc.in))))
		})
	}
}

func TestScrubber_PrefixFindsAKeyAcrossTheCutAndCutsWholeCharacters(t *testing.T) {
	s := &scrubber{}
	s.add("0123456789abcdef0123456789abcdef")
	text := strings.Repeat("x", 90) + "0123456789abcdef0123456789abcdef" + strings.Repeat("y", 100)
	got, cut := s.prefix([]byte(text), 100)
	assert.True(t, cut)
	assert.Equal(t, strings.Repeat("x", 90)+"[redacted]", string(got), "the key straddling the cut is gone, not halved")

	got, cut = s.prefix([]byte("héllo wörld"), 2)
	assert.True(t, cut)
	assert.Equal(t, "h", string(got), "é is not cut in half")
	assert.True(t, utf8.Valid(got))

	got, cut = s.prefix([]byte("short"), 100)
	assert.False(t, cut)
	assert.Equal(t, "short", string(got))
}

func TestScrubber_RedactsQueryParametersAndRemembersTheirValues(t *testing.T) {
	s := &scrubber{}
	q := s.redactedQuery("alt=sse&key=AIzaQueryKey123456&api-version=2024-10-21&api_key=other%2Dsecret-1234&flag")
	assert.Equal(t, "alt=sse&key=[redacted]&api-version=2024-10-21&api_key=[redacted]&flag", q)
	assert.Equal(t, "x [redacted] y [redacted]", string(s.scrub([]byte("x AIzaQueryKey123456 y other-secret-1234"))))
}

func TestScrubber_RedactedHeaderReplacesCredentialsAndBoundsTheRest(t *testing.T) {
	s := &scrubber{}
	h := http.Header{
		"Authorization":  {"Bearer sk-app-key-0123456789abcdef"},
		"X-Api-Key":      {"anthropic-key-value-123"},
		"Api-Key":        {"azure-key-value-1234567"},
		"X-Goog-Api-Key": {"AIzaGoogKey0123456789"},
		"Cookie":         {"session=cookie-secret-12345"},
		"Content-Type":   {"application/json"},
		"X-Debug":        {"echo anthropic-key-value-123 " + strings.Repeat("z", 600)},
	}
	s.learnHeader(h)
	got := s.redactedHeader(h, nil)
	for _, name := range []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key", "Cookie"} {
		assert.Equal(t, []string{Redacted}, got[name], name)
	}
	assert.Equal(t, []string{"application/json"}, got["Content-Type"])
	debug := got.Get("X-Debug")
	assert.True(t, strings.HasPrefix(debug, "echo [redacted] zzz"), debug)
	assert.Len(t, debug, maxTraceHeaderBytes)
	assert.Equal(t, "[redacted]", string(s.scrub([]byte("cookie-secret-12345"))), "a cookie's value is a secret too")
}

func TestScrubber_LooksForABoundedNumberOfSecrets(t *testing.T) {
	var cookies []string
	for i := range 10000 {
		cookies = append(cookies, fmt.Sprintf("c%d=value-%08d", i, i))
	}
	s := &scrubber{}
	s.learnHeader(http.Header{"Cookie": {strings.Join(cookies, "; ")}})
	assert.Len(t, s.secrets, maxSecrets)
	assert.Equal(t, []string{Redacted}, s.redactedHeader(http.Header{"Cookie": {"x"}}, nil)["Cookie"], "the header is still redacted whole")
}
