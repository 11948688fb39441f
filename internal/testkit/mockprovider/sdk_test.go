package mockprovider_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// The official SDKs are the clients apps use; what they make of the mock's
// answers is what matters.

func newOpenAI(t *testing.T, srv *mockprovider.Server) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(srv.URL()+"/v1"),
		option.WithAPIKey("sk-test"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(newClient(t)),
	)
}

func newAnthropic(t *testing.T, srv *mockprovider.Server) anthropic.Client {
	return anthropic.NewClient(
		anthropicoption.WithBaseURL(srv.URL()),
		anthropicoption.WithAPIKey("sk-ant-test"),
		anthropicoption.WithMaxRetries(0),
		anthropicoption.WithHTTPClient(newClient(t)),
	)
}

var sdkUsage = &mockprovider.Usage{InputTokens: 120, OutputTokens: 30, CachedInputTokens: 100}

func chatParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
}

func TestOpenAISDK_ReadsChatCompletion(t *testing.T) {
	srv := startMock(t, mockprovider.WithDefault(mockprovider.Step{Usage: sdkUsage}))
	client := newOpenAI(t, srv)

	resp, err := client.Chat.Completions.New(context.Background(), chatParams())
	require.NoError(t, err)
	require.Len(t, resp.Choices, 1)
	assert.Equal(t, mockprovider.DefaultContent, resp.Choices[0].Message.Content)
	assert.Equal(t, "stop", resp.Choices[0].FinishReason)
	assert.Equal(t, "gpt-4o-mini", resp.Model)
	assert.Equal(t, int64(120), resp.Usage.PromptTokens)
	assert.Equal(t, int64(100), resp.Usage.PromptTokensDetails.CachedTokens)
	assert.Equal(t, int64(30), resp.Usage.CompletionTokens)
	assert.Equal(t, int64(150), resp.Usage.TotalTokens)
}

func TestOpenAISDK_ReadsChatStreamWithUsage(t *testing.T) {
	srv := startMock(t, mockprovider.WithDefault(mockprovider.Step{Usage: sdkUsage}))
	client := newOpenAI(t, srv)
	params := chatParams()
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}

	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		require.True(t, acc.AddChunk(stream.Current()))
		chunks++
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, 8, chunks, "role, 5 deltas, finish, usage")
	require.Len(t, acc.Choices, 1)
	assert.Equal(t, mockprovider.DefaultContent, acc.Choices[0].Message.Content)
	assert.Equal(t, int64(120), acc.Usage.PromptTokens)
	assert.Equal(t, int64(30), acc.Usage.CompletionTokens)
}

func TestOpenAISDK_ReadsResponses(t *testing.T) {
	srv := startMock(t, mockprovider.WithDefault(mockprovider.Step{Usage: sdkUsage}))
	client := newOpenAI(t, srv)
	params := responses.ResponseNewParams{
		Model: "gpt-4o",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")},
	}

	resp, err := client.Responses.New(context.Background(), params)
	require.NoError(t, err)
	assert.Equal(t, mockprovider.DefaultContent, resp.OutputText())
	assert.Equal(t, int64(120), resp.Usage.InputTokens)
	assert.Equal(t, int64(100), resp.Usage.InputTokensDetails.CachedTokens)
	assert.Equal(t, int64(30), resp.Usage.OutputTokens)

	stream := client.Responses.NewStreaming(context.Background(), params)
	defer stream.Close()
	var text string
	var completed responses.Response
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.output_text.delta":
			text += ev.Delta
		case "response.completed":
			completed = ev.Response
		}
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, mockprovider.DefaultContent, text)
	assert.Equal(t, mockprovider.DefaultContent, completed.OutputText())
	assert.Equal(t, int64(30), completed.Usage.OutputTokens)
}

func TestOpenAISDK_SurfacesScriptedErrors(t *testing.T) {
	srv := startMock(t)
	srv.Enqueue(mockprovider.Step{Status: 429, ErrorCode: "insufficient_quota"})
	client := newOpenAI(t, srv)

	_, err := client.Chat.Completions.New(context.Background(), chatParams())
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, 429, apiErr.StatusCode)
	assert.Equal(t, "insufficient_quota", apiErr.Code)
	assert.Equal(t, "insufficient_quota", apiErr.Type)
}

func anthropicParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
	}
}

func TestAnthropicSDK_ReadsMessage(t *testing.T) {
	srv := startMock(t, mockprovider.WithDefault(mockprovider.Step{Usage: sdkUsage}))
	client := newAnthropic(t, srv)

	msg, err := client.Messages.New(context.Background(), anthropicParams())
	require.NoError(t, err)
	require.Len(t, msg.Content, 1)
	assert.Equal(t, mockprovider.DefaultContent, msg.Content[0].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
	assert.Equal(t, "claude-sonnet-4-5", string(msg.Model))
	assert.Equal(t, int64(20), msg.Usage.InputTokens, "input_tokens leaves out cache reads")
	assert.Equal(t, int64(100), msg.Usage.CacheReadInputTokens)
	assert.Equal(t, int64(30), msg.Usage.OutputTokens)
}

func TestAnthropicSDK_ReadsMessageStream(t *testing.T) {
	srv := startMock(t, mockprovider.WithDefault(mockprovider.Step{Usage: sdkUsage}))
	client := newAnthropic(t, srv)

	stream := client.Messages.NewStreaming(context.Background(), anthropicParams())
	defer stream.Close()
	var msg anthropic.Message
	for stream.Next() {
		require.NoError(t, msg.Accumulate(stream.Current()))
	}
	require.NoError(t, stream.Err())
	require.Len(t, msg.Content, 1)
	assert.Equal(t, mockprovider.DefaultContent, msg.Content[0].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
	assert.Equal(t, int64(20), msg.Usage.InputTokens)
	assert.Equal(t, int64(100), msg.Usage.CacheReadInputTokens)
	assert.Equal(t, int64(30), msg.Usage.OutputTokens)
}

func TestAnthropicSDK_SurfacesScriptedErrors(t *testing.T) {
	srv := startMock(t)
	srv.Enqueue(mockprovider.Step{Status: 529})
	client := newAnthropic(t, srv)

	_, err := client.Messages.New(context.Background(), anthropicParams())
	var apiErr *anthropic.Error
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, 529, apiErr.StatusCode)
	assert.Contains(t, apiErr.Error(), "overloaded_error")
}
