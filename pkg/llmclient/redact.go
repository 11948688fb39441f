package llmclient

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted stands in a trace for every credential: the value of a
// credential header or a key-like query parameter, and any key found in a
// body or an error message.
const Redacted = "[redacted]"

// minSecret is the shortest value scrubbed from bodies and messages by
// its value: shorter ones would mangle text that merely contains them, and
// no provider issues keys that short. Credential headers and parameters
// are redacted whatever their length.
const minSecret = 8

// secretMargin is how far past a cut a body is scrubbed, so that a key
// that straddles the cut is found whole and not left half in the record.
const secretMargin = 512

// maxSecrets bounds the values a scrubber looks for, so that a request
// with thousands of cookies cannot make its trace slow to make: the
// credential headers themselves are redacted whole whatever their number.
const maxSecrets = 64

// credentialName tells whether a header or query parameter name says its
// value is a credential: the headers providers read keys from
// (credentialHeaders, also for the cache scope), cookies, and any name
// that speaks of a key, token, secret, password, signature or auth.
func credentialName(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "cookie", "set-cookie", "proxy-authorization", "sig", "code":
		return true
	}
	for _, h := range credentialHeaders {
		if strings.EqualFold(n, h) {
			return true
		}
	}
	for _, word := range []string{"key", "token", "secret", "passw", "signature", "auth", "credential", "session"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}

// keyPatterns find keys in text by their look, whoever sent them: the
// formats of OpenAI and Anthropic (sk-...), Google (AIza...), bearer
// tokens, and key-like parameters of URLs (in a connection error's
// message, or an error body that echoes the request).
var keyPatterns = []struct {
	re   *regexp.Regexp
	with []byte
}{
	{regexp.MustCompile(`sk-[A-Za-z0-9_\-]{16,}`), []byte(Redacted)},
	{regexp.MustCompile(`AIza[0-9A-Za-z_\-]{30,}`), []byte(Redacted)},
	{regexp.MustCompile(`(?i)(bearer|basic)(\s+)[A-Za-z0-9._~+/\-]+=*`), []byte("${1}${2}" + Redacted)},
	{regexp.MustCompile(`(?i)([?&][a-z0-9_.\-]*(?:key|token|secret|passw|signature|sig|auth)[a-z0-9_.\-]*=)[^&\s"'<>\\]+`), []byte("${1}" + Redacted)},
}

// scrubber removes credentials from text bound for a trace: each secret
// by its value (the app's credential headers and parameters, the keys the
// sidecar holds), then anything that looks like a key.
type scrubber struct {
	secrets [][]byte
}

// add remembers a credential value, and the token of a value with a
// scheme (Bearer xyz) and the values of a cookie list, to scrub them.
func (s *scrubber) add(value string) {
	for _, v := range append([]string{value}, secretParts(value)...) {
		if len(v) >= minSecret && len(s.secrets) < maxSecrets {
			s.secrets = append(s.secrets, []byte(v))
		}
	}
}

func secretParts(value string) []string {
	var parts []string
	for _, f := range strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == ';' || r == ',' }) {
		parts = append(parts, f)
		if _, v, ok := strings.Cut(f, "="); ok {
			parts = append(parts, v)
		}
	}
	return parts
}

// scrub returns text without the credentials it holds. It never changes
// text in place.
func (s *scrubber) scrub(text []byte) []byte {
	out := text
	for _, secret := range s.secrets {
		if bytes.Contains(out, secret) {
			out = bytes.ReplaceAll(out, secret, []byte(Redacted))
		}
	}
	for _, p := range keyPatterns {
		if p.re.Match(out) {
			out = p.re.ReplaceAll(out, p.with)
		}
	}
	return out
}

// scrubString is scrub for strings.
func (s *scrubber) scrubString(text string) string {
	return string(s.scrub([]byte(text)))
}

// prefix returns the first n bytes of text, scrubbed, cut back to a whole
// UTF-8 character, and whether text was longer. text is scrubbed a
// margin past the cut, so that no key is cut in half before it is found.
func (s *scrubber) prefix(text []byte, n int) ([]byte, bool) {
	window := text
	if len(window) > n+secretMargin {
		window = window[:n+secretMargin]
	}
	clean := s.scrub(window)
	if len(clean) <= n && len(window) == len(text) {
		return bytes.Clone(clean), false
	}
	cut := min(n, len(clean))
	for cut > 0 && cut < len(clean) && !utf8.RuneStart(clean[cut]) {
		cut-- // back to the start of a character
	}
	return bytes.Clone(clean[:cut]), true
}

// redactedQuery is raw with the value of every key-like parameter
// replaced, each parameter's value remembered as a secret; the rest is
// kept as the app wrote it.
func (s *scrubber) redactedQuery(raw string) string {
	if raw == "" {
		return ""
	}
	params := strings.Split(raw, "&")
	for i, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if credentialName(name) {
			if v, err := url.QueryUnescape(value); err == nil {
				s.add(v)
			}
			s.add(value)
			params[i] = p[:len(p)-len(value)] + Redacted
		}
	}
	return strings.Join(params, "&")
}

// Bounds of the headers a trace copies: the app chooses them.
const (
	maxTraceHeaders     = 64
	maxTraceHeaderBytes = 512
)

// learnHeader remembers the credentials of h, so that they are scrubbed
// wherever they appear.
func (s *scrubber) learnHeader(h http.Header) {
	for name, values := range h {
		if credentialName(name) {
			for _, v := range values {
				s.add(v)
			}
		}
	}
}

// redactedHeader is a copy of h with credential values replaced and the
// others scrubbed and cut, at most maxTraceHeaders of them; keep, when
// not nil, picks the headers to copy.
func (s *scrubber) redactedHeader(h http.Header, keep func(name string) bool) http.Header {
	out := http.Header{}
	for name, values := range h {
		if len(out) == maxTraceHeaders {
			break
		}
		if keep != nil && !keep(name) {
			continue
		}
		if len(name) > maxTraceHeaderBytes {
			name = name[:maxTraceHeaderBytes]
		}
		vs := make([]string, 0, len(values))
		for _, v := range values {
			if credentialName(name) {
				vs = append(vs, Redacted)
				continue
			}
			clean, _ := s.prefix([]byte(v), maxTraceHeaderBytes)
			vs = append(vs, string(clean))
		}
		out[name] = vs
	}
	return out
}
