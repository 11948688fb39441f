package wire

import "bytes"

// This file holds a strict walk of a JSON object: it checks the bytes as
// json.Valid does while it hands out the members, so that a caller can
// decode a small object (an answer's usage) member by member without
// encoding/json's scanner and reflection, and still refuse exactly what
// encoding/json refuses.

// maxStrictDepth bounds the nesting Members checks. encoding/json allows
// far more; a deeper document is left to it (Members reports !ok).
const maxStrictDepth = 64

// Members calls fn with the raw key (quotes included) and the raw value of
// each member of the JSON object obj, in order, each value checked before
// fn sees it. It reports true when obj is one valid JSON object (space
// around it allowed), nested no deeper than maxStrictDepth, and fn never
// returned false; false tells the caller to let encoding/json judge obj.
func Members(obj []byte, fn func(key, value []byte) bool) bool {
	i := SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	end, ok := strictObject(obj, i, 1, fn)
	return ok && SkipSpace(obj, end) == len(obj)
}

// PlainKey returns the text of the raw key (quotes included) when it has
// no escape and only ASCII bytes, so that it is what it decodes to; ok is
// false otherwise.
func PlainKey(raw []byte) (key []byte, ok bool) {
	if len(raw) < 2 {
		return nil, false
	}
	key = raw[1 : len(raw)-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		return nil, false
	}
	for _, c := range key {
		if c >= 0x80 {
			return nil, false
		}
	}
	return key, true
}

// strictValue checks the value starting at b[i] and returns the index
// just after it.
func strictValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '{':
		return strictObject(b, i, depth+1, nil)
	case c == '[':
		return strictArray(b, i, depth+1)
	case c == '"':
		return strictString(b, i)
	default:
		j := i
		for j < len(b) && isScalarByte(b[j]) {
			j++
		}
		if j == i || !validScalar(b[i:j]) {
			return 0, false
		}
		return j, true
	}
}

// strictObject checks the object starting at b[i], calling fn (when not
// nil) for each member.
func strictObject(b []byte, i, depth int, fn func(key, value []byte) bool) (int, bool) {
	if depth > maxStrictDepth {
		return 0, false
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		keyEnd, ok := strictString(b, i)
		if !ok {
			return 0, false
		}
		colon := SkipSpace(b, keyEnd)
		if colon >= len(b) || b[colon] != ':' {
			return 0, false
		}
		vs := SkipSpace(b, colon+1)
		ve, ok := strictValue(b, vs, depth)
		if !ok {
			return 0, false
		}
		if fn != nil && !fn(b[i:keyEnd], b[vs:ve]) {
			return 0, false
		}
		next, done, ok := strictAfter(b, ve, '}')
		if !ok || done {
			return next, ok
		}
		i = next
	}
}

// strictArray checks the array starting at b[i].
func strictArray(b []byte, i, depth int) (int, bool) {
	if depth > maxStrictDepth {
		return 0, false
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		end, ok := strictValue(b, i, depth)
		if !ok {
			return 0, false
		}
		next, done, ok := strictAfter(b, end, ']')
		if !ok || done {
			return next, ok
		}
		i = next
	}
}

// strictAfter reads what follows an element ending at b[end]: a comma and
// the start of the next element (next), or the closing bracket, after which
// the container ends at next (done).
func strictAfter(b []byte, end int, closing byte) (next int, done, ok bool) {
	i := SkipSpace(b, end)
	switch {
	case i >= len(b):
		return 0, false, false
	case b[i] == closing:
		return i + 1, true, true
	case b[i] != ',':
		return 0, false, false
	}
	return SkipSpace(b, i+1), false, true
}

// strictString checks the string starting at b[i] (a quote): escapes as
// JSON allows them, no raw control byte.
func strictString(b []byte, i int) (int, bool) {
	i++
	for {
		if i = skipPlain(b, i); i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(b) {
				return 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, false
				}
				i += 6
			default:
				return 0, false
			}
		default:
			return 0, false // a raw control byte
		}
	}
}
