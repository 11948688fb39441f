package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringLen_CountsDecodedBytes(t *testing.T) {
	tests := map[string]struct {
		lit  string
		want int
	}{
		"plain ASCII":                               {`"hello"`, 5},
		"empty":                                     {`""`, 0},
		"raw UTF-8 counts its bytes":                {`"café"`, 5},
		"short escapes decode to one byte":          {`"a\n\t\"\\\/b"`, 7},
		"a u-escape counts its UTF-8 length":        {`"\u00e9\u20ac"`, 2 + 3},
		"a surrogate pair is one four-byte rune":    {`"\ud83d\ude00"`, 4},
		"a lone high surrogate is U+FFFD":           {`"\ud83dx"`, 3 + 1},
		"a lone low surrogate is U+FFFD":            {`"\ude00"`, 3},
		"a high surrogate before another escape":    {`"\ud83d\u0041"`, 3 + 1},
		"a truncated literal does not overrun":      {`"\u00`, 2},
		"a backslash at the end does not overrun":   {`"a\`, 1},
		"a literal too short to have quotes counts": {`"`, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, StringLen([]byte(tc.lit)))
		})
	}
}

func FuzzStringLen(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud83d\ude00"`, `"\ud83d"`, `"é\n"`, `"\u0000"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		n := StringLen([]byte(lit))
		var s string
		if !utf8.ValidString(lit) || json.Unmarshal([]byte(lit), &s) != nil {
			return // no panic is all that is asked of text that is not a JSON string
		}
		require.Equal(t, len(s), n, "%q", lit)
	})
}

func TestTextBytes_CountsPromptText(t *testing.T) {
	tests := map[string]struct {
		doc  string
		want int
	}{
		"a string":                                  {`"abc"`, 3},
		"an array of strings":                       {`["ab", "c"]`, 3},
		"OpenAI text and image parts":               {`[{"type":"text","text":"ab"},{"type":"image_url","image_url":{"url":"data:xyz"}}]`, 2},
		"messages with string and null content":     {`[{"role":"user","content":"ab"},{"role":"assistant","content":null,"tool_calls":[{"function":{"arguments":"{}"}}]}]`, 2},
		"Anthropic tool results nest content":       {`[{"content":[{"type":"tool_result","content":[{"type":"text","text":"abc"}]}]}]`, 3},
		"Gemini parts":                              {`[{"role":"user","parts":[{"text":"ab"},{"inlineData":{"data":"AAAA"}}]}]`, 2},
		"Responses function call output":            {`[{"type":"function_call_output","output":"42"}]`, 2},
		"text that is not a string counts nothing":  {`[{"text":{"value":"abc"}}]`, 0},
		"numbers, booleans and null count nothing":  {`[1, true, null, [2.5]]`, 0},
		"keys other than the text keys are skipped": {`{"name":"abcdef","arguments":"{\"text\":\"x\"}"}`, 0},
		"empty containers":                          {`[{}, [], ""]`, 0},
		"whitespace everywhere":                     {" [ { \"text\" : \"ab\" } , \"c\" ] ", 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tc.doc)))
			assert.Equal(t, tc.want, TextBytes([]byte(tc.doc)))
		})
	}
}

func TestTextBytes_IsLinearInDeepNesting(t *testing.T) {
	// Rescanning each level would take seconds; one pass takes microseconds.
	depth := 4000 // 8000 levels; encoding/json allows 10000
	doc := strings.Repeat(`{"content":[`, depth) + `"x"` + strings.Repeat(`]}`, depth)
	require.True(t, json.Valid([]byte(doc)))
	assert.Equal(t, 1, TextBytes([]byte(doc)))
}

func TestFindField_TakesTheLastOfDuplicateKeys(t *testing.T) {
	obj := []byte(`{"a":1,"b":{"a":2},"a":3}`)
	v, ok := TopLevelValue(obj, "a")
	require.True(t, ok)
	assert.Equal(t, "3", string(v))
	v, ok = TopLevelValue(obj, "b")
	require.True(t, ok)
	assert.Equal(t, `{"a":2}`, string(v))
	_, ok = TopLevelValue(obj, "c")
	assert.False(t, ok)
	_, ok = TopLevelValue([]byte(`[1]`), "a")
	assert.False(t, ok)
}

func TestMayHaveObjectMember(t *testing.T) {
	tests := map[string]struct {
		data string
		want bool
	}{
		"a usage object":                      {`{"choices":[],"usage":{"prompt_tokens":1}}`, true},
		"spaces around the colon":             {`{"usage" : {"prompt_tokens":1}}`, true},
		"null usage":                          {`{"choices":[{"delta":{}}],"usage":null}`, false},
		"no usage":                            {`{"choices":[{"delta":{"content":"hi"}}]}`, false},
		"usage quoted inside text":            {`{"delta":{"content":"\"usage\": {1}"}}`, false},
		"a null usage then a usage object":    {`{"usage":null,"response":{"usage":{"input_tokens":1}}}`, true},
		"the word usage as a value":           {`{"content":"usage"}`, false},
		"usage at the very end of a fragment": {`{"usage"`, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, MayHaveObjectMember([]byte(tc.data), `"usage"`))
		})
	}
}
