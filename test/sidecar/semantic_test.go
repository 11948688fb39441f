package sidecare2e

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

const semanticSpec = `
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small}
`

// helpDesk is a deterministic chat request whose last user message is
// question.
func helpDesk(question string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       "gpt-4o-mini",
		Temperature: openai.Float(0),
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are the help desk of Example Corp."),
			openai.UserMessage(question),
		},
	}
}

// chatWith makes one chat completion call with params and returns the
// answer's text and its X-Tollgate-Cache.
func chatWith(t *testing.T, c openai.Client, params openai.ChatCompletionNewParams, id string) (string, string) {
	t.Helper()
	var raw *http.Response
	got, err := c.Chat.Completions.New(context.Background(), params, requestID(id), option.WithResponseInto(&raw))
	require.NoError(t, err)
	return got.Choices[0].Message.Content, raw.Header.Get("X-Tollgate-Cache")
}

func TestSemanticCache_TheSDKGetsTheEarlierAnswerForARewordedQuestion(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, semanticSpec)
	mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Content: "Open Settings, then Security, then Reset password."})
	c := sc.openAI()

	first, cacheFirst := chatWith(t, c, helpDesk("How do I reset my password?"), "sem-1")
	assert.Equal(t, "miss", cacheFirst)
	sc.awaitMetric(1, "tollgate_semantic_cache_lookups_total", "provider", "openai", "result", "miss")

	second, cacheSecond := chatWith(t, c, helpDesk("how do i reset my password"), "sem-2")
	assert.Equal(t, "semantic-hit", cacheSecond)
	assert.Equal(t, first, second)
	assert.Equal(t, "Open Settings, then Security, then Reset password.", second)

	line := sc.requestLog("sem-2")
	assert.Equal(t, "semantic_hit", line["cache"])
	assert.Equal(t, "hit", line["semantic"])
	assert.GreaterOrEqual(t, line["similarity"], 0.95)
	assert.Equal(t, float64(1), line["embedding_attempts"])
	assert.NotEmpty(t, line["embedding_cost_usd"])

	// Another question in the same context is its own answer.
	_, cacheThird := chatWith(t, c, helpDesk("What are your opening hours?"), "sem-3")
	assert.Equal(t, "miss", cacheThird)

	chats, embeds := 0, 0
	for _, r := range mock.Requests() {
		switch r.API {
		case mockprovider.APIOpenAIChat:
			chats++
		case mockprovider.APIOpenAIEmbeddings:
			embeds++
			assert.Equal(t, "Bearer "+appKey, r.Header.Get("Authorization"), "the app's own key, for the provider it called")
		}
	}
	assert.Equal(t, 2, chats, "the reworded question never reached the provider")
	assert.Equal(t, 3, embeds, "each request was embedded once")

	sc.awaitMetric(1, "tollgate_cache_requests_total", "provider", "openai", "result", "semantic_hit")
	sc.awaitMetric(1, "tollgate_semantic_cache_lookups_total", "provider", "openai", "result", "hit")
	sc.awaitMetric(3*mockprovider.DefaultInputTokens, "tollgate_tokens_total", "provider", "openai", "model", "text-embedding-3-small", "type", "input")
	assert.Positive(t, sc.metric("tollgate_cost_usd_total", "provider", "openai", "model", "text-embedding-3-small"), "the embeddings are priced")
}

func TestSemanticCache_AStreamIsReplayedToTheRewordedQuestion(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, semanticSpec)
	mock.SetDefault(mockprovider.Step{Chunks: 6})
	c := sc.openAI()

	first := chatStream(t, c, helpDesk("Which plan includes single sign-on?"))
	require.NoError(t, first.err)
	assert.Equal(t, "miss", first.header.Get("X-Tollgate-Cache"))
	sc.awaitMetric(1, "tollgate_semantic_cache_lookups_total", "result", "miss")

	second := chatStream(t, c, helpDesk("which plan includes single sign on"))
	require.NoError(t, second.err)
	assert.Equal(t, "semantic-hit", second.header.Get("X-Tollgate-Cache"))
	assert.Equal(t, first.acc.Choices[0].Message.Content, second.acc.Choices[0].Message.Content)
	assert.Equal(t, len(first.chunks), len(second.chunks), "chunk by chunk")
}

func TestSemanticCache_AnthropicRequestsAreEmbeddedWithTheSidecarsKey(t *testing.T) {
	const openAIKey = "sk-e2e-openai-embeddings-5be1"
	mock := startMock(t)
	dir := t.TempDir()
	writeAtomically(t, filepath.Join(dir, "openai"), openAIKey+"\n")
	sc := startWithPolicy(t, withMock(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, credentialsSecretRef: {name: openai, key: api-key}}
    - {name: claude, type: Anthropic, baseURL: MOCK}
`+semanticSpec, mock), "--credentials-dir", dir)
	client := sc.anthropic()
	ask := func(q string) (string, string) {
		var raw *http.Response
		msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
			Model:       "claude-haiku-4-5",
			MaxTokens:   256,
			Temperature: anthropic.Float(0),
			System:      []anthropic.TextBlockParam{{Text: "You are the help desk of Example Corp."}},
			Messages:    []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(q))},
		}, anthropicoption.WithResponseInto(&raw))
		require.NoError(t, err)
		return msg.Content[0].Text, raw.Header.Get("X-Tollgate-Cache")
	}
	first, h1 := ask("Can I change the email address of my account?")
	assert.Equal(t, "miss", h1)
	sc.awaitMetric(1, "tollgate_semantic_cache_lookups_total", "provider", "claude", "result", "miss")
	second, h2 := ask("can I change my account's email address?")
	assert.Equal(t, "semantic-hit", h2)
	assert.Equal(t, first, second)
	for _, r := range mock.Requests() {
		if r.API == mockprovider.APIOpenAIEmbeddings {
			assert.Equal(t, "Bearer "+openAIKey, r.Header.Get("Authorization"))
			assert.Empty(t, r.Header.Get("X-Api-Key"), "the app's Anthropic key never goes to OpenAI")
		}
	}
}

func TestSemanticCache_FailingEmbeddingsFailOpenThroughTheBreaker(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, semanticSpec+`
  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}
`)
	mock.EnqueueFor("text-embedding-3-small", mockprovider.Step{Status: 503})
	c := sc.openAI()

	for i, q := range []string{"How do I reset my password?", "how do i reset my password"} {
		text, cacheHeader := chatWith(t, c, helpDesk(q), "fail-"+string(rune('a'+i)))
		assert.Equal(t, mockprovider.DefaultContent, text, "the request went on uncached")
		assert.Equal(t, "miss", cacheHeader)
	}
	assert.Equal(t, "server_error", sc.requestLog("fail-a")["embedding_error"])
	assert.Equal(t, "circuit_open", sc.requestLog("fail-b")["embedding_error"], "the embedding's breaker opened")
	sc.awaitMetric(1, "tollgate_semantic_cache_embedding_errors_total", "reason", "server_error")
	sc.awaitMetric(1, "tollgate_semantic_cache_embedding_errors_total", "reason", "circuit_open")
	sc.awaitMetric(2, "tollgate_semantic_cache_lookups_total", "provider", "openai", "result", "error")
	sc.awaitMetric(2, "tollgate_circuit_breaker_state", "provider", "openai", "model", "text-embedding-3-small")
	sc.awaitMetric(0, "tollgate_circuit_breaker_state", "provider", "openai", "model", "gpt-4o-mini")
}
