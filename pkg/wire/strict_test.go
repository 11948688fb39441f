package wire

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMembers_HandsOutEachMemberOfAValidObject(t *testing.T) {
	in := ` {"a": 1, "b":{"c":[true,null,"x\u00e9\n"]}, "a":"2" } `
	var got []string
	ok := Members([]byte(in), func(key, value []byte) bool {
		got = append(got, string(key)+"="+string(value))
		return true
	})
	require.True(t, ok)
	assert.Equal(t, []string{`"a"=1`, `"b"={"c":[true,null,"x\u00e9\n"]}`, `"a"="2"`}, got)
}

func TestMembers_RefusesWhatEncodingJSONRefusesAndWhatIsNotAnObject(t *testing.T) {
	for name, in := range map[string]string{
		"cut short":          `{"usage":{"a":1}`,
		"a trailing comma":   `{"a":1,}`,
		"trailing data":      `{"a":1} {}`,
		"a bad number":       `{"a":01}`,
		"a raw control byte": "{\"a\":\"x\ty\"}",
		"a bad escape":       `{"a":"\x"}`,
		"an array":           `[{"a":1}]`,
		"a number":           `1`,
		"nested too deep":    strings.Repeat(`{"a":`, maxStrictDepth+1) + "1" + strings.Repeat("}", maxStrictDepth+1),
	} {
		t.Run(name, func(t *testing.T) {
			assert.False(t, Members([]byte(in), func(_, _ []byte) bool { return true }))
		})
	}
	assert.False(t, Members([]byte(`{"a":1,"b":2}`), func(key, _ []byte) bool { return string(key) != `"b"` }), "fn stopped it")
}

func TestPlainKey_OnlyForKeysThatAreWhatTheySay(t *testing.T) {
	key, ok := PlainKey([]byte(`"usage"`))
	assert.True(t, ok)
	assert.Equal(t, "usage", string(key))
	for _, raw := range []string{`"us\u0061ge"`, `"usagé"`, `"`} {
		_, ok := PlainKey([]byte(raw))
		assert.False(t, ok, raw)
	}
}

// FuzzMembers checks Members against encoding/json: an object it accepts
// is valid JSON, with each value valid; a valid object not nested too
// deep is accepted.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"usage":{"prompt_tokens":9}}`, `{"a":[1,{"b":"c\u0041"}],"d":-1.5e3}`, `{}`, ` { "a" : null } `, `{"a":"\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ok := Members(in, func(_, value []byte) bool {
			require.True(t, json.Valid(value), "value %q", value)
			return true
		})
		if ok {
			require.True(t, json.Valid(in), "accepted %q", in)
			return
		}
		if json.Valid(in) && firstByte(in) == '{' && depth(in) <= maxStrictDepth {
			t.Fatalf("refused the valid object %q", in)
		}
	})
}

// depth is how deeply the valid JSON document in nests.
func depth(in []byte) int {
	d, most := 0, 0
	dec := json.NewDecoder(strings.NewReader(string(in)))
	for {
		tok, err := dec.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d++
			most = max(most, d)
		case json.Delim('}'), json.Delim(']'):
			d--
		}
	}
}
