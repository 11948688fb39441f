package sidecare2e

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

func TestOpenAIChat_PassesThroughWithContentAndUsage(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "")
	mock.Enqueue(mockprovider.Step{Content: "Hello through the sidecar.", Usage: &mockprovider.Usage{InputTokens: 120, OutputTokens: 30}})

	res := chat(t, sc.openAI(), "gpt-4o-mini", requestID("chat-1"))
	require.NoError(t, res.err)
	require.Len(t, res.completion.Choices, 1)
	assert.Equal(t, "Hello through the sidecar.", res.completion.Choices[0].Message.Content)
	assert.Equal(t, "gpt-4o-mini", res.completion.Model)
	assert.Equal(t, int64(120), res.completion.Usage.PromptTokens)
	assert.Equal(t, int64(30), res.completion.Usage.CompletionTokens)
	assert.Equal(t, policyRef, res.header.Get(llmclient.HeaderPolicy))
	assert.Equal(t, "1", res.header.Get(llmclient.HeaderAttempts))
	assert.Empty(t, res.header.Get(llmclient.HeaderFallback))

	got := mock.Requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/v1/chat/completions", got[0].Path, "the route prefix is stripped")
	assert.Equal(t, "Bearer "+appKey, got[0].Header.Get("Authorization"), "without a credentials Secret the app's key passes through")
	assert.Equal(t, "gpt-4o-mini", got[0].Model)

	line := sc.requestLog("chat-1")
	assert.Equal(t, "openai", line["provider"])
	assert.EqualValues(t, 200, line["status"])
	assert.EqualValues(t, 120, line["input_tokens"])
	assert.EqualValues(t, 30, line["output_tokens"])
	sc.awaitMetric(120.0, "tollgate_tokens_total", "provider", "openai", "model", "gpt-4o-mini", "type", "input")
	sc.awaitMetric(30.0, "tollgate_tokens_total", "provider", "openai", "model", "gpt-4o-mini", "type", "output")
	sc.awaitMetric(1.0, "tollgate_requests_total", "provider", "openai", "outcome", "success")
}

func TestOpenAIChatStream_ArrivesEventByEventAndUsageIsCountedWhetherTheAppAskedOrNot(t *testing.T) {
	const content = "one two three four five six"
	tests := map[string]struct {
		includeUsage bool
	}{
		"an app that did not ask for usage gets no usage chunk": {includeUsage: false},
		"an app that asked for usage gets its usage chunk":      {includeUsage: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, "")
			mock.Enqueue(mockprovider.Step{Content: content, ChunkDelay: 50 * time.Millisecond, Usage: &mockprovider.Usage{InputTokens: 33, OutputTokens: 6}})
			params := chatParams("gpt-4o-mini")
			if tc.includeUsage {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}

			var arrivals []time.Time
			client := sc.openAI()
			stream := client.Chat.Completions.NewStreaming(context.Background(), params, requestID("stream-1"))
			var acc openai.ChatCompletionAccumulator
			usageChunks := 0
			for stream.Next() {
				arrivals = append(arrivals, time.Now())
				chunk := stream.Current()
				require.True(t, acc.AddChunk(chunk))
				if len(chunk.Choices) == 0 {
					usageChunks++
				}
			}
			require.NoError(t, stream.Err())
			require.NoError(t, stream.Close())

			require.Len(t, acc.Choices, 1)
			assert.Equal(t, content, acc.Choices[0].Message.Content)
			assert.GreaterOrEqual(t, len(arrivals), 6, "one event per word at least")
			// Six deltas 50ms apart: a buffered stream would arrive all at once.
			assert.Greater(t, arrivals[len(arrivals)-1].Sub(arrivals[0]), 150*time.Millisecond, "the stream was buffered")
			if tc.includeUsage {
				assert.Equal(t, 1, usageChunks)
				assert.Equal(t, int64(33), acc.Usage.PromptTokens)
				assert.Equal(t, int64(6), acc.Usage.CompletionTokens)
			} else {
				assert.Zero(t, usageChunks, "the usage chunk the sidecar asked for on the app's behalf must not reach it")
				assert.Zero(t, acc.Usage.TotalTokens)
			}

			assert.Contains(t, mock.Requests()[0].Body, `"include_usage":true`, "the sidecar always asks the provider for usage")
			line := sc.requestLog("stream-1")
			assert.Equal(t, true, line["stream"])
			assert.EqualValues(t, 33, line["input_tokens"])
			assert.EqualValues(t, 6, line["output_tokens"])
			sc.awaitMetric(6.0, "tollgate_tokens_total", "provider", "openai", "type", "output")
		})
	}
}

func TestAnthropicMessages_PassThroughWithUsageFromJSONAndStream(t *testing.T) {
	usage := &mockprovider.Usage{InputTokens: 40, OutputTokens: 11, CachedInputTokens: 10}
	tests := map[string]struct {
		stream bool
	}{
		"a JSON message": {stream: false},
		"a streamed message, usage from message_start and message_delta": {stream: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, "")
			mock.Enqueue(mockprovider.Step{Content: "Hello from Claude via Tollgate.", Usage: usage})
			client := sc.anthropic(anthropicoption.WithHeader("X-Request-Id", "msg-1"))

			var msg anthropic.Message
			if tc.stream {
				stream := client.Messages.NewStreaming(context.Background(), messageParams("claude-sonnet-4-5"))
				events := 0
				for stream.Next() {
					events++
					require.NoError(t, msg.Accumulate(stream.Current()))
				}
				require.NoError(t, stream.Err())
				require.NoError(t, stream.Close())
				assert.Greater(t, events, 5, "message_start, content block events, deltas, message_delta, message_stop")
			} else {
				got, err := client.Messages.New(context.Background(), messageParams("claude-sonnet-4-5"))
				require.NoError(t, err)
				msg = *got
			}

			require.Len(t, msg.Content, 1)
			assert.Equal(t, "Hello from Claude via Tollgate.", msg.Content[0].Text)
			assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
			assert.Equal(t, int64(30), msg.Usage.InputTokens, "Anthropic's input_tokens leave out cache reads")
			assert.Equal(t, int64(10), msg.Usage.CacheReadInputTokens)
			assert.Equal(t, int64(11), msg.Usage.OutputTokens)

			got := mock.Requests()
			require.Len(t, got, 1)
			assert.Equal(t, "/v1/messages", got[0].Path)
			assert.Equal(t, appKey, got[0].Header.Get("X-Api-Key"))
			assert.Equal(t, tc.stream, got[0].Stream)

			line := sc.requestLog("msg-1")
			assert.Equal(t, "claude", line["provider"])
			assert.Equal(t, tc.stream, line["stream"])
			assert.EqualValues(t, 40, line["input_tokens"], "the sidecar counts cached input as input")
			assert.EqualValues(t, 10, line["cached_input_tokens"])
			assert.EqualValues(t, 11, line["output_tokens"])
			sc.awaitMetric(10.0, "tollgate_tokens_total", "provider", "claude", "model", "claude-sonnet-4-5", "type", "cached_input")
		})
	}
}

func TestRequestID_KeptWhenSentGeneratedWhenAbsentAndSeenUpstreamAndBack(t *testing.T) {
	tests := map[string]struct {
		sent string
	}{
		"the app's own request id is kept": {sent: "app-req-7f3a"},
		"a request without one gets one":   {sent: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, "")
			var opts []option.RequestOption
			if tc.sent != "" {
				opts = append(opts, requestID(tc.sent))
			}
			res := chat(t, sc.openAI(), "gpt-4o-mini", opts...)
			require.NoError(t, res.err)

			back := res.header.Get("X-Request-Id")
			if tc.sent != "" {
				assert.Equal(t, tc.sent, back)
			} else {
				assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{24}$`), back, "a generated id")
			}
			require.Len(t, mock.Requests(), 1)
			assert.Equal(t, back, mock.Requests()[0].Header.Get("X-Request-Id"), "the provider sees the same id")
			assert.Equal(t, "request", sc.requestLog(back)["msg"], "and the sidecar logs it")
		})
	}
}

func TestRequestID_IsOnTheSidecarsOwnRefusalsToo(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "")
	var raw *http.Response
	client := sc.openAIClient("mistral")
	_, err := client.Chat.Completions.New(context.Background(), chatParams("gpt-4o-mini"), option.WithResponseInto(&raw))
	requireOpenAIError(t, err, http.StatusNotFound, llmclient.CodeUnknownProvider)
	require.NotNil(t, raw)
	id := raw.Header.Get("X-Request-Id")
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{24}$`), id)
	assert.Equal(t, llmclient.CodeUnknownProvider, sc.requestLog(id)["error_type"])
	assert.Zero(t, mock.Received())
}
