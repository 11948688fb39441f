package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// usageKeys are the members the proxy keeps of an answer.
var usageKeys = []string{"usage", "usageMetadata"}

func TestPicker_KeepsTheNamedMembersInTheDocumentsShape(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
	}{
		"a chat completion": {
			in:   `{"id":"c1","choices":[{"message":{"content":"usage: {\"usage\":1}"}}],"usage":{"prompt_tokens":9,"completion_tokens":2}, "system_fingerprint":"x"}`,
			want: `{"usage":{"prompt_tokens":9,"completion_tokens":2}}`,
		},
		"usage nested deeper is not the answer's": {
			in:   `{"choices":[{"usage":{"prompt_tokens":1}}],"meta":{"usage":2}}`,
			want: `{}`,
		},
		"every occurrence is kept, so the last wins as in a whole decode": {
			in:   `{"usage":{"a":1},"usage":{"a":2}}`,
			want: `{"usage":{"a":1},"usage":{"a":2}}`,
		},
		"an escaped key is the key": {
			in:   `{"us\u0061ge":{"a":1}}`,
			want: `{"us\u0061ge":{"a":1}}`,
		},
		"a Gemini array keeps each element's usageMetadata": {
			in:   "[{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":3}} ,\n {\"usageMetadata\":{\"promptTokenCount\":4, \"list\":[1, 2.5e3, true, null, \"s\"]}}]",
			want: `[{"usageMetadata":{"promptTokenCount":3}},{"usageMetadata":{"promptTokenCount":4,"list":[1,2.5e3,true,null,"s"]}}]`,
		},
		"array elements that are not objects fail to decode as they would": {
			in:   `[{"usage":1},"x",[2],3,null]`,
			want: `[{"usage":1},0,0,0,null]`,
		},
		"an empty object":             {in: ` {} `, want: `{}`},
		"an empty array":              {in: `[]`, want: `[]`},
		"a string has no members":     {in: `"usage"`, want: `0`},
		"a top-level number is whole": {in: `12`, want: `0`},
		"null is null":                {in: `null`, want: `null`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for size := 1; size <= len(tc.in); size++ {
				p := NewPicker(1<<10, usageKeys...)
				for i := 0; i < len(tc.in); i += size {
					_, _ = p.Write([]byte(tc.in[i:min(i+size, len(tc.in))]))
				}
				doc, ok := p.Document()
				require.True(t, ok, "pieces of %d bytes", size)
				require.Equal(t, tc.want, string(doc), "pieces of %d bytes", size)
			}
		})
	}
}

func TestPicker_HasNoDocumentForWhatEncodingJSONWouldRefuse(t *testing.T) {
	tests := map[string]string{
		"a document cut short":                `{"usage":{"prompt_tokens":9},"choices":[`,
		"a document cut in a string":          `{"id":"chat`,
		"trailing data":                       `{"usage":1} {}`,
		"a missing comma":                     `{"a":1 "usage":2}`,
		"a trailing comma":                    `{"usage":1,}`,
		"a bad literal":                       `{"usage":tru}`,
		"a bad number":                        `{"usage":1.2.3}`,
		"a raw control byte in a string":      "{\"id\":\"a\nb\",\"usage\":1}",
		"a bad escape":                        `{"id":"\x41","usage":1}`,
		"a short unicode escape":              `{"id":"\u12","usage":1}`,
		"a key that is not a string":          `{usage:1}`,
		"a closing bracket of the wrong kind": `{"usage":[1}}`,
		"nothing at all":                      ``,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			require.False(t, json.Valid([]byte(in)), "the case itself must be invalid JSON")
			p := NewPicker(1<<10, usageKeys...)
			_, _ = p.Write([]byte(in))
			_, ok := p.Document()
			assert.False(t, ok)
		})
	}
}

func TestPicker_KeepsNoMoreThanItsBound(t *testing.T) {
	p := NewPicker(16, usageKeys...)
	_, _ = p.Write([]byte(`{"usage":{"prompt_tokens":123456789}}`))
	_, ok := p.Document()
	assert.False(t, ok)
	assert.ErrorIs(t, p.err, errPickTooLarge)
}

// FuzzPicker checks a Picker against encoding/json: it has a document
// exactly for valid JSON, and the document decodes into the kept members
// as the whole input does.
func FuzzPicker(f *testing.F) {
	for _, s := range []string{
		`{"usage":{"prompt_tokens":9}}`, `[{"usageMetadata":{"a":[1,{"b":"c"}]}},{}]`, `{"a":"\u00e9\"","usage":null}`,
		`{"usage":1,"usage":2}`, `[1,"2",[3],{"usage":4}]`, `  "x" `, `-1.5e-3`, `{"a":{"usage":1}}`, `{"us\u0061ge":true}`,
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		p := NewPicker(1<<20, usageKeys...)
		step := int(size)%16 + 1
		for i := 0; i < len(in); i += step {
			_, _ = p.Write(in[i:min(i+step, len(in))])
		}
		doc, ok := p.Document()
		if p.err == errPickTooLarge || p.err == ErrMalformed && len(in) > maxScalar {
			t.Skip("beyond the Picker's bounds")
		}
		require.Equal(t, json.Valid(in), ok, "document %q", doc)
		if !ok {
			return
		}
		require.True(t, json.Valid(doc), "document %q", doc)
		type members struct {
			Usage         any `json:"usage"`
			UsageMetadata any `json:"usageMetadata"`
		}
		var whole, picked any
		if in = []byte(string(in)); len(in) > 0 && firstByte(in) == '[' {
			var w, p []members
			errW, errP := json.Unmarshal(in, &w), json.Unmarshal(doc, &p)
			require.Equal(t, errW == nil, errP == nil, "decoding %q and %q", in, doc)
			whole, picked = w, p
		} else {
			var w, p members
			errW, errP := json.Unmarshal(in, &w), json.Unmarshal(doc, &p)
			require.Equal(t, errW == nil, errP == nil, "decoding %q and %q", in, doc)
			whole, picked = w, p
		}
		require.Equal(t, whole, picked)
	})
}

func firstByte(b []byte) byte {
	return b[SkipSpace(b, 0)]
}

func TestSkipPlain_StopsAtTheFirstByteAStringCannotHoldAsItIs(t *testing.T) {
	naive := func(b []byte, i int) int {
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		return i
	}
	plain := []byte(strings.Repeat("héllo wörld ~\x7f\xff", 3))
	for _, special := range []byte{'"', '\\', 0x00, 0x1f, '\n'} {
		for at := 0; at <= len(plain); at++ {
			b := append(append(append([]byte(nil), plain[:at]...), special), plain[at:]...)
			for from := 0; from <= at; from++ {
				require.Equal(t, naive(b, from), skipPlain(b, from), "%q at %d, from %d", special, at, from)
			}
		}
	}
	assert.Equal(t, len(plain), skipPlain(plain, 0), "nothing to stop at")
}

func TestValidScalar_AgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "1", "-1", "10", "0.5", "-0.5e10", "1E+2", "1e-2", "123456789012345678901234567890",
		"01", "-", "+1", "1.", ".5", "1e", "1e+", "0x1", "1.2.3", "--1", "1-", "true", "false", "null",
		"tru", "nulll", "True", "NaN", "Infinity", "e5", "", "0.0e0", "-01",
	} {
		assert.Equal(t, json.Valid([]byte(s)) && s != "", validScalar([]byte(s)), "%q", s)
	}
}

func TestPicker_ResetReadsTheNextDocumentAsANewPickerWould(t *testing.T) {
	docs := []string{
		`{"usage":{"prompt_tokens":9}}`, `12`, `[{"usageMetadata":{"a":1}},"x",null]`, `{"usage":tru}`, `null`,
		`{"id":"` + strings.Repeat("x", 300) + `","usage":{"b":[1,2]}}`, `{"a":1`, `"s"`, `[]`, `{"us\u0061ge":1}`, `{}`,
	}
	reused := NewPicker(1<<10, usageKeys...)
	for range 3 {
		for _, in := range docs {
			fresh := NewPicker(1<<10, usageKeys...)
			_, _ = fresh.Write([]byte(in))
			want, wantOK := fresh.Document()
			reused.Reset()
			_, _ = reused.Write([]byte(in))
			got, ok := reused.Document()
			require.Equal(t, wantOK, ok, in)
			require.Equal(t, string(want), string(got), in)
		}
	}
	assert.Equal(t, "0", string(notObjectValue), "the shared stand-ins are never written")
	assert.Equal(t, "null", string(nullValue))
}

// pickerInputs are answers of the kinds a proxy reads usage from: a chat
// completion whose text is one long string, an embeddings list of numbers,
// and a tool call whose arguments are escaped JSON.
func pickerInputs() map[string][]byte {
	text := strings.Repeat("Hello from the mock provider. ", 64<<10/30)
	chat, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
	})
	vector := make([]float64, 8192)
	for i := range vector {
		vector[i] = float64(i%977)/1000 - 0.4887
	}
	embeddings, _ := json.Marshal(map[string]any{
		"object": "list", "data": []any{map[string]any{"object": "embedding", "index": 0, "embedding": vector}},
		"usage": map[string]any{"prompt_tokens": 8, "total_tokens": 8},
	})
	args, _ := json.Marshal(map[string]any{"rows": strings.Split(strings.Repeat("a \"quoted\" cell\tand a tab,", 2000), ",")})
	tool, _ := json.Marshal(map[string]any{
		"choices": []any{map[string]any{"message": map[string]any{"tool_calls": []any{map[string]any{"function": map[string]any{"name": "f", "arguments": string(args)}}}}}},
		"usage":   map[string]any{"prompt_tokens": 12, "completion_tokens": 7},
	})
	small := []byte(`{"id":"chatcmpl-mock1","object":"chat.completion","created":1764600000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"He","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_mock"}`)
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, small, "", "  ")
	return map[string][]byte{"chat64KiB": chat, "embeddings": embeddings, "toolCall": tool, "chatSmall": small, "chatSmallPretty": pretty.Bytes()}
}

func TestPicker_FindsTheUsageOfEachBenchmarkInput(t *testing.T) {
	for name, in := range pickerInputs() {
		p := NewPicker(1<<10, usageKeys...)
		for i := 0; i < len(in); i += 4096 {
			_, _ = p.Write(in[i:min(i+4096, len(in))])
		}
		doc, ok := p.Document()
		require.True(t, ok, name)
		assert.Contains(t, string(doc), `"prompt_tokens"`, name)
	}
}

// BenchmarkPicker reads each input in the 4 KiB pieces an HTTP body
// arrives in.
func BenchmarkPicker(b *testing.B) {
	for name, in := range pickerInputs() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				p := NewPicker(64<<10, usageKeys...)
				for i := 0; i < len(in); i += 4096 {
					_, _ = p.Write(in[i:min(i+4096, len(in))])
				}
				if _, ok := p.Document(); !ok {
					b.Fatal("no document")
				}
			}
		})
	}
}

func TestPicker_RunsEndWhereABytePerByteReadWould(t *testing.T) {
	for name, in := range map[string]string{
		"a space after a backslash is a bad escape":   `{"a":"x\ y","usage":1}`,
		"a key longer than the Picker compares":       `{"` + strings.Repeat("k", maxPickKey+1) + `":1,"usage":{"a":2}}`,
		"a key one byte short of that":                `{"` + strings.Repeat("k", maxPickKey) + `":1,"usage":{"a":2}}`,
		"a kept value with strings, numbers, space":   "{\"usage\": {\"a\" : [1, 2.5e3,\n \"x y\"] } }",
		"pretty-printed, as OpenAI answers":           "{\n  \"id\": \"c\",\n  \"usage\": {\n    \"prompt_tokens\": 9\n  }\n}\n",
		"a number cut by the end of a piece":          `{"usage":{"prompt_tokens":123456}}`,
		"escaped quotes in a key that is kept":        `{"us\"age":1,"usage":2}`,
		"a control byte in a kept string":             "{\"usage\":\"a\x01\"}",
		"a long kept string":                          `{"usage":"` + strings.Repeat("z", 500) + `"}`,
		"a long key that names the member, escaped":   `{"\u0075sage":{"a":1}}`,
		"space in a number is its end":                `{"usage":1 2}`,
		"a string value longer than the kept bound":   `{"usage":"` + strings.Repeat("z", 2000) + `"}`,
		"the bound crossed by a number in a kept run": `{"usage":[` + strings.Repeat("1,", 600) + `1]}`,
	} {
		t.Run(name, func(t *testing.T) {
			whole := NewPicker(1<<10, usageKeys...)
			_, _ = whole.Write([]byte(in))
			want, wantOK := whole.Document()
			for size := 1; size <= 9; size++ {
				p := NewPicker(1<<10, usageKeys...)
				for i := 0; i < len(in); i += size {
					_, _ = p.Write([]byte(in[i:min(i+size, len(in))]))
				}
				got, ok := p.Document()
				require.Equal(t, wantOK, ok, "pieces of %d", size)
				require.Equal(t, string(want), string(got), "pieces of %d", size)
			}
			if json.Valid([]byte(in)) && len(in) < 1<<10 {
				assert.True(t, wantOK, "valid JSON within the bound has a document")
			}
			if !json.Valid([]byte(in)) {
				assert.False(t, wantOK, "invalid JSON has none")
			}
		})
	}
}
