package wire

import (
	"bytes"
	"strings"
)

// Streamed chat chunks carry "usage":null once the proxy asked for the
// usage chunk on the app's behalf; these helpers find that member cheaply
// and exactly, so that the app gets the chunks it would have got without
// the proxy.

// nullLiteral is the JSON literal null.
var nullLiteral = []byte("null")

// NullMember finds the member key of the JSON object obj when its value is
// null, and returns the range obj[start:end] whose removal deletes the
// member and keeps obj valid JSON: from the end of the value before it, or,
// for the first member, up to the key after it, or the member alone when it
// is the only one. ok is false when obj is not an object, has no such
// member at its top level, or names key more than once (removing one of
// duplicates would change which value a parser takes).
//
// Every chunk of a stream can carry the member, so the common case is
// decided without scanning the whole object (see nullMemberNearEnd); the
// rest take the scanner's walk over every member.
func NullMember(obj []byte, key string) (start, end int, ok bool) {
	if start, end, decided, ok := nullMemberNearEnd(obj, key); decided {
		return start, end, ok
	}
	return nullMemberByWalk(obj, key)
}

// nullMemberNearEnd decides NullMember by reading only what follows the
// first occurrence of the quoted key. In valid JSON that occurrence starts
// a string when its quote is not escaped (a closing quote is never followed
// by a letter), and no member before it is named key unless one spells a
// byte of the key with a \u escape (no other escape yields a letter). If the members
// from there on end with the '}' that ends obj, the member is at the top
// level: a nested object would close before obj does. decided is false
// when this cannot tell.
//
// For obj that is not valid JSON the answer may differ from
// nullMemberByWalk's; providers' chunks are valid JSON, and for them the
// two agree (FuzzNullMember).
func nullMemberNearEnd(obj []byte, key string) (start, end int, decided, ok bool) {
	if len(key) > 62 || !plainKey(key) {
		return 0, 0, false, false
	}
	var buf [64]byte
	quoted := append(append(append(buf[:0], '"'), key...), '"')
	at := bytes.Index(obj, quoted)
	if at < 0 {
		if b := bytes.IndexByte(obj, '\\'); b >= 0 && spellsKeyByte(obj[b:], key) {
			return 0, 0, false, false
		}
		return 0, 0, true, false // not even as text
	}
	if b := bytes.IndexByte(obj[:at], '\\'); b >= 0 && (spellsKeyByte(obj[b:at], key) || escaped(obj, at)) {
		return 0, 0, false, false
	}
	open := SkipSpace(obj, 0)
	before := lastNonSpace(obj[:at])
	if open >= len(obj) || obj[open] != '{' || before < 0 || (obj[before] != ',' && obj[before] != '{') {
		return 0, 0, false, false
	}
	colon := SkipSpace(obj, at+len(quoted))
	if colon >= len(obj) || obj[colon] != ':' {
		return 0, 0, false, false
	}
	vs := SkipSpace(obj, colon+1)
	ve, err := SkipValue(obj, vs)
	if err != nil {
		return 0, 0, false, false
	}
	isNull := bytes.Equal(obj[vs:ve], nullLiteral)
	// The members after it, up to the end of obj.
	next := -1
	i := SkipSpace(obj, ve)
	for {
		if i >= len(obj) {
			return 0, 0, false, false
		}
		switch obj[i] {
		case '}':
			if SkipSpace(obj, i+1) != len(obj) {
				return 0, 0, false, false // a nested object closed here
			}
		case ',':
			k := SkipSpace(obj, i+1)
			if k >= len(obj) || obj[k] != '"' {
				return 0, 0, false, false
			}
			keyEnd, err := SkipString(obj, k)
			if err != nil {
				return 0, 0, false, false
			}
			if KeyEquals(obj[k:keyEnd], key) {
				return 0, 0, false, false // a duplicate: let the walk decide
			}
			if next < 0 {
				next = k
			}
			c := SkipSpace(obj, keyEnd)
			if c >= len(obj) || obj[c] != ':' {
				return 0, 0, false, false
			}
			e, err := SkipValue(obj, SkipSpace(obj, c+1))
			if err != nil {
				return 0, 0, false, false
			}
			i = SkipSpace(obj, e)
			continue
		default:
			return 0, 0, false, false
		}
		break
	}
	switch {
	case !isNull:
		return 0, 0, true, false
	case obj[before] == ',':
		return lastNonSpace(obj[:before]) + 1, ve, true, true
	case next >= 0:
		return at, next, true, true
	}
	return at, ve, true, true
}

// unicodeEscape starts a \uXXXX escape in a JSON string.
var unicodeEscape = []byte(`\u`)

// spellsKeyByte reports whether b holds a \uXXXX escape of a byte of key:
// only with one can a key written before the match decode to key.
func spellsKeyByte(b []byte, key string) bool {
	for {
		i := bytes.Index(b, unicodeEscape)
		if i < 0 {
			return false
		}
		r, ok := hex4(b, i+2)
		if !ok || (r < 0x80 && strings.IndexByte(key, byte(r)) >= 0) {
			return true
		}
		b = b[i+2:]
	}
}

// plainKey reports whether key is written in JSON as itself: no byte of it
// needs an escape.
func plainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// escaped reports whether b[i] follows an odd run of backslashes.
func escaped(b []byte, i int) bool {
	n := 0
	for i--; i >= 0 && b[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// lastNonSpace returns the index of the last byte of b that is not JSON
// whitespace, or -1.
func lastNonSpace(b []byte) int {
	i := len(b) - 1
	for i >= 0 && isSpace(b[i]) {
		i--
	}
	return i
}

// nullMemberByWalk is NullMember by the scanner's walk over every member.
func nullMemberByWalk(obj []byte, key string) (start, end int, ok bool) {
	count := 0
	prevEnd := -1 // end of the value of the member before the match
	var match Field
	matched, next := false, -1
	lastEnd := -1
	err := EachField(obj, func(k []byte, f Field) {
		if matched && next < 0 {
			next = f.KeyStart
		}
		if KeyEquals(k, key) {
			count++
			if bytes.Equal(obj[f.ValueStart:f.ValueEnd], nullLiteral) {
				match, matched, prevEnd, next = f, true, lastEnd, -1
			}
		}
		lastEnd = f.ValueEnd
	})
	if err != nil || count != 1 || !matched {
		return 0, 0, false
	}
	switch {
	case prevEnd >= 0:
		return prevEnd, match.ValueEnd, true
	case next >= 0:
		return match.KeyStart, next, true
	}
	return match.KeyStart, match.ValueEnd, true
}
