package wire

import (
	"encoding/json"
)

// Bodies are edited by splicing bytes rather than by decoding and
// re-encoding them: every member the proxy does not touch reaches the
// provider exactly as the app wrote it, in its order, with its numbers
// (a decode through float64 would round large integers such as seeds).

// setMember returns obj with member key set to the raw JSON value: the
// value of the last occurrence of key is replaced, or the member is added
// at the end of the object.
func SetMember(obj []byte, key string, value []byte) ([]byte, error) {
	f, found, err := FindField(obj, key)
	if err != nil {
		return nil, err
	}
	if found {
		return Splice(obj, f.ValueStart, f.ValueEnd, value), nil
	}
	return AppendMember(obj, key, value)
}

// appendMember adds member key with the raw JSON value at the end of obj.
func AppendMember(obj []byte, key string, value []byte) ([]byte, error) {
	end, err := SkipValue(obj, 0)
	if err != nil {
		return nil, err
	}
	closing := end - 1 // the object's '}'
	if closing < 0 || obj[closing] != '}' {
		return nil, ErrMalformed
	}
	quoted, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	open := SkipSpace(obj, 0)
	empty := SkipSpace(obj, open+1) == closing
	member := make([]byte, 0, len(quoted)+len(value)+2)
	if !empty {
		member = append(member, ',')
	}
	member = append(member, quoted...)
	member = append(member, ':')
	member = append(member, value...)
	return Splice(obj, closing, closing, member), nil
}

// splice returns a new slice holding b with b[start:end] replaced by repl.
func Splice(b []byte, start, end int, repl []byte) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(repl))
	out = append(out, b[:start]...)
	out = append(out, repl...)
	return append(out, b[end:]...)
}
