package sidecare2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

const staticContent = "We are busy; try again soon."

func TestFallback_TheAppGetsA200FromTheNextRungWithTheModelRewritten(t *testing.T) {
	tests := map[string]struct {
		spec         string
		stream       bool
		primary      []mockprovider.Step // for gpt-4o-mini
		wantFallback string
		wantPath     string // where the fallback request went
		wantModel    string
		wantPrimary  int // requests for gpt-4o-mini
		// openBreaker first sends a request whose failure opens the
		// primary's breaker.
		openBreaker bool
	}{
		"to Anthropic's OpenAI-compatible endpoint after the primary's retries": {
			spec: `  retry: {maxAttempts: 2, backoff: {initial: 10ms, max: 20ms}}
  fallbacks:
    - {provider: claude, model: claude-haiku-4-5}
`,
			primary:      []mockprovider.Step{{Status: 500}, {Status: 500}},
			wantFallback: "claude/claude-haiku-4-5", wantPath: "/v1/chat/completions", wantModel: "claude-haiku-4-5", wantPrimary: 2,
		},
		"a stream to Anthropic's OpenAI-compatible endpoint": {
			spec: `  fallbacks:
    - {provider: claude, model: claude-haiku-4-5}
`,
			stream:       true,
			primary:      []mockprovider.Step{{Status: 503}},
			wantFallback: "claude/claude-haiku-4-5", wantPath: "/v1/chat/completions", wantModel: "claude-haiku-4-5", wantPrimary: 1,
		},
		"to another model of the same provider": {
			spec: `  fallbacks:
    - {provider: openai, model: gpt-4o}
`,
			primary:      []mockprovider.Step{{Fault: mockprovider.FaultResetBeforeHeaders}},
			wantFallback: "openai/gpt-4o", wantPath: "/v1/chat/completions", wantModel: "gpt-4o", wantPrimary: 1,
		},
		"straight to the fallback while the primary's breaker is open": {
			spec: `  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}
  fallbacks:
    - {provider: openai, model: gpt-4o}
`,
			primary:      []mockprovider.Step{{Status: 500}},
			openBreaker:  true,
			wantFallback: "openai/gpt-4o", wantPath: "/v1/chat/completions", wantModel: "gpt-4o", wantPrimary: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, tc.spec)
			mock.EnqueueFor("gpt-4o-mini", tc.primary...)
			client := sc.openAI()
			if tc.openBreaker {
				res := chat(t, client, "gpt-4o-mini")
				require.NoError(t, res.err, "the request that opens the breaker is answered by the fallback")
				require.Equal(t, 2.0, sc.metric("tollgate_circuit_breaker_state", "model", "gpt-4o-mini"), "2 is open")
				mock.Reset()
			}

			var model, content string
			var header http.Header
			if tc.stream {
				res := chatStream(t, client, chatParams("gpt-4o-mini"), requestID("fb-1"))
				require.NoError(t, res.err)
				require.NotEmpty(t, res.acc.Choices)
				model, content, header = res.acc.Model, res.acc.Choices[0].Message.Content, res.header
			} else {
				res := chat(t, client, "gpt-4o-mini", requestID("fb-1"))
				require.NoError(t, res.err)
				model, content, header = res.completion.Model, res.completion.Choices[0].Message.Content, res.header
			}
			assert.Equal(t, tc.wantModel, model, "the answer came from the fallback model")
			assert.Equal(t, mockprovider.DefaultContent, content)
			assert.Equal(t, tc.wantFallback, header.Get(llmclient.HeaderFallback))

			primary, fallback := 0, 0
			for _, r := range mock.Requests() {
				switch r.Model {
				case "gpt-4o-mini":
					primary++
				case tc.wantModel:
					fallback++
					assert.Equal(t, tc.wantPath, r.Path)
				}
			}
			assert.Equal(t, tc.wantPrimary, primary, "requests to the primary")
			assert.Equal(t, 1, fallback)
			line := sc.requestLog("fb-1")
			assert.EqualValues(t, 1, line["fallback_rung"])
			assert.Equal(t, tc.wantFallback, line["served_by"])
			assert.Positive(t, sc.metric("tollgate_fallbacks_total", "provider", "openai", "rung", tc.wantFallback))
		})
	}
}

func TestStaticResponse_AsTheLastRungIsReadByBothSDKsAsJSONAndAsAStream(t *testing.T) {
	const spec = `  fallbacks:
    - {provider: claude, model: claude-haiku-4-5}
    - staticResponse: {content: "` + staticContent + `"}
`
	tests := map[string]func(t *testing.T, sc *sidecar) (content string, header http.Header){
		"an OpenAI chat completion": func(t *testing.T, sc *sidecar) (string, http.Header) {
			res := chat(t, sc.openAI(), "gpt-4o-mini")
			require.NoError(t, res.err)
			assert.Equal(t, "gpt-4o-mini", res.completion.Model)
			return res.completion.Choices[0].Message.Content, res.header
		},
		"an OpenAI chat stream": func(t *testing.T, sc *sidecar) (string, http.Header) {
			res := chatStream(t, sc.openAI(), chatParams("gpt-4o-mini"))
			require.NoError(t, res.err)
			require.NotEmpty(t, res.acc.Choices)
			assert.Equal(t, "stop", res.acc.Choices[0].FinishReason)
			return res.acc.Choices[0].Message.Content, res.header
		},
		"an Anthropic message": func(t *testing.T, sc *sidecar) (string, http.Header) {
			var raw *http.Response
			client := sc.anthropic()
			msg, err := client.Messages.New(context.Background(), messageParams("claude-sonnet-4-5"), anthropicoption.WithResponseInto(&raw))
			require.NoError(t, err)
			require.Len(t, msg.Content, 1)
			return msg.Content[0].Text, raw.Header
		},
		"an Anthropic message stream": func(t *testing.T, sc *sidecar) (string, http.Header) {
			var raw *http.Response
			client := sc.anthropic()
			stream := client.Messages.NewStreaming(context.Background(), messageParams("claude-sonnet-4-5"), anthropicoption.WithResponseInto(&raw))
			var msg anthropic.Message
			for stream.Next() {
				require.NoError(t, msg.Accumulate(stream.Current()))
			}
			require.NoError(t, stream.Err())
			require.NoError(t, stream.Close())
			require.Len(t, msg.Content, 1)
			assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
			return msg.Content[0].Text, raw.Header
		},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			mock := startMock(t)
			sc := startWithSpec(t, mock, spec)
			mock.SetDefault(mockprovider.Step{Status: 500}) // every provider fails

			content, header := call(t, sc)
			assert.Equal(t, staticContent, content)
			assert.Equal(t, "static", header.Get(llmclient.HeaderFallback))
			assert.Equal(t, int64(2), mock.Received(), "the primary, then the claude rung, then the static answer")
			sc.awaitMetric(1.0, "tollgate_fallbacks_total", "rung", "static") // counted once the answer is done
		})
	}
}
