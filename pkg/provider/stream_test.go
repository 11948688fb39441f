package provider

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

func TestStreamObserver_ReadsUsageFromRecordedStreams(t *testing.T) {
	tests := map[string]struct {
		provider       proxyconfig.ProviderType
		file           string
		req            Request
		want           Usage
		wantDropped    []int // indexes of the events the app must not see
		wantEventCount int
	}{
		"OpenAI chat: the usage chunk the app asked for reaches it": {
			provider: proxyconfig.OpenAI, file: "openai/chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true, StreamUsageRequested: true},
			want:           Usage{InputTokens: 9, OutputTokens: 4, Known: true},
			wantEventCount: 6,
		},
		"OpenAI chat: the usage chunk the proxy asked for is dropped, [DONE] kept": {
			provider: proxyconfig.OpenAI, file: "openai/chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true},
			want:           Usage{InputTokens: 9, OutputTokens: 4, Known: true},
			wantDropped:    []int{4},
			wantEventCount: 6,
		},
		"Azure chat: the prompt filter chunk without choices is kept, the usage chunk dropped": {
			provider: proxyconfig.AzureOpenAI, file: "azure/chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true},
			want:           Usage{InputTokens: 22, OutputTokens: 18, Known: true},
			wantDropped:    []int{4},
			wantEventCount: 6,
		},
		"Anthropic compat chat: the usage chunk is dropped when not asked for": {
			provider: proxyconfig.Anthropic, file: "anthropic/compat_chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true},
			want:           Usage{InputTokens: 14, OutputTokens: 5, Known: true},
			wantDropped:    []int{3},
			wantEventCount: 5,
		},
		"Gemini compat chat: usage riding on a content chunk is read and the chunk kept": {
			provider: proxyconfig.Gemini, file: "gemini/compat_chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true},
			want:           Usage{InputTokens: 6, OutputTokens: 3, Known: true},
			wantEventCount: 3,
		},
		"vLLM: the usage chunk is dropped when not asked for": {
			provider: proxyconfig.OpenAICompatible, file: "compat/vllm_chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true},
			want:           Usage{InputTokens: 42, OutputTokens: 3, Known: true},
			wantDropped:    []int{3},
			wantEventCount: 5,
		},
		"Ollama: the usage chunk is dropped when not asked for": {
			provider: proxyconfig.OpenAICompatible, file: "compat/ollama_chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true},
			want:           Usage{InputTokens: 26, OutputTokens: 2, Known: true},
			wantDropped:    []int{2},
			wantEventCount: 4,
		},
		"llama.cpp: usage on the finish chunk is read and the chunk kept": {
			provider: proxyconfig.OpenAICompatible, file: "compat/llamacpp_chat_stream.sse",
			req:            Request{Shape: ShapeOpenAIChat, Stream: true},
			want:           Usage{InputTokens: 17, OutputTokens: 2, Known: true},
			wantEventCount: 4,
		},
		"Responses API: usage of response.completed": {
			provider: proxyconfig.OpenAI, file: "openai/responses_stream.sse",
			req:            Request{Shape: ShapeOpenAIResponses, Stream: true},
			want:           Usage{InputTokens: 37, OutputTokens: 11, Known: true},
			wantEventCount: 10,
		},
		"Responses API: usage of response.incomplete": {
			provider: proxyconfig.AzureOpenAI, file: "openai/responses_stream_incomplete.sse",
			req:            Request{Shape: ShapeOpenAIResponses, Stream: true},
			want:           Usage{InputTokens: 37, CachedInputTokens: 5, OutputTokens: 16, Known: true},
			wantEventCount: 10,
		},
		"Anthropic: input from message_start, cumulative output from message_delta": {
			provider: proxyconfig.Anthropic, file: "anthropic/messages_stream.sse",
			req:            Request{Shape: ShapeAnthropicMessages, Stream: true},
			want:           Usage{InputTokens: 472 + 2048, CachedInputTokens: 2048, OutputTokens: 15, Known: true},
			wantEventCount: 8,
		},
		"Anthropic: input counts in message_delta replace message_start's (CRLF stream)": {
			provider: proxyconfig.Anthropic, file: "anthropic/messages_stream_delta_input.sse",
			req:            Request{Shape: ShapeAnthropicMessages, Stream: true},
			want:           Usage{InputTokens: 3110 + 900 + 120, CachedInputTokens: 900, CacheWriteTokens: 120, OutputTokens: 89, Known: true},
			wantEventCount: 6,
		},
		"Gemini SSE: the last chunk's cumulative usage": {
			provider: proxyconfig.Gemini, file: "gemini/stream.sse",
			req:            Request{Shape: ShapeGeminiGenerate, Stream: true},
			want:           Usage{InputTokens: 31, CachedInputTokens: 8, OutputTokens: 14 + 88, ReasoningTokens: 88, Known: true},
			wantEventCount: 3,
		},
		"other streams pass through without usage": {
			provider: proxyconfig.OpenAI, file: "openai/chat_stream.sse",
			req:            Request{Shape: ShapeOther},
			wantEventCount: 6,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obs := adapterFor(t, tc.provider).NewStreamObserver(tc.req)
			assert.False(t, obs.Usage().Known, "no usage before the first event")
			er := wire.NewEventReader(bytes.NewReader(testdata(t, tc.file)))
			var dropped []int
			n := 0
			for ; ; n++ {
				ev, err := er.Next()
				if err != nil {
					break
				}
				if _, keep := obs.Observe(ev); !keep {
					dropped = append(dropped, n)
					assert.NotEqual(t, "[DONE]", string(ev.Data))
				}
			}
			assert.Equal(t, tc.wantEventCount, n)
			assert.Equal(t, tc.wantDropped, dropped)
			assert.Equal(t, tc.want, obs.Usage())
		})
	}
}

func TestStreamObserver_ReportsUsageAsItArrives(t *testing.T) {
	obs := adapterFor(t, proxyconfig.Anthropic).NewStreamObserver(Request{Shape: ShapeAnthropicMessages, Stream: true})
	evs := readAll(t, bytes.NewReader(testdata(t, "anthropic/messages_stream.sse")))
	_, keep := obs.Observe(evs[0])
	require.True(t, keep)
	assert.Equal(t, Usage{InputTokens: 2520, CachedInputTokens: 2048, OutputTokens: 2, Known: true}, obs.Usage(),
		"a stream cut after message_start still has its input counted")
}

func TestAnthropicObserver_KeepsTheOneHourWritesOfMessageStartThroughMessageDelta(t *testing.T) {
	obs := adapterFor(t, proxyconfig.Anthropic).NewStreamObserver(Request{Shape: ShapeAnthropicMessages, Stream: true})
	obs.Observe(wire.Event{Name: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":3,"cache_creation_input_tokens":1500,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":500},"output_tokens":1}}}`)})
	// A message_delta repeats the total of the writes without the breakdown.
	obs.Observe(wire.Event{Name: "message_delta", Data: []byte(`{"type":"message_delta","usage":{"input_tokens":3,"cache_creation_input_tokens":1500,"cache_read_input_tokens":0,"output_tokens":40}}`)})
	assert.Equal(t, Usage{InputTokens: 3 + 1500, CacheWriteTokens: 1000, CacheWrite1hTokens: 500, OutputTokens: 40, Known: true}, obs.Usage())
}

func TestStreamObserver_IgnoresEventsItCannotRead(t *testing.T) {
	events := []wire.Event{
		{},
		{Raw: []byte(": keep-alive\n\n")},
		{Data: []byte(`{"usage":{"prompt_tokens":`)},
		{Data: []byte(`{"usage":{"prompt_tokens":"x"}}`)},
		{Data: []byte(`{"usage": {} , "choices":[{"delta":{}}]}`)},
		{Name: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":[]}}`)},
		{Name: "response.completed", Data: []byte(`{"type":"response.completed","response":{"usage":{"input_tokens":"many"}}}`)},
		{Data: []byte(`{"usageMetadata":{"promptTokenCount":}`)},
		{Data: []byte(`[DONE]`)},
	}
	for _, p := range []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI, proxyconfig.Gemini, proxyconfig.OpenAICompatible} {
		for _, shape := range []Shape{ShapeOpenAIChat, ShapeOpenAIResponses, ShapeOpenAIEmbeddings, ShapeAnthropicMessages, ShapeGeminiGenerate, ShapeOther} {
			obs := adapterFor(t, p).NewStreamObserver(Request{Shape: shape, Stream: true})
			for _, ev := range events {
				obs.Observe(ev)
			}
			u := obs.Usage()
			assert.Zero(t, u.InputTokens+u.OutputTokens+u.CachedInputTokens, "%s %s", p, shape)
		}
	}
}

func TestChatObserver_KeepsUsageChunksWithContent(t *testing.T) {
	obs := &chatObserver{dropUsageChunk: true}
	_, keep := obs.Observe(wire.Event{Data: []byte(`{"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)})
	assert.True(t, keep)
	_, keep = obs.Observe(wire.Event{Data: []byte(`{"usage":{"prompt_tokens":3,"completion_tokens":2}}`)})
	assert.False(t, keep, "a chunk with only usage is the proxy's")
	_, keep = obs.Observe(wire.Event{Data: []byte(`{"choices":null,"usage":{"prompt_tokens":3,"completion_tokens":2}}`)})
	assert.False(t, keep)
	assert.Equal(t, Usage{InputTokens: 3, OutputTokens: 2, Known: true}, obs.Usage())
}

func TestChatObserver_RemovesOnlyTheNullUsageItsRequestAdded(t *testing.T) {
	tests := map[string]struct {
		raw       string
		requested bool   // the app asked for usage itself
		want      string // "" for the raw event unchanged
	}{
		"a content chunk loses its null usage": {
			raw:  "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null,\"obfuscation\":\"aB\"}\n\n",
			want: "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"obfuscation\":\"aB\"}\n\n",
		},
		"Azure's null usage at the end of the chunk, CRLF lines": {
			raw:  "data: {\"choices\":[],\"id\":\"c\",\"usage\":null}\r\n\r\n",
			want: "data: {\"choices\":[],\"id\":\"c\"}\r\n\r\n",
		},
		"an event with a name and an id keeps them": {
			raw:  "event: chunk\nid: 7\ndata: {\"usage\" : null , \"choices\":[]}\n\n",
			want: "event: chunk\nid: 7\ndata: {\"choices\":[]}\n\n",
		},
		"the chunks of an app that asked for usage are left alone": {
			raw: "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n", requested: true,
		},
		"text about usage is content": {
			raw: "data: {\"choices\":[{\"delta\":{\"content\":\"\\\"usage\\\":null\"}}]}\n\n",
		},
		"a null usage inside a choice is not the proxy's": {
			raw: "data: {\"choices\":[{\"delta\":{},\"usage\":null}]}\n\n",
		},
		"data over several lines is left as it came": {
			raw: "data: {\"choices\":[],\ndata: \"usage\":null}\n\n",
		},
		"[DONE] is left alone": {
			raw: "data: [DONE]\n\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			evs := readAll(t, strings.NewReader(tc.raw))
			require.Len(t, evs, 1)
			obs := adapterFor(t, proxyconfig.OpenAI).NewStreamObserver(Request{Shape: ShapeOpenAIChat, Stream: true, StreamUsageRequested: tc.requested})
			got, keep := obs.Observe(evs[0])
			require.True(t, keep)
			want := tc.want
			if want == "" {
				want = tc.raw
			}
			assert.Equal(t, want, string(got))
			assert.Equal(t, tc.raw, string(evs[0].Raw), "the event itself is not changed")
		})
	}
}

func TestChatObserver_AppGetsTheStreamItWouldHaveGotWithoutTheProxy(t *testing.T) {
	stream := testdata(t, "openai/chat_stream.sse")
	obs := adapterFor(t, proxyconfig.OpenAI).NewStreamObserver(Request{Shape: ShapeOpenAIChat, Stream: true})
	var app []byte
	er := wire.NewEventReader(bytes.NewReader(stream))
	for {
		ev, err := er.Next()
		if err != nil {
			break
		}
		if raw, keep := obs.Observe(ev); keep {
			app = append(app, raw...)
		}
	}
	// Without include_usage OpenAI sends no usage member and no usage chunk.
	events := strings.SplitAfter(string(stream), "\n\n")
	want := strings.ReplaceAll(strings.Join(append(events[:4:4], events[5:]...), ""), `,"usage":null`, "")
	assert.Equal(t, want, string(app))
	assert.Contains(t, string(app), `" \"usage\": {there}!"`, "content that mentions usage is untouched")
	assert.Equal(t, Usage{InputTokens: 9, OutputTokens: 4, Known: true}, obs.Usage())
}

// contentDelta is the event a stream is mostly made of.
const contentDelta = `{"id":"chatcmpl-BvK4aQ2","object":"chat.completion.chunk","created":1752856101,"model":"gpt-4.1-mini-2025-04-14","service_tier":"default","system_fingerprint":"fp_6f2eabb9a5","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"aB3d"}`

func TestChatObserver_DoesNotAllocateForContentDeltas(t *testing.T) {
	obs := &chatObserver{dropUsageChunk: true}
	ev := wire.Event{Data: []byte(contentDelta)}
	allocs := testing.AllocsPerRun(100, func() { obs.Observe(ev) })
	assert.Zero(t, allocs)
}

func BenchmarkChatObserver(b *testing.B) {
	b.Run("content delta", func(b *testing.B) {
		obs := &chatObserver{dropUsageChunk: true}
		ev := wire.Event{Data: []byte(contentDelta)}
		b.ReportAllocs()
		for b.Loop() {
			obs.Observe(ev)
		}
	})
	b.Run("content delta, the app asked for usage", func(b *testing.B) {
		obs := &chatObserver{}
		ev := wire.Event{Data: []byte(contentDelta)}
		b.ReportAllocs()
		for b.Loop() {
			obs.Observe(ev)
		}
	})
	b.Run("content delta as read from the stream", func(b *testing.B) {
		// Data aliases Raw, as the EventReader hands it out.
		evs := readAll(b, strings.NewReader("data: "+contentDelta+"\n\n"))
		obs := &chatObserver{dropUsageChunk: true}
		b.ReportAllocs()
		for b.Loop() {
			obs.Observe(evs[0])
		}
	})
	b.Run("whole stream", func(b *testing.B) {
		evs := readAll(b, bytes.NewReader(testdata(b, "openai/chat_stream.sse")))
		b.ReportAllocs()
		for b.Loop() {
			obs := &chatObserver{dropUsageChunk: true}
			for _, ev := range evs {
				obs.Observe(ev)
			}
		}
	})
}

func FuzzStreamObserver(f *testing.F) {
	for _, name := range sseCaptures(f) {
		for _, ev := range readAll(f, bytes.NewReader(testdata(f, name))) {
			f.Add(ev.Name, ev.Data)
		}
	}
	f.Add("message_delta", []byte(`{"type":"message_delta","usage":{"output_tokens":-1,"input_tokens":null}}`))
	f.Add("", []byte(`{"usage" : {"prompt_tokens":1e999}, "choices" : [ ]}`))
	adapters := []Adapter{}
	for _, p := range []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.Anthropic, proxyconfig.AzureOpenAI, proxyconfig.Gemini, proxyconfig.OpenAICompatible} {
		adapters = append(adapters, adapterFor(f, p))
	}
	shapes := []Shape{ShapeOpenAIChat, ShapeOpenAIResponses, ShapeOpenAIEmbeddings, ShapeAnthropicMessages, ShapeGeminiGenerate, ShapeOther}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		raw := []byte("event: " + strings.ReplaceAll(name, "\n", "") + "\ndata: " + string(data) + "\n\n")
		for _, a := range adapters {
			a.Classify(429, nil, data)
			for _, shape := range shapes {
				// The same bytes as a whole answer, and as an error body.
				u := a.Usage(Request{Shape: shape}, data)
				require.GreaterOrEqual(t, min(u.InputTokens, u.OutputTokens, u.CachedInputTokens, u.CacheWriteTokens, u.CacheWrite1hTokens), int64(0))
				require.True(t, json.Valid(a.ErrorBody(Request{Shape: shape}, 500, name, string(data))))
				for _, requested := range []bool{false, true} {
					obs := a.NewStreamObserver(Request{Shape: shape, Stream: true, StreamUsageRequested: requested})
					out, keep := obs.Observe(wire.Event{Raw: raw, Name: name, Data: data})
					u := obs.Usage()
					require.GreaterOrEqual(t, u.InputTokens, int64(0))
					require.GreaterOrEqual(t, u.OutputTokens, int64(0))
					require.GreaterOrEqual(t, u.CachedInputTokens, int64(0))
					require.GreaterOrEqual(t, min(u.CacheWriteTokens, u.CacheWrite1hTokens), int64(0))
					if !keep {
						require.Equal(t, ShapeOpenAIChat, shape, "only chat usage chunks are dropped")
						require.False(t, requested, "a usage chunk the app asked for is kept")
						require.True(t, u.Known)
					} else if !bytes.Equal(out, raw) {
						require.Equal(t, ShapeOpenAIChat, shape, "only chat chunks are edited")
						require.False(t, requested, "the chunks of an app that asked for usage are left alone")
						require.Less(t, len(out), len(raw), "an edit only removes")
						cut := cutRange(raw, out)
						require.NotNil(t, cut, "an edit removes one run of bytes")
						require.Contains(t, string(cut), "null", "the run is the null usage member")
					}
				}
			}
		}
	})
}

// cutRange returns the one run of bytes whose removal from raw leaves out,
// or nil when out is not raw with one run removed.
func cutRange(raw, out []byte) []byte {
	p := 0
	for p < len(out) && raw[p] == out[p] {
		p++
	}
	cut := raw[p : p+len(raw)-len(out)]
	if !bytes.Equal(raw[p+len(cut):], out[p:]) {
		return nil
	}
	return cut
}
