package wire

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
var ErrMalformed = errors.New("malformed JSON")

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipSpace returns the index of the first non-whitespace byte of b at or
// after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just after the string literal starting at
// b[i] (which must be a quote).
func SkipString(b []byte, i int) (int, error) {
	i++ // opening quote
	for i < len(b) {
		j := bytes.IndexAny(b[i:], `"\`)
		if j < 0 {
			return 0, ErrMalformed
		}
		i += j
		if b[i] == '"' {
			return i + 1, nil
		}
		i += 2 // backslash and the escaped byte
	}
	return 0, ErrMalformed
}

// skipValue returns the index just after the JSON value starting at b[i]
// (after any whitespace). It checks nesting and strings but not every rule
// of the grammar: callers decode what they keep with encoding/json.
func SkipValue(b []byte, i int) (int, error) {
	i = SkipSpace(b, i)
	if i >= len(b) {
		return 0, ErrMalformed
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := SkipString(b, i)
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
		return 0, ErrMalformed
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
			return 0, ErrMalformed
		}
		return i, nil
	}
}

// Field is one member of a JSON object, as offsets into the object's bytes.
type Field struct {
	// KeyStart is the offset of the key's opening quote.
	KeyStart int
	// ValueStart and ValueEnd delimit the member's raw value.
	ValueStart, ValueEnd int
}

// findField finds the member named key in the JSON object obj, ignoring
// leading whitespace. When the key occurs more than once the last one wins,
// as it does for encoding/json and for the providers' parsers.
func FindField(obj []byte, key string) (f Field, found bool, err error) {
	err = EachField(obj, func(k []byte, cur Field) {
		if KeyEquals(k, key) {
			f, found = cur, true
		}
	})
	return f, found, err
}

// eachField calls fn with the raw key (quotes included) and offsets of
// every member of the JSON object obj, in order.
func EachField(obj []byte, fn func(key []byte, f Field)) error {
	i := SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return ErrMalformed
	}
	i = SkipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return ErrMalformed
		}
		keyEnd, err := SkipString(obj, i)
		if err != nil {
			return err
		}
		colon := SkipSpace(obj, keyEnd)
		if colon >= len(obj) || obj[colon] != ':' {
			return ErrMalformed
		}
		vs := SkipSpace(obj, colon+1)
		ve, err := SkipValue(obj, vs)
		if err != nil {
			return err
		}
		fn(obj[i:keyEnd], Field{KeyStart: i, ValueStart: vs, ValueEnd: ve})
		i = SkipSpace(obj, ve)
		if i >= len(obj) {
			return ErrMalformed
		}
		switch obj[i] {
		case '}':
			return nil
		case ',':
			i = SkipSpace(obj, i+1)
		default:
			return ErrMalformed
		}
	}
	return ErrMalformed
}

// keyEquals reports whether the raw JSON string rawKey (quotes included)
// decodes to key.
func KeyEquals(rawKey []byte, key string) bool {
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
func TopLevelValue(obj []byte, key string) ([]byte, bool) {
	f, found, err := FindField(obj, key)
	if err != nil || !found {
		return nil, false
	}
	return obj[f.ValueStart:f.ValueEnd], true
}

// mayHaveObjectMember is a cheap pre-check for stream events: it reports
// whether data contains "key" followed by a colon and an object, so that
// events that cannot carry the member are passed over without parsing.
// Inside JSON strings quotes are escaped, so text content cannot produce a
// match; a false positive only costs a parse.
func MayHaveObjectMember(data []byte, quotedKey string) bool {
	for {
		i := bytes.Index(data, []byte(quotedKey))
		if i < 0 {
			return false
		}
		data = data[i+len(quotedKey):]
		j := SkipSpace(data, 0)
		if j < len(data) && data[j] == ':' {
			j = SkipSpace(data, j+1)
			if j < len(data) && data[j] == '{' {
				return true
			}
		}
	}
}

// stringLen returns the length in bytes of the text the JSON string
// literal s (quotes included) decodes to, without decoding it.
func StringLen(s []byte) int {
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
func TextBytes(v []byte) int {
	n, _, _ := walkText(v, 0)
	return n
}

// walkText counts the text of the value at v[i:] (see textBytes) in one
// pass, returning the count and the index just after the value.
func walkText(v []byte, i int) (n, end int, err error) {
	i = SkipSpace(v, i)
	if i >= len(v) {
		return 0, 0, ErrMalformed
	}
	switch v[i] {
	case '"':
		end, err := SkipString(v, i)
		if err != nil {
			return 0, 0, err
		}
		return StringLen(v[i:end]), end, nil
	case '[':
		i = SkipSpace(v, i+1)
		if i < len(v) && v[i] == ']' {
			return 0, i + 1, nil
		}
		for {
			c, end, err := walkText(v, i)
			n += c
			if err != nil {
				return n, 0, err
			}
			next, done, err := afterElement(v, end, ']')
			if err != nil || done {
				return n, next, err
			}
			i = next
		}
	case '{':
		i = SkipSpace(v, i+1)
		if i < len(v) && v[i] == '}' {
			return 0, i + 1, nil
		}
		for {
			if i >= len(v) || v[i] != '"' {
				return n, 0, ErrMalformed
			}
			keyEnd, err := SkipString(v, i)
			if err != nil {
				return n, 0, err
			}
			key := v[i:keyEnd]
			colon := SkipSpace(v, keyEnd)
			if colon >= len(v) || v[colon] != ':' {
				return n, 0, ErrMalformed
			}
			vs := SkipSpace(v, colon+1)
			var end int
			switch {
			case KeyEquals(key, "text") && vs < len(v) && v[vs] == '"':
				end, err = SkipString(v, vs)
				if err == nil {
					n += StringLen(v[vs:end])
				}
			case KeyEquals(key, "content"), KeyEquals(key, "parts"), KeyEquals(key, "output"):
				var c int
				c, end, err = walkText(v, vs)
				n += c
			default:
				end, err = SkipValue(v, vs)
			}
			if err != nil {
				return n, 0, err
			}
			next, done, err := afterElement(v, end, '}')
			if err != nil || done {
				return n, next, err
			}
			i = SkipSpace(v, next)
		}
	}
	end, err = SkipValue(v, i)
	return 0, end, err
}

// afterElement reads what follows an element of an array or object that
// ends at v[end]: a comma, after which the next element starts at next, or
// the closing bracket, after which the container ends at next (done).
func afterElement(v []byte, end int, closing byte) (next int, done bool, err error) {
	i := SkipSpace(v, end)
	switch {
	case i >= len(v):
		return 0, false, ErrMalformed
	case v[i] == closing:
		return i + 1, true, nil
	case v[i] != ',':
		return 0, false, ErrMalformed
	}
	return i + 1, false, nil
}
