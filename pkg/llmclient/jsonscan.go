package llmclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// This file holds a small JSON scanner that finds values in a body without
// decoding it: the proxy reads a handful of fields from bodies that can be
// megabytes of prompt, and edits bodies it must otherwise forward byte for
// byte. It locates values; json.Unmarshal still validates what is decoded.

// errMalformed is returned by the scanner for input that is not JSON.
var errMalformed = errors.New("malformed JSON")

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipSpace returns the index of the first non-whitespace byte of b at or
// after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just after the string literal starting at
// b[i] (which must be a quote).
func skipString(b []byte, i int) (int, error) {
	i++ // opening quote
	for i < len(b) {
		j := bytes.IndexAny(b[i:], `"\`)
		if j < 0 {
			return 0, errMalformed
		}
		i += j
		if b[i] == '"' {
			return i + 1, nil
		}
		i += 2 // backslash and the escaped byte
	}
	return 0, errMalformed
}

// skipValue returns the index just after the JSON value starting at b[i]
// (after any whitespace). It checks nesting and strings but not every rule
// of the grammar: callers decode what they keep with encoding/json.
func skipValue(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, errMalformed
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errMalformed
	default:
		// A number or a literal: runs to the next delimiter.
		start := i
		for i < len(b) {
			c := b[i]
			if c == ',' || c == '}' || c == ']' || c == ':' || c == '"' || isSpace(c) {
				break
			}
			i++
		}
		if i == start {
			return 0, errMalformed
		}
		return i, nil
	}
}

// field is one member of a JSON object, as offsets into the object's bytes.
type field struct {
	keyStart   int // the key's opening quote
	valueStart int
	valueEnd   int
}

// findField finds the member named key in the JSON object obj, ignoring
// leading whitespace. When the key occurs more than once the last one wins,
// as it does for encoding/json and for the providers' parsers.
func findField(obj []byte, key string) (f field, found bool, err error) {
	err = eachField(obj, func(k []byte, cur field) {
		if keyEquals(k, key) {
			f, found = cur, true
		}
	})
	return f, found, err
}

// eachField calls fn with the raw key (quotes included) and offsets of
// every member of the JSON object obj, in order.
func eachField(obj []byte, fn func(key []byte, f field)) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errMalformed
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return errMalformed
		}
		keyEnd, err := skipString(obj, i)
		if err != nil {
			return err
		}
		colon := skipSpace(obj, keyEnd)
		if colon >= len(obj) || obj[colon] != ':' {
			return errMalformed
		}
		vs := skipSpace(obj, colon+1)
		ve, err := skipValue(obj, vs)
		if err != nil {
			return err
		}
		fn(obj[i:keyEnd], field{keyStart: i, valueStart: vs, valueEnd: ve})
		i = skipSpace(obj, ve)
		if i >= len(obj) {
			return errMalformed
		}
		switch obj[i] {
		case '}':
			return nil
		case ',':
			i = skipSpace(obj, i+1)
		default:
			return errMalformed
		}
	}
	return errMalformed
}

// keyEquals reports whether the raw JSON string rawKey (quotes included)
// decodes to key.
func keyEquals(rawKey []byte, key string) bool {
	if len(rawKey) < 2 {
		return false
	}
	inner := rawKey[1 : len(rawKey)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == key
	}
	// Escaped keys are rare enough to decode the slow way.
	var s string
	if json.Unmarshal(rawKey, &s) != nil {
		return false
	}
	return s == key
}

// topLevelValue returns the raw value of member key of the JSON object obj.
func topLevelValue(obj []byte, key string) ([]byte, bool) {
	f, found, err := findField(obj, key)
	if err != nil || !found {
		return nil, false
	}
	return obj[f.valueStart:f.valueEnd], true
}

// mayHaveObjectMember is a cheap pre-check for stream events: it reports
// whether data contains "key" followed by a colon and an object, so that
// events that cannot carry the member are passed over without parsing.
// Inside JSON strings quotes are escaped, so text content cannot produce a
// match; a false positive only costs a parse.
func mayHaveObjectMember(data []byte, quotedKey string) bool {
	for {
		i := bytes.Index(data, []byte(quotedKey))
		if i < 0 {
			return false
		}
		data = data[i+len(quotedKey):]
		j := skipSpace(data, 0)
		if j < len(data) && data[j] == ':' {
			j = skipSpace(data, j+1)
			if j < len(data) && data[j] == '{' {
				return true
			}
		}
	}
}

// stringLen returns the length in bytes of the text the JSON string
// literal s (quotes included) decodes to, without decoding it.
func stringLen(s []byte) int {
	if len(s) < 2 {
		return 0
	}
	s = s[1 : len(s)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return len(s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			n++
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		if s[i] != 'u' {
			n++ // \n, \t, \", \\, \/ ... decode to one byte
			continue
		}
		r, ok := hex4(s, i+1)
		if !ok {
			n++
			continue
		}
		i += 4
		if r >= 0xD800 && r < 0xDC00 {
			// A surrogate pair is one code point of four UTF-8 bytes.
			if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, ok := hex4(s, i+3); ok && r2 >= 0xDC00 && r2 < 0xE000 {
					n += 4
					i += 6
					continue
				}
			}
			n += utf8.RuneLen(utf8.RuneError)
			continue
		}
		if l := utf8.RuneLen(r); l > 0 {
			n += l
		} else {
			n += utf8.RuneLen(utf8.RuneError) // lone low surrogate
		}
	}
	return n
}

// hex4 decodes the four hex digits at s[i:i+4].
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// textBytes returns the bytes of prompt text in the JSON value v: a string
// counts whole; an array sums its elements; an object counts its "text"
// string and the text under "content", "parts" and "output" — the members
// that hold text in messages, content blocks, Gemini parts and Responses
// input items. Images, tool definitions and other members count nothing.
func textBytes(v []byte) int {
	n, _, _ := walkText(v, 0)
	return n
}

// walkText counts the text of the value at v[i:] (see textBytes) in one
// pass, returning the count and the index just after the value.
func walkText(v []byte, i int) (n, end int, err error) {
	i = skipSpace(v, i)
	if i >= len(v) {
		return 0, 0, errMalformed
	}
	switch v[i] {
	case '"':
		end, err := skipString(v, i)
		if err != nil {
			return 0, 0, err
		}
		return stringLen(v[i:end]), end, nil
	case '[':
		i = skipSpace(v, i+1)
		if i < len(v) && v[i] == ']' {
			return 0, i + 1, nil
		}
		for {
			c, end, err := walkText(v, i)
			n += c
			if err != nil {
				return n, 0, err
			}
			i = skipSpace(v, end)
			switch {
			case i >= len(v):
				return n, 0, errMalformed
			case v[i] == ']':
				return n, i + 1, nil
			case v[i] != ',':
				return n, 0, errMalformed
			}
			i++
		}
	case '{':
		i = skipSpace(v, i+1)
		if i < len(v) && v[i] == '}' {
			return 0, i + 1, nil
		}
		for {
			if i >= len(v) || v[i] != '"' {
				return n, 0, errMalformed
			}
			keyEnd, err := skipString(v, i)
			if err != nil {
				return n, 0, err
			}
			key := v[i:keyEnd]
			colon := skipSpace(v, keyEnd)
			if colon >= len(v) || v[colon] != ':' {
				return n, 0, errMalformed
			}
			vs := skipSpace(v, colon+1)
			var end int
			switch {
			case keyEquals(key, "text") && vs < len(v) && v[vs] == '"':
				end, err = skipString(v, vs)
				if err == nil {
					n += stringLen(v[vs:end])
				}
			case keyEquals(key, "content"), keyEquals(key, "parts"), keyEquals(key, "output"):
				var c int
				c, end, err = walkText(v, vs)
				n += c
			default:
				end, err = skipValue(v, vs)
			}
			if err != nil {
				return n, 0, err
			}
			i = skipSpace(v, end)
			switch {
			case i >= len(v):
				return n, 0, errMalformed
			case v[i] == '}':
				return n, i + 1, nil
			case v[i] != ',':
				return n, 0, errMalformed
			}
			i = skipSpace(v, i+1)
		}
	}
	end, err = skipValue(v, i)
	return 0, end, err
}
