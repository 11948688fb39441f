package wire

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNullMember_RemovesTheMemberAndOneComma(t *testing.T) {
	tests := map[string]struct {
		obj  string
		want string // obj without the member; "" when nothing is removed
	}{
		"between two members": {
			obj:  `{"choices":[{"delta":{"content":"Hi"}}],"usage":null,"obfuscation":"aB3d"}`,
			want: `{"choices":[{"delta":{"content":"Hi"}}],"obfuscation":"aB3d"}`,
		},
		"the last member": {
			obj:  `{"choices":[],"model":"gpt-4o","usage":null}`,
			want: `{"choices":[],"model":"gpt-4o"}`,
		},
		"the first member": {
			obj:  `{"usage":null,"choices":[]}`,
			want: `{"choices":[]}`,
		},
		"the only member": {
			obj:  `{ "usage" : null }`,
			want: `{  }`,
		},
		"spaces and newlines around it": {
			obj:  "{\"a\": 1 ,\n  \"usage\" : null ,\n  \"b\": 2}",
			want: "{\"a\": 1 ,\n  \"b\": 2}",
		},
		"a usage object is kept": {
			obj: `{"choices":[],"usage":{"prompt_tokens":1}}`,
		},
		"a nested null usage is kept": {
			obj: `{"choices":[{"delta":{},"usage":null}]}`,
		},
		"text that looks like the member is kept": {
			obj: `{"choices":[{"delta":{"content":"\"usage\":null"}}]}`,
		},
		"a duplicated key is kept": {
			obj: `{"usage":{"prompt_tokens":1},"usage":null}`,
		},
		"not an object": {
			obj: `[DONE]`,
		},
		"malformed JSON": {
			obj: `{"usage":null,`,
		},
		"escapes in the text before it": {
			obj:  `{"choices":[{"delta":{"content":"say \"hi\"\n\\"}}],"usage":null,"o":"x"}`,
			want: `{"choices":[{"delta":{"content":"say \"hi\"\n\\"}}],"o":"x"}`,
		},
		"a duplicate spelled with an escape is kept": {
			obj: `{"us\u0061ge":{"prompt_tokens":1},"usage":null}`,
		},
		"escapes of other characters before it": {
			obj:  `{"choices":[{"delta":{"content":"\u00e9t\u00e9 \uD83D\uDE00"}}],"usage":null}`,
			want: `{"choices":[{"delta":{"content":"\u00e9t\u00e9 \uD83D\uDE00"}}]}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := []byte(tc.obj)
			start, end, ok := NullMember(obj, "usage")
			if tc.want == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			got := string(obj[:start]) + string(obj[end:])
			assert.Equal(t, tc.want, got)
			assert.True(t, json.Valid([]byte(got)))
		})
	}
}

func TestNullMember_DoesNotAllocate(t *testing.T) {
	obj := []byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":" world"},"finish_reason":null}],"usage":null,"obfuscation":"aB3d"}`)
	assert.Zero(t, testing.AllocsPerRun(100, func() { NullMember(obj, "usage") }))
}

func FuzzNullMember(f *testing.F) {
	for _, obj := range []string{
		`{"choices":[{"delta":{"content":"Hi"}}],"usage":null,"obfuscation":"aB3d"}`,
		`{"usage":null,"choices":[]}`,
		`{ "usage" : null }`,
		`{"choices":[{"delta":{},"usage":null}],"usage":null}`,
		`{"type":"usage","usage":null}`,
		`{"usage":{"prompt_tokens":1},"usage":null}`,
		`{"usage":null,"us\u0061ge":1}`,
		`{"a":"\"usage\":null","usage":null}`,
		`{"a":[{"usage":null}]}`,
		`{"\u0075sage":1,"usage":null}`,
		`{"c":"\u00e9","usage":null}`,
		`{"c":"\u00","usage":null}`,
	} {
		f.Add([]byte(obj))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		start, end, ok := NullMember(obj, "usage")
		if !json.Valid(obj) {
			return // any answer, but no panic
		}
		wStart, wEnd, wOK := nullMemberByWalk(obj, "usage")
		require.Equal(t, wOK, ok, "%s", obj)
		if !ok {
			return
		}
		require.Equal(t, [2]int{wStart, wEnd}, [2]int{start, end}, "%s", obj)
		out := append(append([]byte(nil), obj[:start]...), obj[end:]...)
		require.True(t, json.Valid(out), "%s without the member: %s", obj, out)
		var before, after map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(obj, &before))
		require.NoError(t, json.Unmarshal(out, &after))
		require.Equal(t, "null", string(before["usage"]))
		delete(before, "usage")
		require.Equal(t, before, after, "only the member is removed")
	})
}

func BenchmarkNullMember(b *testing.B) {
	for name, obj := range map[string]string{
		"a content chunk":                      `{"id":"chatcmpl-BvK4aQ2","object":"chat.completion.chunk","created":1752856101,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"aB3d"}`,
		"a content chunk with unicode escapes": `{"id":"chatcmpl-BvK4aQ2","object":"chat.completion.chunk","created":1752856101,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[{"index":0,"delta":{"content":" \u00e9t\u00e9"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"aB3d"}`,
	} {
		b.Run(name, func(b *testing.B) {
			data := []byte(obj)
			_, _, decided, _ := nullMemberNearEnd(data, "usage")
			require.True(b, decided, "the fast path decides")
			b.ReportAllocs()
			for b.Loop() {
				NullMember(data, "usage")
			}
		})
	}
}
