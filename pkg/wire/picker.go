package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
)

// Picker reads a JSON document in pieces, as it streams past, and keeps
// only some members: those named by its keys, of the document's top-level
// object or of each object of a top-level array. Document then gives a
// small document of just these, in the same shape, which decodes into a
// struct of those members as the whole document would. So the proxy reads
// an answer's usage without holding the answer, whatever its size.
//
// The whole input is checked as encoding/json checks a document before
// decoding it: one that is not valid JSON, is cut short, or keeps more than
// the Picker's bound, has no Document.
type Picker struct {
	keys []string
	max  int // bound on the bytes kept

	stack []frame // open containers, outermost first
	top   expect  // what the document expects at its top level

	str      strState // within a string
	key      []byte   // the object key being read, raw, up to maxPickKey bytes
	keyLong  bool     // the key is longer than that: it is none of the keys
	inScalar bool     // a number or literal is being read
	scalar   []byte   // its bytes so far; the buffer is reused from one to the next

	pickNext  bool   // the next value is kept
	prefix    []byte // `"key":` of the value kept next
	picking   bool
	pickDepth int    // len(stack) when the kept value began
	picked    []byte // `"key":value` so far

	members  []byte   // kept members of the current candidate object, comma-separated
	elements [][]byte // the reduced elements of a top-level array
	doc      []byte   // the reduced document, once the top-level value ended
	kept     int      // bytes kept in all
	err      error
}

// maxPickKey is the longest key a Picker compares with its keys.
const maxPickKey = 256

// maxScalar bounds a number or literal: a longer one, valid JSON or not,
// is taken for malformed rather than held.
const maxScalar = 4096

// frame is an open object or array.
type frame struct {
	open   byte // '{' or '['
	expect expect
}

// expect is what may come next in a container or at the top.
type expect uint8

const (
	expectValue      expect = iota // a value: the top one, an element after a comma, after a colon
	expectValueOrEnd               // just after '['
	expectKeyOrEnd                 // just after '{'
	expectKey                      // after a comma in an object
	expectColon                    // after a key
	expectCommaOrEnd               // after a value in a container
	expectNothing                  // after the top-level value: only space
)

// strState is where a Picker is within a string.
type strState struct {
	in    bool
	isKey bool
	hex   int  // hex digits of a \u escape still to come
	esc   bool // just after a backslash
}

// errPickTooLarge is the error of a Picker whose kept members passed its
// bound.
var errPickTooLarge = errors.New("kept members too large")

// NewPicker returns a Picker keeping the members named keys, up to max
// bytes of them in all.
func NewPicker(max int, keys ...string) *Picker {
	return &Picker{keys: keys, max: max, top: expectValue}
}

// Reset makes p ready to read a new document, keeping the room its
// buffers grew, so that a pooled Picker reads an answer without
// allocating. A Document it returned before is no longer valid.
func (p *Picker) Reset() {
	clear(p.elements)
	*p = Picker{
		keys: p.keys, max: p.max, top: expectValue,
		stack: p.stack[:0], key: p.key[:0], scalar: p.scalar[:0], prefix: p.prefix[:0],
		picked: p.picked[:0], members: p.members[:0], elements: p.elements[:0], doc: p.doc[:0],
	}
}

// Write reads the next piece of the document. It never fails: an error in
// the document is kept, and Document then reports no document.
func (p *Picker) Write(b []byte) (int, error) {
	for i := 0; i < len(b) && p.err == nil; i++ {
		// Runs of bytes that change nothing but where the Picker is are
		// taken at once: string content (the bulk of an answer), numbers
		// (embeddings are thousands of them), space (pretty-printed
		// answers). Each ends at the byte step must see.
		switch {
		case p.str.in && !p.str.esc && p.str.hex == 0:
			// Byte by byte for a few bytes (escaped JSON, such as a tool
			// call's arguments, has a quote every few), then eight at a
			// time.
			j := i
			for end := min(i+8, len(b)); j < end && isPlain(b[j]); j++ {
			}
			if j == i+8 {
				j = skipPlain(b, j)
			}
			if j > i && (p.str.isKey || p.picking) {
				p.takeString(b[i:j])
			}
			if i = j; p.err != nil || i == len(b) {
				return len(b), nil
			}
		case p.inScalar:
			j := i
			for j < len(b) && isScalarByte(b[j]) {
				j++
			}
			p.scalar = append(p.scalar, b[i:j]...)
			if len(p.scalar) > maxScalar {
				p.err = ErrMalformed
			}
			p.keepRun(b[i:j])
			if i = j; p.err != nil || i == len(b) {
				return len(b), nil
			}
		case !p.str.in && isSpace(b[i]): // in a string, a space after a backslash is an error
			for i < len(b) && isSpace(b[i]) {
				i++
			}
			if i == len(b) {
				return len(b), nil
			}
		}
		p.step(b[i])
	}
	return len(b), nil
}

// takeString reads run, plain bytes of the string being read, as stepString
// reads them one by one: kept when the value is, and, in a key, added to
// the key up to maxPickKey+1 bytes (one more marks it too long).
func (p *Picker) takeString(run []byte) {
	p.keepRun(run)
	if !p.str.isKey || len(run) == 0 {
		return
	}
	if room := maxPickKey + 1 - len(p.key); len(run) > room {
		p.key = append(p.key, run[:max(room, 0)]...)
		p.keyLong = true
		return
	}
	p.key = append(p.key, run...)
}

// keepRun adds run to the member being kept, if any, as keep does.
func (p *Picker) keepRun(run []byte) {
	if p.picking {
		if p.picked = append(p.picked, run...); len(p.picked) > p.max {
			p.err = errPickTooLarge
		}
	}
}

// Document returns the reduced document: an object of the kept members,
// or for a top-level array an array of such objects (see notObject for
// what is not an object); ok is false when the input was not one whole
// JSON value, or kept too much.
func (p *Picker) Document() (doc []byte, ok bool) {
	if p.err == nil && p.inScalar && len(p.stack) == 0 {
		p.endScalar() // a top-level number ends with the input
	}
	if p.err != nil || p.top != expectNothing {
		return nil, false
	}
	return p.doc, true
}

// step reads one byte.
func (p *Picker) step(c byte) {
	if p.str.in {
		p.stepString(c)
		return
	}
	if p.inScalar {
		if isScalarByte(c) {
			if p.scalar = append(p.scalar, c); len(p.scalar) > maxScalar {
				p.err = ErrMalformed
			}
			p.keep(c)
			return
		}
		if p.endScalar(); p.err != nil {
			return
		}
	}
	if isSpace(c) {
		return
	}
	switch exp := p.expecting(); exp {
	case expectColon:
		if c != ':' {
			p.err = ErrMalformed
			return
		}
		p.keep(c)
		p.setExpect(expectValue)
	case expectCommaOrEnd:
		f := &p.stack[len(p.stack)-1]
		switch {
		case c == ',':
			p.keep(c)
			f.expect = expectValue
			if f.open == '{' {
				f.expect = expectKey
			}
		case c == '}' && f.open == '{', c == ']' && f.open == '[':
			p.closeContainer(c)
		default:
			p.err = ErrMalformed
		}
	case expectKey, expectKeyOrEnd:
		switch {
		case c == '"':
			p.keep(c)
			p.str = strState{in: true, isKey: true}
			p.key, p.keyLong = p.key[:0], false
		case c == '}' && exp == expectKeyOrEnd:
			p.closeContainer(c)
		default:
			p.err = ErrMalformed
		}
	case expectValue, expectValueOrEnd:
		if c == ']' && exp == expectValueOrEnd {
			p.closeContainer(c)
			return
		}
		p.beginValue(c)
	default: // expectNothing
		p.err = ErrMalformed
	}
}

// expecting is what the innermost open container, or the top, expects.
func (p *Picker) expecting() expect {
	if len(p.stack) == 0 {
		return p.top
	}
	return p.stack[len(p.stack)-1].expect
}

func (p *Picker) setExpect(e expect) {
	if len(p.stack) == 0 {
		p.top = e
		return
	}
	p.stack[len(p.stack)-1].expect = e
}

// beginValue starts the value whose first byte is c.
func (p *Picker) beginValue(c byte) {
	if p.pickNext {
		p.pickNext, p.picking, p.pickDepth = false, true, len(p.stack)
		p.picked = append(p.picked[:0], p.prefix...)
	}
	switch {
	case c == '{' || c == '[':
		p.keep(c)
		e := expectKeyOrEnd
		if c == '[' {
			e = expectValueOrEnd
		}
		p.stack = append(p.stack, frame{open: c, expect: e})
		if p.candidate() {
			p.members = p.members[:0]
		}
	case c == '"':
		p.keep(c)
		p.str = strState{in: true}
	case isScalarByte(c):
		p.keep(c)
		p.inScalar = true
		p.scalar = append(p.scalar[:0], c)
	default:
		p.err = ErrMalformed
	}
}

// candidate reports whether the innermost open container is an object
// whose members may be kept: the top-level one, or one directly in a
// top-level array.
func (p *Picker) candidate() bool {
	n := len(p.stack)
	if n == 0 || p.stack[n-1].open != '{' {
		return false
	}
	return n == 1 || n == 2 && p.stack[0].open == '['
}

// inTopArray reports whether the innermost open container is a top-level
// array.
func (p *Picker) inTopArray() bool {
	return len(p.stack) == 1 && p.stack[0].open == '['
}

// valueEnds is called when a value of any nesting has ended.
func (p *Picker) valueEnds() {
	if p.picking && len(p.stack) == p.pickDepth {
		p.picking = false
		if len(p.members) > 0 {
			p.members = append(p.members, ',')
		}
		p.members = append(p.members, p.picked...)
		if p.kept += len(p.picked); p.kept > p.max {
			p.err = errPickTooLarge
			return
		}
	}
	if len(p.stack) == 0 {
		p.top = expectNothing
		return
	}
	p.stack[len(p.stack)-1].expect = expectCommaOrEnd
}

// notObject stands in, in the reduced document, for a top-level value or
// a top-level array's element that is not an object: null decodes into a
// struct as null does, anything else fails to as the value would.
func (p *Picker) notObject(null bool) {
	v := notObjectValue
	if null {
		v = nullValue
	}
	switch {
	case len(p.stack) == 0:
		p.doc = append(p.doc[:0], v...)
	case p.inTopArray():
		p.elements = append(p.elements, v)
	}
}

// The stand-ins notObject puts in the reduced document, shared by the
// elements of top-level arrays, which are only read and joined into a new
// slice (a document itself is a copy: Reset reuses its room).
var (
	notObjectValue = []byte("0")
	nullValue      = []byte("null")
)

// closeContainer closes the innermost container with c.
func (p *Picker) closeContainer(c byte) {
	p.keep(c)
	wasCandidate := p.candidate()
	closed := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	switch {
	case wasCandidate && len(p.stack) == 0:
		p.doc = append(append(append(p.doc[:0], '{'), p.members...), '}')
	case wasCandidate:
		p.elements = append(p.elements, append(append([]byte{'{'}, p.members...), '}'))
	case closed.open == '[' && len(p.stack) == 0:
		p.doc = append(append(p.doc[:0], '['), bytes.Join(p.elements, []byte{','})...)
		p.doc = append(p.doc, ']')
	default:
		p.notObject(false)
	}
	p.valueEnds()
}

// stepString reads a byte within a string.
func (p *Picker) stepString(c byte) {
	p.keep(c)
	if p.str.isKey {
		if len(p.key) < maxPickKey+1 {
			p.key = append(p.key, c)
		} else {
			p.keyLong = true
		}
	}
	switch {
	case p.str.esc:
		p.str.esc = false
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			p.str.hex = 4
		default:
			p.err = ErrMalformed
		}
	case p.str.hex > 0:
		if !isHex(c) {
			p.err = ErrMalformed
		}
		p.str.hex--
	case c == '\\':
		p.str.esc = true
	case c == '"':
		p.str.in = false
		if p.str.isKey {
			p.endKey()
			return
		}
		p.notObject(false)
		p.valueEnds()
	case c < 0x20:
		p.err = ErrMalformed
	}
}

// endKey ends an object key: the value that follows is kept when the
// object is a candidate and the key one of the Picker's.
func (p *Picker) endKey() {
	p.stack[len(p.stack)-1].expect = expectColon
	if !p.candidate() || p.keyLong {
		return
	}
	raw := p.key[:len(p.key)-1] // without the closing quote
	if bytes.IndexByte(raw, '\\') >= 0 {
		var key string
		quoted := append(append([]byte{'"'}, raw...), '"')
		if json.Unmarshal(quoted, &key) != nil {
			return
		}
		p.pickIfKept(key, raw)
		return
	}
	p.pickIfKept(string(raw), raw) // a key short enough converts on the stack
}

// pickIfKept keeps the next value when key is one of the Picker's keys,
// as encoding/json matches keys to fields, so that the reduced document
// decodes as the whole one does. raw is the key as written.
func (p *Picker) pickIfKept(key string, raw []byte) {
	for _, k := range p.keys {
		if strings.EqualFold(k, key) {
			p.pickNext = true
			p.prefix = append(append(append(p.prefix[:0], '"'), raw...), '"', ':')
			return
		}
	}
}

// endScalar ends a number or literal, which must be valid JSON.
func (p *Picker) endScalar() {
	if !validScalar(p.scalar) {
		p.err = ErrMalformed
		return
	}
	p.notObject(string(p.scalar) == "null")
	p.inScalar = false
	p.valueEnds()
}

// keep adds c to the member being kept, if any.
func (p *Picker) keep(c byte) {
	if p.picking {
		if p.picked = append(p.picked, c); len(p.picked) > p.max {
			p.err = errPickTooLarge
		}
	}
}

// skipPlain returns the index of the first byte of b at or after i that a
// string cannot hold as it is: its closing quote, a backslash, or a
// control byte (an error). It looks at eight bytes at a time: string
// content is the bulk of an answer.
func skipPlain(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		// Each term is non-zero exactly when some byte of x is below 0x20,
		// a quote, or a backslash (a zero byte of quote or backslash).
		if ((x-ones*0x20)&^x|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs != 0 {
			break
		}
	}
	for i < len(b) && isPlain(b[i]) {
		i++
	}
	return i
}

// isPlain tells whether a string holds c as it is.
func isPlain(c byte) bool { return c >= 0x20 && c != '"' && c != '\\' }

// validScalar tells whether s, the bytes of a number or literal, is valid
// JSON, as json.Valid would, without its scanner.
func validScalar(s []byte) bool {
	switch string(s) {
	case "true", "false", "null":
		return true
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		if j := skipDigits(s, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
