package llmclient

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// errPath is wrapped by the errors of canonicalPath: the request's path is
// one Tollgate refuses to forward, which RoundTrip answers with
// tollgate_bad_request.
var errPath = errors.New("path refused")

// canonicalPath returns the one form of an escaped request path that
// Tollgate both reads (provider, API shape, Azure deployment, Gemini model)
// and sends upstream, so that what the policy judged is what the provider
// serves.
//
// It normalises what RFC 3986 says is equivalent: percent-encoded
// unreserved characters are decoded ("%61" is "a", "%2e" is "."), the hex
// digits of other escapes are upper-cased, and bytes that may not appear
// in a path are escaped. Every other byte is kept as the app sent it, so a
// "%20" reaches the provider as "%20", never as "%2520".
//
// It refuses, instead of cleaning, what servers on the way disagree about:
// dot segments ("." and "..", also written "%2e" or with ";" parameters as
// in "..;"), empty segments ("//", a trailing "/"), and encoded separators
// inside a segment ("%2F", "%5C", a raw "\", and "%3A", which divides a
// Gemini model from its method), and "%00". Some upstreams and the proxies
// in front of them resolve dot segments, merge slashes or decode "%2F"
// into a separator, others do not; whatever cleaning Tollgate chose, a
// request could be classified as one endpoint and served as another
// (/chat/completions/x/.. reaching chat completions unmetered, an Azure
// deployments/<allowed>/../<other> billed as the allowed one). Refusing
// is right for every upstream, and costs no real client anything: SDKs
// remove dot segments and never double slashes.
func canonicalPath(escaped string) (string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return "", fmt.Errorf("%w: %q does not start with /", errPath, escaped)
	}
	var b strings.Builder
	b.Grow(len(escaped))
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch {
		case c == '%':
			if i+2 >= len(escaped) || unhex(escaped[i+1]) < 0 || unhex(escaped[i+2]) < 0 {
				return "", fmt.Errorf("%w: %q has a malformed percent-encoding at byte %d", errPath, escaped, i)
			}
			d := byte(unhex(escaped[i+1])<<4 | unhex(escaped[i+2]))
			i += 2
			if unreserved(d) {
				b.WriteByte(d)
				continue
			}
			if bad := separators[d]; bad != "" {
				return "", fmt.Errorf("%w: %q encodes %s (%%%02X) inside a segment, which servers on the way may read as a separator; send the path without it", errPath, escaped, bad, d)
			}
			fmt.Fprintf(&b, "%%%02X", d)
		case c == '\\':
			return "", fmt.Errorf("%w: %q has a backslash, which some servers read as /; send the path without it", errPath, escaped)
		case pathByte(c):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	p := b.String()
	for seg := range strings.SplitSeq(p[1:], "/") {
		name, _, _ := strings.Cut(seg, ";")
		switch {
		case seg == "":
			return "", fmt.Errorf("%w: %q has an empty segment (a doubled or trailing /): check the SDK's base URL", errPath, escaped)
		case name == "." || name == "..":
			return "", fmt.Errorf("%w: %q has a dot segment (%s), which servers on the way resolve differently; send the resolved path", errPath, escaped, seg)
		}
	}
	return p, nil
}

// separators are the bytes refused in escaped form, named for the message.
var separators = map[byte]string{'/': "a slash", '\\': "a backslash", ':': "a colon", 0: "a NUL byte"}

// unreserved reports whether c is an RFC 3986 unreserved character, whose
// escaped and plain forms are the same URI.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// pathByte reports whether c may appear unescaped in a path, as
// net/url's EscapedPath accepts it: unreserved characters, sub-delims,
// ":", "@", "/", and "[" "]", which browsers leave alone.
func pathByte(c byte) bool {
	return unreserved(c) || strings.IndexByte("!$&'()*+,;=:@/[]", c) >= 0
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// splitRoute splits a canonical /<provider>/<rest> into the provider name
// and /<rest>.
func splitRoute(path string) (name, rest string) {
	path = strings.TrimPrefix(path, "/")
	name, rest, _ = strings.Cut(path, "/")
	return name, "/" + rest
}

// requestPath is the path of u as the app sent it: the raw form when the
// URL keeps one, which net/url's EscapedPath would re-escape (and so
// change) when it holds a byte it does not expect.
func requestPath(u *url.URL) string {
	if u.RawPath != "" {
		if p, err := url.PathUnescape(u.RawPath); err == nil && p == u.Path {
			return u.RawPath
		}
	}
	return u.EscapedPath()
}

// upstreamURL is base with the canonical path appended and the app's raw
// query, set so that the request line carries exactly that path.
func upstreamURL(base *url.URL, path, rawQuery string) (*url.URL, error) {
	u := *base
	escaped := strings.TrimSuffix(base.EscapedPath(), "/") + path
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, fmt.Errorf("upstream path %q: %w", escaped, err)
	}
	u.Path, u.RawPath, u.RawQuery = p, escaped, rawQuery
	return &u, nil
}
