package wire

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalNumber_ComparesExactDecimals(t *testing.T) {
	tests := map[string]struct{ lit, want string }{
		"an integer":                          {"42", "42"},
		"trailing zeros of an integer":        {"100", "1e2"},
		"one point zero":                      {"1.0", "1"},
		"a fraction":                          {"0.7", "7e-1"},
		"a fraction with a trailing zero":     {"0.70", "7e-1"},
		"an exponent":                         {"7E-1", "7e-1"},
		"an exponent with a plus sign":        {"1.5e+3", "15e2"},
		"digits on both sides":                {"12.50", "125e-1"},
		"a negative number":                   {"-0.25", "-25e-2"},
		"zero":                                {"0", "0"},
		"negative zero":                       {"-0", "0"},
		"zero with a fraction and exponent":   {"-0.000e7", "0"},
		"an integer beyond float64 precision": {"12345678901234567891", "12345678901234567891"},
		"a huge exponent is normalized":       {"1e400", "1e400"},
		"an exponent too large to normalize is kept as written": {"10E99999999999999999999", "10E99999999999999999999"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := CanonicalNumber(tc.lit)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, got, CanonicalNumber(got), "a canonical form is its own canonical form")
		})
	}
}

func TestCanonicalize_WritesOneFormPerDocument(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"members sorted, whitespace gone": {
			"{ \"b\" : [1, 2.0 ,{\"d\":null,\"c\":true}] ,\n\"a\":false }",
			`{"a":false,"b":[1,2,{"c":true,"d":null}]}`,
		},
		"strings decoded and re-encoded one way": {
			`["\u00e9\/\"\\\n\t\u001f\ud83d\ude00", "é/"]`,
			"[\"é/\\\"\\\\\\u000a\\u0009\\u001f😀\",\"é/\"]",
		},
		"names are strings too":            {`{"\u0061":1}`, `{"a":1}`},
		"empty containers":                 {`{"a":{},"b":[]}`, `{"a":{},"b":[]}`},
		"a scalar document":                {` 1.50 `, `15e-1`},
		"HTML characters stay as they are": {`"<&>"`, `"<&>"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Canonical([]byte(tc.in), nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
			again, err := Canonical(got, nil)
			require.NoError(t, err)
			assert.Equal(t, string(got), string(again), "a canonical form is its own canonical form")
		})
	}
}

func TestCanonicalize_DropsOnlyTopLevelMembers(t *testing.T) {
	drop := func(name string) bool { return name == "user" }
	got, err := Canonical([]byte(`{"user":"a","x":{"user":"b"},"y":[{"user":"c"}]}`), drop)
	require.NoError(t, err)
	assert.Equal(t, `{"x":{"user":"b"},"y":[{"user":"c"}]}`, string(got))
}
