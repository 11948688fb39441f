package cache

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/wire"
)

const (
	chatPath     = "/v1/chat/completions"
	chatBody     = `{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"hi"}]}`
	geminiPath   = "/v1beta/models/gemini-2.5-flash:generateContent"
	testScope    = "scope-a"
	testProvider = "openai"
)

// chat is a KeyInput for an OpenAI chat request with body.
func chat(body string) KeyInput {
	return KeyInput{Scope: testScope, Provider: testProvider, Path: chatPath, Body: []byte(body)}
}

func mustKey(t *testing.T, in KeyInput) string {
	t.Helper()
	k, err := Key(in)
	require.NoError(t, err, "body %s", in.Body)
	require.Len(t, k, 64, "a hex SHA-256")
	return k
}

func TestKey_SharesKeyWhenOnlyFormDiffers(t *testing.T) {
	tests := map[string]struct{ a, b KeyInput }{
		"members in another order": {
			chat(`{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"hi"}]}`),
			chat(`{"messages":[{"content":"hi","role":"user"}],"temperature":0,"model":"gpt-4o"}`),
		},
		"whitespace between tokens": {
			chat(chatBody),
			chat("{\n  \"model\" : \"gpt-4o\",\t\"temperature\": 0,\r\n \"messages\": [ { \"role\": \"user\", \"content\": \"hi\" } ]\n}\n"),
		},
		"1 and 1.0": {
			chat(`{"model":"m","top_p":1,"messages":[]}`),
			chat(`{"model":"m","top_p":1.0,"messages":[]}`),
		},
		"0.7 and 7E-1": {
			chat(`{"model":"m","temperature":0.7,"messages":[]}`),
			chat(`{"model":"m","temperature":7E-1,"messages":[]}`),
		},
		"0.70 and 70e-2": {
			chat(`{"model":"m","temperature":0.70,"messages":[]}`),
			chat(`{"model":"m","temperature":70e-2,"messages":[]}`),
		},
		"0 and -0.0": {
			chat(`{"model":"m","temperature":0,"messages":[]}`),
			chat(`{"model":"m","temperature":-0.0,"messages":[]}`),
		},
		"a string escaped or not": {
			chat(`{"model":"m","messages":[{"role":"user","content":"é/A\n😀"}]}`),
			chat(`{"model":"m","messages":[{"role":"user","content":"\u00e9\/\u0041\u000a\ud83d\ude00"}]}`),
		},
		"chat: user, safety_identifier, prompt_cache_key and metadata are dropped": {
			chat(chatBody),
			chat(`{"user":"alice","safety_identifier":"h-1","prompt_cache_key":"k","metadata":{"run":"7"},` + chatBody[1:]),
		},
		"Azure chat (path with query): user is dropped": {
			KeyInput{Scope: testScope, Provider: "azure", Path: "/openai/deployments/d/chat/completions?api-version=2024-10-21", Body: []byte(chatBody)},
			KeyInput{Scope: testScope, Provider: "azure", Path: "/openai/deployments/d/chat/completions?api-version=2024-10-21", Body: []byte(`{"user":"bob",` + chatBody[1:])},
		},
		"Anthropic messages: metadata.user_id is dropped": {
			KeyInput{Scope: testScope, Provider: "anthropic", Path: "/v1/messages", Body: []byte(`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`)},
			KeyInput{Scope: testScope, Provider: "anthropic", Path: "/v1/messages", Body: []byte(`{"metadata":{"user_id":"u-9"},"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`)},
		},
		"embeddings: user is dropped": {
			KeyInput{Scope: testScope, Provider: testProvider, Path: "/v1/embeddings", Body: []byte(`{"model":"text-embedding-3-small","input":"hi"}`)},
			KeyInput{Scope: testScope, Provider: testProvider, Path: "/v1/embeddings", Body: []byte(`{"model":"text-embedding-3-small","input":"hi","user":"alice"}`)},
		},
		"Gemini: the key query parameter is a credential, not part of the key": {
			KeyInput{Scope: testScope, Provider: "gemini", Path: geminiPath + "?alt=sse", Body: []byte(`{"contents":[]}`)},
			KeyInput{Scope: testScope, Provider: "gemini", Path: geminiPath + "?key=AIzaSECRET&alt=sse", Body: []byte(`{"contents":[]}`)},
		},
		"Gemini: a percent-encoded key parameter is a credential too": {
			KeyInput{Scope: testScope, Provider: "gemini", Path: geminiPath, Body: []byte(`{"contents":[]}`)},
			KeyInput{Scope: testScope, Provider: "gemini", Path: geminiPath + "?k%65y=AIzaSECRET", Body: []byte(`{"contents":[]}`)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, mustKey(t, tc.a), mustKey(t, tc.b))
		})
	}
}

func TestKey_SeparatesRequestsWhoseAnswersMayDiffer(t *testing.T) {
	const (
		anthropicA = `{"model":"claude-sonnet-4-5","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}`
		responsesA = `{"model":"gpt-4.1","input":"hi","user":"alice","metadata":{"a":"1"}}`
		geminiA    = `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0}}`
	)
	anthropic := func(body string) KeyInput {
		return KeyInput{Scope: testScope, Provider: "anthropic", Path: "/v1/messages", Body: []byte(body)}
	}
	responses := func(body string) KeyInput {
		return KeyInput{Scope: testScope, Provider: testProvider, Path: "/v1/responses", Body: []byte(body)}
	}
	gemini := func(path, body string) KeyInput {
		return KeyInput{Scope: testScope, Provider: "gemini", Path: path, Body: []byte(body)}
	}
	with := func(in KeyInput, edit func(*KeyInput)) KeyInput { edit(&in); return in }

	tests := map[string]struct{ a, b KeyInput }{
		"model": {
			chat(chatBody),
			chat(`{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"hi"}]}`),
		},
		"messages": {
			chat(chatBody),
			chat(`{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"hello"}]}`),
		},
		"message role": {
			chat(chatBody),
			chat(`{"model":"gpt-4o","temperature":0,"messages":[{"role":"system","content":"hi"}]}`),
		},
		"Anthropic system": {anthropic(anthropicA), anthropic(`{"model":"claude-sonnet-4-5","max_tokens":64,"system":"Be thorough.","messages":[{"role":"user","content":"hi"}]}`)},
		"tools": {
			chat(chatBody),
			chat(`{"model":"gpt-4o","temperature":0,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`),
		},
		"temperature": {
			chat(chatBody),
			chat(`{"model":"gpt-4o","temperature":0.2,"messages":[{"role":"user","content":"hi"}]}`),
		},
		"temperature absent": {
			chat(chatBody),
			chat(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`),
		},
		"temperature null and absent": {
			chat(`{"model":"gpt-4o","temperature":null,"messages":[]}`),
			chat(`{"model":"gpt-4o","messages":[]}`),
		},
		"top_p": {chat(`{"model":"m","top_p":0.9,"messages":[]}`), chat(`{"model":"m","top_p":0.95,"messages":[]}`)},
		"seed":  {chat(`{"model":"m","seed":1,"messages":[]}`), chat(`{"model":"m","seed":2,"messages":[]}`)},
		"seeds too large for a float64": {
			chat(`{"model":"m","seed":12345678901234567891,"messages":[]}`),
			chat(`{"model":"m","seed":12345678901234567892,"messages":[]}`),
		},
		"response_format": {
			chat(`{"model":"m","response_format":{"type":"text"},"messages":[]}`),
			chat(`{"model":"m","response_format":{"type":"json_object"},"messages":[]}`),
		},
		"max_tokens":                           {chat(`{"model":"m","max_tokens":10,"messages":[]}`), chat(`{"model":"m","max_tokens":11,"messages":[]}`)},
		"max_tokens and max_completion_tokens": {chat(`{"model":"m","max_tokens":10,"messages":[]}`), chat(`{"model":"m","max_completion_tokens":10,"messages":[]}`)},
		"max_completion_tokens":                {chat(`{"model":"m","max_completion_tokens":10,"messages":[]}`), chat(`{"model":"m","max_completion_tokens":20,"messages":[]}`)},
		"stream": {
			chat(`{"model":"m","messages":[]}`),
			chat(`{"model":"m","stream":true,"messages":[]}`),
		},
		"stream_options": {
			chat(`{"model":"m","stream":true,"messages":[]}`),
			chat(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`),
		},
		"store":        {chat(`{"model":"m","store":true,"messages":[]}`), chat(`{"model":"m","store":false,"messages":[]}`)},
		"service_tier": {chat(`{"model":"m","service_tier":"flex","messages":[]}`), chat(`{"model":"m","messages":[]}`)},
		"an unknown member": {
			chat(`{"model":"m","messages":[]}`),
			chat(`{"model":"m","messages":[],"x_new_sampling_knob":3}`),
		},
		"user nested in a message is not the top-level user": {
			chat(`{"model":"m","messages":[{"role":"user","content":"hi","user":"a"}]}`),
			chat(`{"model":"m","messages":[{"role":"user","content":"hi","user":"b"}]}`),
		},
		"Responses API: user is echoed in the answer, so it stays":     {responses(responsesA), responses(`{"model":"gpt-4.1","input":"hi","user":"bob","metadata":{"a":"1"}}`)},
		"Responses API: metadata is echoed in the answer, so it stays": {responses(responsesA), responses(`{"model":"gpt-4.1","input":"hi","user":"alice","metadata":{"a":"2"}}`)},
		"Gemini generationConfig": {
			gemini(geminiPath, geminiA),
			gemini(geminiPath, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0,"maxOutputTokens":5}}`),
		},
		"Gemini model in the path": {
			gemini(geminiPath, geminiA),
			gemini("/v1beta/models/gemini-2.5-pro:generateContent", geminiA),
		},
		"string and number": {chat(`{"model":"m","n":1,"messages":[]}`), chat(`{"model":"m","n":"1","messages":[]}`)},
		"path":              {chat(chatBody), with(chat(chatBody), func(in *KeyInput) { in.Path = "/v1/completions" })},
		"provider":          {chat(chatBody), with(chat(chatBody), func(in *KeyInput) { in.Provider = "openai-eu" })},
		"scope":             {chat(chatBody), with(chat(chatBody), func(in *KeyInput) { in.Scope = ScopeOf("sk-other") })},
		"query string":      {gemini(geminiPath, geminiA), gemini(geminiPath+"?alt=sse", geminiA)},
		"query string value": {
			with(chat(chatBody), func(in *KeyInput) { in.Path = chatPath + "?api-version=2024-10-21" }),
			with(chat(chatBody), func(in *KeyInput) { in.Path = chatPath + "?api-version=2025-01-01" }),
		},
		"fields do not run into each other": {
			KeyInput{Scope: "ab", Provider: "c", Path: chatPath, Body: []byte(chatBody)},
			KeyInput{Scope: "a", Provider: "bc", Path: chatPath, Body: []byte(chatBody)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.NotEqual(t, mustKey(t, tc.a), mustKey(t, tc.b))
		})
	}
}

func TestKey_RefusesRequestsItCannotKeyUnambiguously(t *testing.T) {
	tests := map[string]struct {
		in      KeyInput
		wantErr error
	}{
		"not JSON":               {chat(`model=gpt-4o`), wire.ErrNotJSON},
		"empty body":             {chat(``), wire.ErrNotJSON},
		"truncated JSON":         {chat(`{"model":"m","messages":[`), wire.ErrNotJSON},
		"invalid UTF-8":          {chat("{\"model\":\"m\xff\"}"), wire.ErrNotJSON},
		"a member named twice":   {chat(`{"model":"a","messages":[],"model":"b"}`), wire.ErrDuplicateName},
		"a nested member twice":  {chat(`{"model":"a","messages":[{"role":"user","role":"system"}]}`), wire.ErrDuplicateName},
		"a dropped member twice": {chat(`{"user":"a","user":"b","model":"m"}`), wire.ErrDuplicateName},
		"a lone high surrogate":  {chat(`{"model":"m","messages":[{"content":"\ud83d"}]}`), wire.ErrLoneSurrogate},
		"a lone low surrogate":   {chat(`{"model":"m","messages":[{"content":"\ude00x"}]}`), wire.ErrLoneSurrogate},
		"a high surrogate followed by a non-surrogate escape": {
			chat(`{"model":"m","messages":[{"content":"\ud83d\u0041"}]}`), wire.ErrLoneSurrogate,
		},
		"no scope": {KeyInput{Provider: testProvider, Path: chatPath, Body: []byte(chatBody)}, ErrNoScope},
		"a Responses API request that appends to a conversation": {
			KeyInput{Scope: testScope, Provider: testProvider, Path: "/v1/responses", Body: []byte(`{"model":"gpt-4.1","input":"hi","conversation":"conv_1"}`)},
			ErrStateful,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := Key(tc.in)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Empty(t, k)
		})
	}
}

func TestKey_AcceptsAResponsesRequestWithoutConversation(t *testing.T) {
	for _, body := range []string{
		`{"model":"gpt-4.1","input":"hi"}`,
		`{"model":"gpt-4.1","input":"hi","conversation":null}`,
		`{"model":"gpt-4.1","input":"hi","previous_response_id":"resp_1"}`,
	} {
		mustKey(t, KeyInput{Scope: testScope, Provider: testProvider, Path: "/v1/responses", Body: []byte(body)})
	}
}

func TestKey_ErrorNamesTheRequest(t *testing.T) {
	_, err := Key(KeyInput{Scope: testScope, Provider: "anthropic", Path: "/v1/messages?beta=true", Body: []byte(`{`)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "anthropic /v1/messages")
	assert.NotContains(t, err.Error(), "beta=true", "query strings may hold credentials")
}

func TestScopeOf_IsAOneWayHashPerCredential(t *testing.T) {
	a, b := ScopeOf("sk-live-alpha"), ScopeOf("sk-live-beta")
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, ScopeOf("sk-live-alpha"), "stable for one credential")
	assert.Len(t, a, 32)
	assert.NotContains(t, a, "alpha")
	assert.NotEmpty(t, ScopeOf(""), "even no credential has a scope, so Key accepts it")
}

func TestWithoutCredentials_KeepsOtherParametersAsWritten(t *testing.T) {
	tests := map[string]struct{ path, want string }{
		"no query":                 {"/v1/messages", "/v1/messages"},
		"only the key":             {"/m:generateContent?key=s", "/m:generateContent"},
		"key between others":       {"/m?alt=sse&key=s&x=%41", "/m?alt=sse&x=%41"},
		"a key that is not a name": {"/m?monkey=1&keys=2", "/m?monkey=1&keys=2"},
		"a key in a value":         {"/m?q=key", "/m?q=key"},
		"bad escapes are kept":     {"/m?%zz=1&key=s", "/m?%zz=1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, withoutCredentials(tc.path))
		})
	}
}

func BenchmarkKey_ALongConversation(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"model":"gpt-4o","temperature":0,"messages":[`)
	for i := range 2000 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"role":"user","content":"message %d: the quick brown fox jumps over the lazy dog \u00e9 \"quoted\" 0.%d"}`, i, i)
	}
	body.WriteString(`]}`)
	in := chat(body.String())
	b.SetBytes(int64(len(in.Body)))
	for b.Loop() {
		if _, err := Key(in); err != nil {
			b.Fatal(err)
		}
	}
}
