package provider

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzJSONString holds jsonString to encoding/json: the string a raw
// value decodes to, or "" when it is not a JSON string.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"gpt-4o-mini"`, `"a\"b"`, `"\u00e9"`, "\"a\tb\"", "\"\xff\"", `"`, `""`, `"x`, `1`, `"é"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var want string
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &want) != nil {
			want = ""
		}
		require.Equal(t, want, jsonString(v))
	})
}

func TestJSONString_ReadsAPlainModelNameWithOneAllocation(t *testing.T) {
	v := []byte(`"claude-sonnet-4-5-20250929"`)
	require.Equal(t, "claude-sonnet-4-5-20250929", jsonString(v))
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { jsonString(v) }))
}
