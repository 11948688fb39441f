package sidecare2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/promtext"
)

// appKey is the API key the app holds; with a credentials Secret, the
// provider must never see it.
const appKey = "sk-app-placeholder"

// openAIClient is the app's OpenAI client, pointed at the sidecar's route
// for provider. The SDK does not retry, so that what the test sees is the
// sidecar's doing.
func (s *sidecar) openAIClient(provider string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(s.url + "/" + provider + "/v1"),
		option.WithAPIKey(appKey),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(20 * time.Second),
	}, opts...)...)
}

// openAI is openAIClient for the policy's openai provider.
func (s *sidecar) openAI(opts ...option.RequestOption) openai.Client {
	return s.openAIClient("openai", opts...)
}

// anthropic is the app's Anthropic client, pointed at the sidecar's route
// for the policy's claude provider.
func (s *sidecar) anthropic(opts ...anthropicoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]anthropicoption.RequestOption{
		anthropicoption.WithBaseURL(s.url + "/claude/"),
		anthropicoption.WithAPIKey(appKey),
		anthropicoption.WithMaxRetries(0),
		anthropicoption.WithRequestTimeout(20 * time.Second),
	}, opts...)...)
}

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
}

func messageParams(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
	}
}

// requestID returns an option sending id as X-Request-Id, so that a test
// finds its request's log line.
func requestID(id string) option.RequestOption {
	return option.WithHeader("X-Request-Id", id)
}

// chatResult is what an app got from one chat completion call.
type chatResult struct {
	completion *openai.ChatCompletion
	err        error
	header     http.Header
	took       time.Duration
}

// chat makes one non-streaming chat completion call with the SDK.
func chat(t *testing.T, c openai.Client, model string, opts ...option.RequestOption) chatResult {
	t.Helper()
	var raw *http.Response
	start := time.Now()
	got, err := c.Chat.Completions.New(context.Background(), chatParams(model), append(opts, option.WithResponseInto(&raw))...)
	res := chatResult{completion: got, err: err, took: time.Since(start)}
	if raw != nil {
		res.header = raw.Header
	}
	return res
}

// streamResult is what an app got from one streamed chat completion.
type streamResult struct {
	chunks []openai.ChatCompletionChunk
	acc    openai.ChatCompletionAccumulator
	err    error
	header http.Header
}

// chatStream streams one chat completion with the SDK, to its end.
func chatStream(t *testing.T, c openai.Client, params openai.ChatCompletionNewParams, opts ...option.RequestOption) streamResult {
	t.Helper()
	var raw *http.Response
	stream := c.Chat.Completions.NewStreaming(context.Background(), params, append(opts, option.WithResponseInto(&raw))...)
	defer stream.Close()
	var res streamResult
	for stream.Next() {
		chunk := stream.Current()
		res.chunks = append(res.chunks, chunk)
		res.acc.AddChunk(chunk)
	}
	res.err = stream.Err()
	if raw != nil {
		res.header = raw.Header
	}
	return res
}

// requireOpenAIError asserts that err is the SDK's API error with status
// and code, and returns it.
func requireOpenAIError(t *testing.T, err error, status int, code string) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "want an *openai.Error with status %d and code %s, got %v", status, code, err)
	require.Equal(t, status, apiErr.StatusCode, apiErr.RawJSON())
	require.Equal(t, code, apiErr.Code, apiErr.RawJSON())
	return apiErr
}

// metric is the sum of the samples of the metric name on /metrics whose
// labels include labels (name, value, name, value...).
func (s *sidecar) metric(name string, labels ...string) float64 {
	s.t.Helper()
	sum, err := promtext.Sum(s.get("/metrics"), name, labels...)
	require.NoError(s.t, err)
	return sum
}

// awaitMetric asserts that metric name (labels as for metric) reaches
// want. Per-request metrics are recorded when the sidecar has read the end
// of the upstream answer, which may be just after the app got its last
// byte, so a test reads them once they have settled.
func (s *sidecar) awaitMetric(want float64, name string, labels ...string) {
	s.t.Helper()
	var got float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ok bool
		if got, ok = s.metricOK(name, labels...); ok && got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(s.t, want, got, "metric %s%v", name, labels)
}

// metricOK is metric for polls, which run outside the test's goroutine: it
// reports a failed scrape instead of failing the test.
func (s *sidecar) metricOK(name string, labels ...string) (float64, bool) {
	exposition, err := s.fetch("/metrics")
	if err != nil {
		return 0, false
	}
	sum, err := promtext.Sum(exposition, name, labels...)
	return sum, err == nil
}
