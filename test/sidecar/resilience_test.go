package sidecare2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

const retrySpec = `  timeouts: {connect: 1s, firstToken: 150ms, total: 20s}
  retry: {maxAttempts: 3, backoff: {initial: 10ms, max: 20ms, jitter: None}, maxRetryAfter: 2s}
`

func TestRetry_A429WithRetryAfterIsWaitedOutThenRetriedAndTheAppGetsA200(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, retrySpec)
	mock.Enqueue(mockprovider.Step{Status: http.StatusTooManyRequests, RetryAfter: "1"})

	res := chat(t, sc.openAI(), "gpt-4o-mini", requestID("ra-1"))
	require.NoError(t, res.err)
	assert.Equal(t, mockprovider.DefaultContent, res.completion.Choices[0].Message.Content)
	assert.Equal(t, "2", res.header.Get(llmclient.HeaderAttempts))

	got := mock.Requests()
	require.Len(t, got, 2)
	gap := got[1].Time.Sub(got[0].Time)
	assert.GreaterOrEqual(t, gap, 900*time.Millisecond, "the retry waited Retry-After (1s), not the 10ms backoff")
	assert.EqualValues(t, 2, sc.requestLog("ra-1")["attempts"])
	assert.Equal(t, 1.0, sc.metric("tollgate_retries_total", "provider", "openai", "model", "gpt-4o-mini"))
}

func TestRetry_ARetryAfterBeyondMaxRetryAfterFailsFastWithTheProvidersOwn429(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, retrySpec)
	mock.Enqueue(mockprovider.Step{Status: http.StatusTooManyRequests, RetryAfter: "3600"})

	res := chat(t, sc.openAI(), "gpt-4o-mini")
	apiErr := requireOpenAIError(t, res.err, http.StatusTooManyRequests, "rate_limit_exceeded")
	assert.Less(t, res.took, time.Second, "an app is not held for longer than maxRetryAfter (2s), let alone an hour")
	assert.Equal(t, "3600", apiErr.Response.Header.Get("Retry-After"), "the provider's Retry-After reaches the app")
	assert.Empty(t, apiErr.Response.Header.Get(llmclient.HeaderReason), "the provider refused, not Tollgate")
	assert.Equal(t, int64(1), mock.Received())
}

func TestCircuitBreaker_A503BurstOpensItThenAHalfOpenTrialClosesIt(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "  circuitBreaker: {consecutiveFailures: 3, openDuration: 200ms}\n")
	mock.Enqueue(mockprovider.Step{Status: 503}, mockprovider.Step{Status: 503}, mockprovider.Step{Status: 503})
	client := sc.openAI()
	for range 3 {
		res := chat(t, client, "gpt-4o-mini")
		apiErr := requireOpenAIError(t, res.err, http.StatusServiceUnavailable, "")
		assert.Empty(t, apiErr.Response.Header.Get(llmclient.HeaderReason), "the provider's own 503")
	}

	res := chat(t, client, "gpt-4o-mini")
	apiErr := requireOpenAIError(t, res.err, http.StatusServiceUnavailable, llmclient.CodeCircuitOpen)
	assert.Equal(t, llmclient.CodeCircuitOpen, apiErr.Response.Header.Get(llmclient.HeaderReason))
	assert.Equal(t, policyRef, apiErr.Response.Header.Get(llmclient.HeaderPolicy))
	assert.NotEmpty(t, apiErr.Response.Header.Get("Retry-After"))
	assert.Equal(t, int64(3), mock.Received(), "an open breaker sends nothing upstream")
	assert.Equal(t, 2.0, sc.metric("tollgate_circuit_breaker_state", "provider", "openai", "model", "gpt-4o-mini"), "2 is open")

	require.Eventually(t, func() bool {
		return chat(t, client, "gpt-4o-mini").err == nil
	}, 5*time.Second, 20*time.Millisecond, "traffic never recovered after openDuration")
	assert.Equal(t, int64(4), mock.Received(), "only the half-open trial went upstream")
	assert.Equal(t, 0.0, sc.metric("tollgate_circuit_breaker_state", "provider", "openai", "model", "gpt-4o-mini"), "0 is closed")
	var transitions []string
	for _, l := range sc.logs.JSONLines() {
		if l["msg"] == "circuit breaker changed state" {
			transitions = append(transitions, l["to"].(string))
		}
	}
	assert.Equal(t, []string{"open", "half-open", "closed"}, transitions)
}

func TestFirstTokenTimeout_ASlowProviderIsRetriedOrRefusedWithTollgateTimeout(t *testing.T) {
	tests := map[string]struct {
		spec         string
		stream       bool
		wantErr      bool
		wantAttempts int64
	}{
		"a slow answer is retried and the app gets the second attempt's": {
			spec: retrySpec, wantAttempts: 2,
		},
		"a slow stream is retried and the app gets the second attempt's": {
			spec: retrySpec, stream: true, wantAttempts: 2,
		},
		"without retries the app gets tollgate_timeout": {
			spec: "  timeouts: {connect: 1s, firstToken: 150ms, total: 20s}\n", wantErr: true, wantAttempts: 1,
		},
		"without retries a streaming app gets tollgate_timeout": {
			spec: "  timeouts: {connect: 1s, firstToken: 150ms, total: 20s}\n", stream: true, wantErr: true, wantAttempts: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, tc.spec)
			mock.Enqueue(mockprovider.Step{FirstByteDelay: 3 * time.Second})
			start := time.Now()
			var err error
			var content string
			if tc.stream {
				res := chatStream(t, sc.openAI(), chatParams("gpt-4o-mini"))
				err = res.err
				if len(res.acc.Choices) > 0 {
					content = res.acc.Choices[0].Message.Content
				}
			} else {
				res := chat(t, sc.openAI(), "gpt-4o-mini")
				err = res.err
				if err == nil {
					content = res.completion.Choices[0].Message.Content
				}
			}
			assert.Less(t, time.Since(start), 2*time.Second, "the app did not wait for the slow answer")
			if tc.wantErr {
				apiErr := requireOpenAIError(t, err, http.StatusGatewayTimeout, llmclient.CodeTimeout)
				assert.Contains(t, apiErr.Message, "first-token timeout of 150ms")
			} else {
				require.NoError(t, err)
				assert.Equal(t, mockprovider.DefaultContent, content)
			}
			assert.Equal(t, tc.wantAttempts, mock.Received())
		})
	}
}

func TestResetMidStream_IsNotRetriedAndTheSDKStreamEndsWithAnError(t *testing.T) {
	tests := map[string]struct {
		anthropic bool
	}{
		"an OpenAI chat stream":       {},
		"an Anthropic message stream": {anthropic: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, retrySpec)
			mock.Enqueue(mockprovider.Step{Fault: mockprovider.FaultResetMidStream, AfterEvents: 3})

			var events int
			var err error
			if tc.anthropic {
				client := sc.anthropic()
				stream := client.Messages.NewStreaming(context.Background(), messageParams("claude-sonnet-4-5"))
				for stream.Next() {
					events++
				}
				err = stream.Err()
				_ = stream.Close()
			} else {
				res := chatStream(t, sc.openAI(), chatParams("gpt-4o-mini"), requestID("reset-1"))
				events, err = len(res.chunks), res.err
			}
			assert.Positive(t, events, "the events before the reset reached the app")
			require.Error(t, err, "the app must see the stream break, not a short clean answer")

			var line map[string]any
			require.Eventually(t, func() bool {
				for _, l := range sc.logs.JSONLines() {
					if l["msg"] == "request" {
						line = l
						return true
					}
				}
				return false
			}, 5*time.Second, 10*time.Millisecond)
			assert.Equal(t, "upstream_error", line["end"])
			assert.EqualValues(t, 1, line["attempts"])
			assert.Equal(t, int64(1), mock.Received(), "never retried once bytes reached the app")
		})
	}
}
