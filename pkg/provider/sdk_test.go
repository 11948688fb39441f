package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// The official SDKs are the judges of Tollgate's own answers: each test
// serves a static response or an error body on 127.0.0.1 and reads it with
// the SDK an app would use.

const staticText = "The assistant is unavailable.\nPlease try again later — \"soon\"."

// serve answers every request with a static response to req, or with an
// error body when status is set.
func serve(t *testing.T, a Adapter, req Request, status int, code string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(a.ErrorBody(req, status, code, "refused by policy team-a"))
			return
		}
		ct, body, ok := a.StaticResponse(req, staticText)
		if !assert.True(t, ok) {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func openAIClient(url string) openai.Client {
	return openai.NewClient(option.WithBaseURL(url+"/v1"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
}

func anthropicClient(url string) anthropic.Client {
	return anthropic.NewClient(anthropicoption.WithBaseURL(url), anthropicoption.WithAPIKey("sk-ant-test"), anthropicoption.WithMaxRetries(0))
}

var chatParams = openai.ChatCompletionNewParams{
	Model:    "gpt-4o-mini",
	Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
}

func TestStaticResponse_OpenAIChatIsReadByOpenAISDK(t *testing.T) {
	for _, p := range []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.AzureOpenAI, proxyconfig.OpenAICompatible, proxyconfig.Anthropic, proxyconfig.Gemini} {
		t.Run(string(p), func(t *testing.T) {
			a := adapterFor(t, p)
			url := serve(t, a, Request{Shape: ShapeOpenAIChat, Model: "gpt-4o-mini"}, 0, "")
			c := openAIClient(url)
			got, err := c.Chat.Completions.New(context.Background(), chatParams)
			require.NoError(t, err)
			assert.Equal(t, "chatcmpl-tollgate-static", got.ID)
			assert.Equal(t, "gpt-4o-mini", got.Model)
			require.Len(t, got.Choices, 1)
			assert.Equal(t, staticText, got.Choices[0].Message.Content)
			assert.Equal(t, "stop", got.Choices[0].FinishReason)
			assert.Zero(t, got.Usage.TotalTokens)
		})
	}
}

func TestStaticResponse_OpenAIChatStreamIsReadByOpenAISDK(t *testing.T) {
	tests := map[string]struct {
		usageRequested bool
		wantChunks     int
	}{
		"without include_usage: role, content and finish chunks": {false, 3},
		"with include_usage: and the usage chunk":                {true, 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := Request{Shape: ShapeOpenAIChat, Model: "gpt-4o-mini", Stream: true, StreamUsageRequested: tc.usageRequested}
			url := serve(t, adapterFor(t, proxyconfig.OpenAI), req, 0, "")
			c := openAIClient(url)
			stream := c.Chat.Completions.NewStreaming(context.Background(), chatParams)
			var acc openai.ChatCompletionAccumulator
			chunks, usageChunks := 0, 0
			for stream.Next() {
				chunk := stream.Current()
				chunks++
				if len(chunk.Choices) == 0 && chunk.JSON.Usage.Valid() {
					usageChunks++
				}
				require.True(t, acc.AddChunk(chunk))
			}
			require.NoError(t, stream.Err())
			assert.Equal(t, tc.wantChunks, chunks)
			require.Len(t, acc.Choices, 1)
			assert.Equal(t, staticText, acc.Choices[0].Message.Content)
			assert.Equal(t, "stop", acc.Choices[0].FinishReason)
			assert.Equal(t, "gpt-4o-mini", acc.Model)
			if tc.usageRequested {
				assert.Equal(t, 1, usageChunks, "the usage chunk the app asked for")
			} else {
				assert.Zero(t, usageChunks)
			}
		})
	}
}

func TestStaticResponse_ResponsesAPIIsReadByOpenAISDK(t *testing.T) {
	params := responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	}
	t.Run("JSON", func(t *testing.T) {
		url := serve(t, adapterFor(t, proxyconfig.OpenAI), Request{Shape: ShapeOpenAIResponses, Model: "gpt-4.1"}, 0, "")
		c := openAIClient(url)
		got, err := c.Responses.New(context.Background(), params)
		require.NoError(t, err)
		assert.Equal(t, responses.ResponseStatusCompleted, got.Status)
		assert.Equal(t, staticText, got.OutputText())
		assert.Equal(t, "gpt-4.1", string(got.Model))
		assert.Zero(t, got.Usage.TotalTokens)
	})
	t.Run("stream", func(t *testing.T) {
		url := serve(t, adapterFor(t, proxyconfig.AzureOpenAI), Request{Shape: ShapeOpenAIResponses, Model: "gpt-4.1", Stream: true}, 0, "")
		c := openAIClient(url)
		stream := c.Responses.NewStreaming(context.Background(), params)
		var types []string
		var deltas strings.Builder
		var final responses.Response
		for stream.Next() {
			ev := stream.Current()
			types = append(types, ev.Type)
			switch ev.Type {
			case "response.output_text.delta":
				deltas.WriteString(ev.Delta)
			case "response.output_text.done":
				assert.Equal(t, staticText, ev.Text)
			case "response.completed":
				final = ev.AsResponseCompleted().Response
			}
		}
		require.NoError(t, stream.Err())
		assert.Equal(t, []string{
			"response.created", "response.in_progress",
			"response.output_item.added", "response.content_part.added",
			"response.output_text.delta", "response.output_text.done",
			"response.content_part.done", "response.output_item.done",
			"response.completed",
		}, types)
		assert.Equal(t, staticText, deltas.String())
		assert.Equal(t, staticText, final.OutputText())
		assert.Equal(t, responses.ResponseStatusCompleted, final.Status)
	})
}

func TestStaticResponse_AnthropicMessagesAreReadByAnthropicSDK(t *testing.T) {
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	a := adapterFor(t, proxyconfig.Anthropic)
	t.Run("JSON", func(t *testing.T) {
		url := serve(t, a, Request{Shape: ShapeAnthropicMessages, Model: "claude-sonnet-4-5"}, 0, "")
		c := anthropicClient(url)
		got, err := c.Messages.New(context.Background(), params)
		require.NoError(t, err)
		assert.Equal(t, "msg_tollgate_static", got.ID)
		assert.Equal(t, anthropic.StopReasonEndTurn, got.StopReason)
		require.Len(t, got.Content, 1)
		assert.Equal(t, staticText, got.Content[0].Text)
		assert.Equal(t, "claude-sonnet-4-5", string(got.Model))
	})
	t.Run("stream", func(t *testing.T) {
		url := serve(t, a, Request{Shape: ShapeAnthropicMessages, Model: "claude-sonnet-4-5", Stream: true}, 0, "")
		c := anthropicClient(url)
		stream := c.Messages.NewStreaming(context.Background(), params)
		var msg anthropic.Message
		for stream.Next() {
			require.NoError(t, msg.Accumulate(stream.Current()))
		}
		require.NoError(t, stream.Err())
		require.Len(t, msg.Content, 1)
		assert.Equal(t, staticText, msg.Content[0].Text)
		assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
		assert.Equal(t, "msg_tollgate_static", msg.ID)
	})
}

func TestErrorBody_IsReadByOpenAISDK(t *testing.T) {
	for _, p := range []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.AzureOpenAI, proxyconfig.OpenAICompatible, proxyconfig.Anthropic, proxyconfig.Gemini} {
		t.Run(string(p), func(t *testing.T) {
			url := serve(t, adapterFor(t, p), Request{Shape: ShapeOpenAIChat}, 429, "tollgate_rate_limited")
			c := openAIClient(url)
			_, err := c.Chat.Completions.New(context.Background(), chatParams)
			var apiErr *openai.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 429, apiErr.StatusCode)
			assert.Equal(t, "tollgate_rate_limited", apiErr.Code)
			assert.Equal(t, "rate_limit_error", apiErr.Type)
			assert.Equal(t, "refused by policy team-a", apiErr.Message)
		})
	}
}

func TestErrorBody_IsReadByAnthropicSDK(t *testing.T) {
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	url := serve(t, adapterFor(t, proxyconfig.Anthropic), Request{Shape: ShapeAnthropicMessages}, 503, "tollgate_circuit_open")
	c := anthropicClient(url)
	_, err := c.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Equal(t, "overloaded_error", string(apiErr.Type()))
	assert.Contains(t, apiErr.RawJSON(), `"code":"tollgate_circuit_open"`)
}
