package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Errors of canonicalization. Key wraps them: a body that cannot be put in
// one unambiguous canonical form is not cached.
var (
	// ErrNotJSON is returned for a body that is not valid JSON (or not
	// valid UTF-8).
	ErrNotJSON = errors.New("body is not valid JSON")
	// ErrDuplicateName is returned for an object that names a member
	// twice: providers disagree on which one wins, so the answer such a
	// body gets cannot be told from its canonical form.
	ErrDuplicateName = errors.New("body names a JSON member twice")
	// ErrLoneSurrogate is returned for a string holding a \u escape of
	// half a UTF-16 surrogate pair, which decoders replace with U+FFFD in
	// ways that would make different bodies look equal.
	ErrLoneSurrogate = errors.New("body has a string with a lone UTF-16 surrogate escape")
)

// canonicalize returns the canonical form of the JSON document body:
// members of every object sorted by name (byte-wise on UTF-8), strings
// decoded and re-encoded one way, numbers in canonicalNumber's form, no
// whitespace. Two bodies a JSON parser reads as the same document have the
// same canonical form. Top-level members for which drop returns true are
// left out. The result is itself a JSON document and its own canonical
// form.
func Canonical(body []byte, drop func(name string) bool) ([]byte, error) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, ErrNotJSON
	}
	c := canonicalizer{in: body, drop: drop}
	out, err := c.value(make([]byte, 0, len(body)), 0)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// canonicalizer walks a document that json.Valid accepted, so it checks
// nothing of JSON's grammar itself.
type canonicalizer struct {
	in   []byte
	pos  int
	drop func(name string) bool // applied at depth 0 only; nil keeps all
}

// member is one object member as written into the output: its name and
// the span of `"name":value` there.
type member struct {
	name     []byte
	from, to int
}

// value appends the canonical form of the value at c.pos to dst.
func (c *canonicalizer) value(dst []byte, depth int) ([]byte, error) {
	c.pos = SkipSpace(c.in, c.pos)
	switch c.in[c.pos] {
	case '{':
		return c.object(dst, depth)
	case '[':
		return c.array(dst, depth)
	case '"':
		s, err := c.str()
		if err != nil {
			return nil, err
		}
		return appendString(dst, s), nil
	case 't':
		c.pos += len("true")
		return append(dst, "true"...), nil
	case 'f':
		c.pos += len("false")
		return append(dst, "false"...), nil
	case 'n':
		c.pos += len("null")
		return append(dst, "null"...), nil
	default:
		start := c.pos
		for c.pos < len(c.in) && strings.IndexByte("+-.0123456789eE", c.in[c.pos]) >= 0 {
			c.pos++
		}
		return append(dst, CanonicalNumber(string(c.in[start:c.pos]))...), nil
	}
}

// object writes the members in the order they come, then, only when they
// were not already in order (or some are dropped), rewrites them sorted.
func (c *canonicalizer) object(dst []byte, depth int) ([]byte, error) {
	c.pos++ // {
	start := len(dst)
	dst = append(dst, '{')
	var members []member
	inOrder := true
	for {
		c.pos = SkipSpace(c.in, c.pos)
		if c.in[c.pos] == '}' {
			c.pos++
			break
		}
		if c.in[c.pos] == ',' {
			c.pos++
			c.pos = SkipSpace(c.in, c.pos)
		}
		name, err := c.str()
		if err != nil {
			return nil, err
		}
		if len(members) > 0 {
			dst = append(dst, ',')
			inOrder = inOrder && bytes.Compare(members[len(members)-1].name, name) < 0
		}
		from := len(dst)
		dst = appendString(dst, name)
		dst = append(dst, ':')
		c.pos = SkipSpace(c.in, c.pos)
		c.pos++ // :
		if dst, err = c.value(dst, depth+1); err != nil {
			return nil, err
		}
		members = append(members, member{name: name, from: from, to: len(dst)})
	}
	dropping := depth == 0 && c.drop != nil
	if inOrder && !dropping {
		return append(dst, '}'), nil
	}

	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(a.name, b.name) })
	for i := 1; i < len(members); i++ {
		if bytes.Equal(members[i].name, members[i-1].name) {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateName, members[i].name)
		}
	}
	written := bytes.Clone(dst[start:])
	dst = append(dst[:start], '{')
	first := true
	for _, m := range members {
		if dropping && c.drop(string(m.name)) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, written[m.from-start:m.to-start]...)
	}
	return append(dst, '}'), nil
}

func (c *canonicalizer) array(dst []byte, depth int) ([]byte, error) {
	c.pos++ // [
	dst = append(dst, '[')
	first := true
	for {
		c.pos = SkipSpace(c.in, c.pos)
		if c.in[c.pos] == ']' {
			c.pos++
			return append(dst, ']'), nil
		}
		if c.in[c.pos] == ',' {
			c.pos++
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		var err error
		if dst, err = c.value(dst, depth+1); err != nil {
			return nil, err
		}
	}
}

// str decodes the string at c.pos. Without escapes, the result aliases the
// input.
func (c *canonicalizer) str() ([]byte, error) {
	c.pos++ // opening quote
	start := c.pos
	end := start + bytes.IndexAny(c.in[start:], `"\`)
	if c.in[end] == '"' { // no escapes: the bytes are the string
		c.pos = end + 1
		return c.in[start:end], nil
	}
	buf := append([]byte(nil), c.in[start:end]...)
	c.pos = end
	for {
		b := c.in[c.pos]
		switch {
		case b == '"':
			c.pos++
			return buf, nil
		case b != '\\':
			buf = append(buf, b)
			c.pos++
		case c.in[c.pos+1] == 'u':
			r, err := c.unicodeEscape()
			if err != nil {
				return nil, err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			buf = append(buf, unescape(c.in[c.pos+1]))
			c.pos += 2
		}
	}
}

// unicodeEscape decodes the \uXXXX escape at c.pos, and the low surrogate
// escape that must follow a high one.
func (c *canonicalizer) unicodeEscape() (rune, error) {
	r, _ := hex4(c.in, c.pos+2) // json.Valid has checked the digits
	c.pos += 6
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		return 0, ErrLoneSurrogate
	case r >= 0xD800 && r <= 0xDBFF:
		if c.pos+6 > len(c.in) || c.in[c.pos] != '\\' || c.in[c.pos+1] != 'u' {
			return 0, ErrLoneSurrogate
		}
		lo, _ := hex4(c.in, c.pos+2)
		if lo < 0xDC00 || lo > 0xDFFF {
			return 0, ErrLoneSurrogate
		}
		c.pos += 6
		return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), nil
	default:
		return r, nil
	}
}

// unescape decodes a one-letter escape that json.Valid has checked.
func unescape(b byte) byte {
	switch b {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	default: // " \ /
		return b
	}
}

// appendString appends s as a JSON string in the one form canonicalize
// uses: only '"', '\' and control characters escaped, as \" \\ \u00XX.
func appendString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	run := 0 // start of the bytes not yet copied
	for i, b := range s {
		if b != '"' && b != '\\' && b >= 0x20 {
			continue
		}
		dst = append(dst, s[run:i]...)
		run = i + 1
		if b < 0x20 {
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
		} else {
			dst = append(dst, '\\', b)
		}
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"')
}
