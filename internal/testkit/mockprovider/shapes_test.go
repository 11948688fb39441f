package mockprovider_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

func TestServer_AnswersEachAPIInItsShape(t *testing.T) {
	tests := map[string]struct {
		path, body string
		wantModel  string
		read       func(t *testing.T, body string) seen
	}{
		"OpenAI chat completion echoes the model from the body": {
			path: "/v1/chat/completions", body: `{"model":"gpt-4o","messages":[]}`, wantModel: "gpt-4o",
			read: readOpenAIChat,
		},
		"OpenAI-compatible base path /openai/v1 is served": {
			path: "/openai/v1/chat/completions", body: `{"model":"llama3"}`, wantModel: "llama3",
			read: readOpenAIChat,
		},
		"Azure deployment takes the model from the path": {
			path: "/openai/deployments/prod-gpt/chat/completions?api-version=2024-10-21", body: `{"messages":[]}`, wantModel: "prod-gpt",
			read: readOpenAIChat,
		},
		"Gemini's OpenAI-compatible endpoint answers in OpenAI's shape": {
			path: "/v1beta/openai/chat/completions", body: `{"model":"gemini-2.0-flash"}`, wantModel: "gemini-2.0-flash",
			read: readOpenAIChat,
		},
		"OpenAI Responses answers a response object": {
			path: "/v1/responses", body: `{"model":"gpt-4o","input":"hi"}`, wantModel: "gpt-4o",
			read: func(t *testing.T, body string) seen {
				r := decode[openAIResponse](t, body)
				require.Equal(t, "response", r.Object)
				require.NotNil(t, r.Usage)
				return seen{Model: r.Model, Text: r.Output[0].Content[0].Text,
					Input: r.Usage.InputTokens, Cached: r.Usage.InputTokensDetails.CachedTokens, Output: r.Usage.OutputTokens}
			},
		},
		"Anthropic reports cache reads apart from input_tokens": {
			path: "/v1/messages", body: `{"model":"claude-sonnet-4-5","max_tokens":10}`, wantModel: "claude-sonnet-4-5",
			read: func(t *testing.T, body string) seen {
				m := decode[anthropicMessage](t, body)
				require.Equal(t, "message", m.Type)
				return seen{Model: m.Model, Text: m.Content[0].Text,
					Input: m.Usage.InputTokens + m.Usage.CacheReadInputTokens, Cached: m.Usage.CacheReadInputTokens, Output: m.Usage.OutputTokens}
			},
		},
		"Gemini generateContent takes the model from the path": {
			path: "/v1beta/models/gemini-2.0-flash:generateContent", body: `{"contents":[]}`, wantModel: "gemini-2.0-flash",
			read: func(t *testing.T, body string) seen {
				g := decode[geminiResponse](t, body)
				u := g.UsageMetadata
				require.Equal(t, "STOP", g.Candidates[0].FinishReason)
				return seen{Model: g.ModelVersion, Text: g.Candidates[0].Content.Parts[0].Text,
					Input: u.PromptTokenCount, Cached: u.CachedContentTokenCount, Output: u.CandidatesTokenCount}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t, mockprovider.WithDefault(mockprovider.Step{Usage: scriptedUsage}))
			resp := mustPost(t, srv.URL()+tc.path, tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)

			want := wantSeen
			want.Model = tc.wantModel
			assert.Equal(t, want, tc.read(t, string(body)))
		})
	}
}

func TestServer_StreamsEachAPIInItsShape(t *testing.T) {
	tests := map[string]struct {
		path, body string
		wantModel  string
		wantCT     string
		read       func(t *testing.T, events []sseEvent) seen
	}{
		"OpenAI chat stream with include_usage ends with a usage chunk and [DONE]": {
			path: "/v1/chat/completions", wantModel: "gpt-4o",
			body: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`,
			read: func(t *testing.T, events []sseEvent) seen {
				require.Equal(t, "[DONE]", events[len(events)-1].Data)
				var s seen
				for _, ev := range events[:len(events)-1] {
					c := decode[openAIChat](t, ev.Data)
					require.Equal(t, "chat.completion.chunk", c.Object)
					s.Model = c.Model
					for _, ch := range c.Choices {
						s.Text += ch.Delta.Content
					}
					if c.Usage != nil {
						s.Input, s.Cached, s.Output = c.Usage.PromptTokens, c.Usage.PromptTokensDetails.CachedTokens, c.Usage.CompletionTokens
					}
				}
				return s
			},
		},
		"OpenAI Responses stream reports usage on response.completed": {
			path: "/v1/responses", wantModel: "gpt-4o", body: `{"model":"gpt-4o","stream":true}`,
			read: func(t *testing.T, events []sseEvent) seen {
				require.Equal(t, "response.created", events[0].Name)
				require.Equal(t, "response.completed", events[len(events)-1].Name)
				var s seen
				for _, ev := range events {
					e := decode[openAIResponseEvent](t, ev.Data)
					require.Equal(t, ev.Name, e.Type)
					if e.Type == "response.output_text.delta" {
						s.Text += e.Delta
					}
					if r := e.Response; e.Type == "response.completed" {
						require.NotNil(t, r.Usage)
						s.Model, s.Input, s.Cached, s.Output = r.Model, r.Usage.InputTokens, r.Usage.InputTokensDetails.CachedTokens, r.Usage.OutputTokens
					}
				}
				return s
			},
		},
		"Anthropic stream reports input on message_start and output on message_delta": {
			path: "/v1/messages", wantModel: "claude-sonnet-4-5", body: `{"model":"claude-sonnet-4-5","stream":true}`,
			read: func(t *testing.T, events []sseEvent) seen {
				var names []string
				var s seen
				for _, ev := range events {
					e := decode[anthropicEvent](t, ev.Data)
					require.Equal(t, ev.Name, e.Type)
					names = append(names, ev.Name)
					switch e.Type {
					case "message_start":
						u := e.Message.Usage
						s.Model, s.Input, s.Cached = e.Message.Model, u.InputTokens+u.CacheReadInputTokens, u.CacheReadInputTokens
					case "content_block_delta":
						require.Equal(t, "text_delta", e.Delta.Type)
						s.Text += e.Delta.Text
					case "message_delta":
						require.Equal(t, "end_turn", e.Delta.StopReason)
						s.Output = e.Usage.OutputTokens
					}
				}
				assert.Equal(t, []string{"message_start", "content_block_start", "ping"}, names[:3])
				assert.Equal(t, []string{"content_block_stop", "message_delta", "message_stop"}, names[len(names)-3:])
				return s
			},
		},
		"Gemini alt=sse stream counts usage cumulatively on every chunk": {
			path: "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", wantModel: "gemini-2.0-flash", body: `{}`,
			read: func(t *testing.T, events []sseEvent) seen {
				var s seen
				var lastOutput int64
				for i, ev := range events {
					g := decode[geminiResponse](t, ev.Data)
					u := g.UsageMetadata
					require.Equal(t, int64(100), u.PromptTokenCount, "prompt tokens on every chunk")
					require.GreaterOrEqual(t, u.CandidatesTokenCount, lastOutput, "output tokens never go down")
					lastOutput = u.CandidatesTokenCount
					if i == len(events)-1 {
						require.Equal(t, "STOP", g.Candidates[0].FinishReason)
					}
					s.Model, s.Text = g.ModelVersion, s.Text+g.Candidates[0].Content.Parts[0].Text
					s.Input, s.Cached, s.Output = u.PromptTokenCount, u.CachedContentTokenCount, u.CandidatesTokenCount
				}
				return s
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t, mockprovider.WithDefault(mockprovider.Step{Usage: scriptedUsage}))
			resp := mustPost(t, srv.URL()+tc.path, tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream"))
			events, err := readSSE(resp.Body)
			require.NoError(t, err)
			require.NotEmpty(t, events)

			want := wantSeen
			want.Model = tc.wantModel
			assert.Equal(t, want, tc.read(t, events))
		})
	}
}

func TestServer_OpenAIChatStreamCarriesUsageOnlyWhenAskedFor(t *testing.T) {
	tests := map[string]struct {
		streamOptions   string
		wantUsageChunks bool
	}{
		"include_usage true: usage null on every chunk, then a usage chunk with no choices": {
			streamOptions: `,"stream_options":{"include_usage":true}`, wantUsageChunks: true,
		},
		"include_usage false: no usage field at all": {
			streamOptions: `,"stream_options":{"include_usage":false}`,
		},
		"no stream_options: no usage field at all": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			resp := mustPost(t, srv.URL()+"/v1/chat/completions", `{"model":"m","stream":true`+tc.streamOptions+`}`)
			events, err := readSSE(resp.Body)
			require.NoError(t, err)
			require.Equal(t, "[DONE]", events[len(events)-1].Data)
			chunks := events[:len(events)-1]

			// role, 5 word deltas, finish, and the usage chunk when asked.
			wantChunks := 1 + 5 + 1
			if tc.wantUsageChunks {
				wantChunks++
			}
			require.Len(t, chunks, wantChunks)
			for i, ev := range chunks {
				fields := decode[map[string]json.RawMessage](t, ev.Data)
				usage, hasUsage := fields["usage"]
				if !tc.wantUsageChunks {
					assert.False(t, hasUsage, "chunk %d: %s", i, ev.Data)
					continue
				}
				require.True(t, hasUsage, "chunk %d: %s", i, ev.Data)
				if i < len(chunks)-1 {
					assert.JSONEq(t, `null`, string(usage), "chunk %d", i)
					continue
				}
				assert.JSONEq(t, `[]`, string(fields["choices"]))
				assert.Contains(t, string(usage), `"prompt_tokens":12`)
				assert.Contains(t, string(usage), `"completion_tokens":7`)
			}
		})
	}
}

func TestServer_GeminiStreamWithoutSSEIsAStreamedJSONArray(t *testing.T) {
	srv := startMock(t)
	resp := mustPost(t, srv.URL()+"/v1beta/models/gemini-2.5-pro:streamGenerateContent", `{}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	chunks := decode[[]geminiResponse](t, string(body))
	var text string
	for _, c := range chunks {
		text += c.Candidates[0].Content.Parts[0].Text
	}
	assert.Equal(t, mockprovider.DefaultContent, text)
	assert.Equal(t, int64(mockprovider.DefaultOutputTokens), chunks[len(chunks)-1].UsageMetadata.CandidatesTokenCount)
}

func TestServer_EmbeddingsAnswerOneVectorPerInput(t *testing.T) {
	type embeddings struct {
		Object string `json:"object"`
		Model  string `json:"model"`
		Data   []struct {
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int64 `json:"prompt_tokens"`
		} `json:"usage"`
	}
	tests := map[string]struct {
		body        string
		wantVectors int
		wantBase64  bool
	}{
		"a single string":                     {body: `{"model":"e3","input":"hi"}`, wantVectors: 1},
		"a list of strings":                   {body: `{"model":"e3","input":["a","b","c"]}`, wantVectors: 3},
		"one input as token ids":              {body: `{"model":"e3","input":[1,2,3]}`, wantVectors: 1},
		"a list of token arrays":              {body: `{"model":"e3","input":[[1],[2]]}`, wantVectors: 2},
		"base64 encoding_format":              {body: `{"model":"e3","input":"hi","encoding_format":"base64"}`, wantVectors: 1, wantBase64: true},
		"float encoding_format":               {body: `{"model":"e3","input":"hi","encoding_format":"float"}`, wantVectors: 1},
		"an empty list still gets one vector": {body: `{"model":"e3","input":[]}`, wantVectors: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startMock(t)
			resp := mustPost(t, srv.URL()+"/v1/embeddings", tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			e := decode[embeddings](t, string(body))
			assert.Equal(t, "list", e.Object)
			assert.Equal(t, "e3", e.Model)
			assert.Equal(t, int64(mockprovider.DefaultInputTokens), e.Usage.PromptTokens)
			require.Len(t, e.Data, tc.wantVectors)
			for i, d := range e.Data {
				assert.Equal(t, i, d.Index)
				if tc.wantBase64 {
					decode[string](t, string(d.Embedding))
				} else {
					assert.NotEmpty(t, decode[[]float32](t, string(d.Embedding)))
				}
			}
		})
	}
}

func TestServer_ListsModels(t *testing.T) {
	srv := startMock(t)
	resp, err := newClient(t).Get(srv.URL() + "/v1/models")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	assert.Equal(t, "list", list.Object)
	require.NotEmpty(t, list.Data)
	assert.Equal(t, "model", list.Data[0].Object)
}
