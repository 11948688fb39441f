package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"tollgate.dev/tollgate/pkg/wire"
)

// badRequestError is a ParseRequest error: its message says what is wrong
// with the body, and it wraps ErrBadRequest (and the decoder's error).
type badRequestError struct {
	msg string
	err error
}

func (e *badRequestError) Error() string { return e.msg }

func (e *badRequestError) Unwrap() []error { return []error{ErrBadRequest, e.err} }

// readObject calls fn with the key and raw value of every top-level
// member of the JSON object body of a request to path, in order, so that
// of duplicate keys the last wins, as it does for the providers.
//
// Keys match exactly, as the providers match them: encoding/json would
// also take "MODEL" for "model", letting a body name one model to the
// provider and another to the policy.
//
// Only malformed JSON, or JSON that is not an object, is an error: a
// member of an unexpected type reads as absent, since the provider, not
// the proxy, is the judge of the request's schema.
func readObject(method, path string, body []byte, fn func(key, value []byte)) error {
	where := method + " " + pathOnly(path)
	if !json.Valid(body) {
		// Decode again for the decoder's account of what is wrong.
		var raw json.RawMessage
		err := json.Unmarshal(body, &raw)
		if err == nil {
			err = wire.ErrMalformed
		}
		return &badRequestError{msg: "body of " + where + " is not valid JSON: " + err.Error(), err: err}
	}
	if i := wire.SkipSpace(body, 0); body[i] != '{' {
		return &badRequestError{
			msg: "body of " + where + " must be a JSON object, not " + jsonKind(body[i]),
			err: errors.New("not an object"),
		}
	}
	if err := eachMember(body, fn); err != nil {
		// Cannot happen for valid JSON; kept as a bad request, not a panic.
		return &badRequestError{msg: "body of " + where + " could not be read: " + err.Error(), err: err}
	}
	return nil
}

// eachMember calls fn with the decoded key and raw value of every member
// of the JSON object obj.
func eachMember(obj []byte, fn func(key, value []byte)) error {
	return wire.EachField(obj, func(rawKey []byte, f wire.Field) {
		key := rawKey[1 : len(rawKey)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if json.Unmarshal(rawKey, &s) != nil {
				return
			}
			key = []byte(s)
		}
		fn(key, obj[f.ValueStart:f.ValueEnd])
	})
}

// memberIsTrue reports whether the JSON object obj has member key set to
// true.
func memberIsTrue(obj []byte, key string) bool {
	v, ok := wire.TopLevelValue(obj, key)
	return ok && isTrue(v)
}

// isTrue reports whether the raw JSON value v is true; anything else,
// such as the string "true", reads as false.
func isTrue(v []byte) bool { return string(v) == "true" }

// jsonString decodes the raw JSON value v if it is a string, or gives "".
func jsonString(v []byte) string {
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	if inner, ok := plainString(v); ok {
		return string(inner)
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// plainString returns the text of the JSON string literal v when it has
// no escape, no control byte and is valid UTF-8: what json.Unmarshal
// decodes it to, byte for byte. Model names are such strings.
func plainString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[len(v)-1] != '"' {
		return nil, false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c < 0x20 || c == '"' || c == '\\' {
			return nil, false
		}
	}
	return inner, utf8.Valid(inner)
}

// jsonTokens decodes the raw JSON value v as a token count (see
// tokenCount), or gives 0.
func jsonTokens(v []byte) int64 {
	var t tokenCount
	_ = t.UnmarshalJSON(v)
	return int64(t)
}

// jsonFloat decodes the raw JSON value v if it is a number, or gives nil.
func jsonFloat(v []byte) *float64 {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return nil
	}
	return &f
}

// jsonKind names the kind of JSON value starting with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// pathOnly strips the query from path: routing ignores it, and error
// messages must not repeat it (a Gemini key may travel in ?key=).
func pathOnly(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

// isPost reports whether method carries a body the adapters read: every
// generation and embedding endpoint is a POST.
func isPost(method string) bool {
	return method == http.MethodPost
}

// tokenCount is a token count or token limit as providers and apps write
// it. Decoding is lenient: integral floats (1024.0) are read, negative and
// non-numeric values are read as 0, and huge values are capped, so a
// strange value never fails a decode or makes spend negative.
type tokenCount int64

// UnmarshalJSON reads a JSON number, or a string holding one.
func (t *tokenCount) UnmarshalJSON(b []byte) error {
	*t = 0
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		b = []byte(s)
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*t = tokenCount(max(n, 0))
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f <= 0 {
		return nil
	}
	if f >= math.MaxInt64 {
		*t = math.MaxInt64
		return nil
	}
	*t = tokenCount(f)
	return nil
}
