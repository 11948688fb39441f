package proxy

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

const semanticSpec = `
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small}
`

// chatAsking is a deterministic chat request whose last user message is
// question, after a fixed system prompt.
func chatAsking(question string) string {
	q, _ := json.Marshal(question)
	return `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"You are a help desk."},{"role":"user","content":` + string(q) + `}]}`
}

// embeddings returns the embeddings requests the mock received.
func embeddings(h *harness) []mockprovider.Request {
	var out []mockprovider.Request
	for _, r := range h.mock.Requests() {
		if r.API == mockprovider.APIOpenAIEmbeddings {
			out = append(out, r)
		}
	}
	return out
}

func TestSemanticCache_ARewordedQuestionIsAnsweredFromTheCache(t *testing.T) {
	h := newHarness(t, semanticSpec)
	first := h.post("/openai/v1/chat/completions", chatAsking("How do I reset my password?"), "Authorization", "Bearer app-key")
	firstBody := readAll(t, first)
	assert.Equal(t, "miss", first.Header.Get("X-Tollgate-Cache"))
	require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)
	r := h.lastReport()
	require.NotNil(t, r.Semantic)
	assert.Equal(t, llmclient.SemanticMiss, r.Semantic.Result)

	second := h.post("/openai/v1/chat/completions", chatAsking("how do I reset my password"), "Authorization", "Bearer app-key")
	assert.Equal(t, firstBody, readAll(t, second))
	assert.Equal(t, "semantic-hit", second.Header.Get("X-Tollgate-Cache"))
	assert.Equal(t, "0", second.Header.Get("X-Tollgate-Attempts"))
	require.Eventually(t, func() bool { return h.reportCount() == 2 }, waitFor, tick)
	r = h.lastReport()
	assert.Equal(t, llmclient.CacheSemanticHit, r.Cache)
	assert.Equal(t, llmclient.SemanticHit, r.Semantic.Result)
	assert.GreaterOrEqual(t, r.Semantic.Similarity, 0.95)
	assert.True(t, r.CostUSD.IsZero(), "the answer itself costs nothing")
	assert.True(t, r.Semantic.CostUSD.IsPositive(), "its embedding does: %s", r.Semantic.CostUSD)

	chats := 0
	for _, req := range h.mock.Requests() {
		if req.API == mockprovider.APIOpenAIChat {
			chats++
		}
	}
	assert.Equal(t, 1, chats, "the provider answered one chat")
	emb := embeddings(h)
	require.Len(t, emb, 2, "each request was embedded once")
	assert.Equal(t, "/v1/embeddings", emb[0].Path)
	assert.Equal(t, "Bearer app-key", emb[0].Header.Get("Authorization"), "the app's key for the provider it called")
	assert.JSONEq(t, `{"model":"text-embedding-3-small","input":"How do I reset my password?","encoding_format":"float"}`, string(emb[0].Body))
}

func TestSemanticCache_WhatIsNeverShared(t *testing.T) {
	const q = "How do I reset my password?"
	tests := map[string]struct {
		second           string
		headerA, headerB string
	}{
		"another credential": {chatAsking(q), "Bearer tenant-a", "Bearer tenant-b"},
		"another system prompt": {`{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"You are a pirate."},{"role":"user","content":"how do I reset my password"}]}`,
			"Bearer k", "Bearer k"},
		"another model": {`{"model":"gpt-4o","temperature":0,"messages":[{"role":"system","content":"You are a help desk."},{"role":"user","content":"how do I reset my password"}]}`,
			"Bearer k", "Bearer k"},
		"another parameter": {`{"model":"gpt-4o-mini","temperature":0,"max_tokens":5,"messages":[{"role":"system","content":"You are a help desk."},{"role":"user","content":"how do I reset my password"}]}`,
			"Bearer k", "Bearer k"},
		"an earlier turn more": {`{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"You are a help desk."},{"role":"user","content":"hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"how do I reset my password"}]}`,
			"Bearer k", "Bearer k"},
		"tools": {`{"model":"gpt-4o-mini","temperature":0,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"system","content":"You are a help desk."},{"role":"user","content":"how do I reset my password"}]}`,
			"Bearer k", "Bearer k"},
		"the opposite question": {chatAsking("How do I not reset my password?"), "Bearer k", "Bearer k"},
		"an unrelated question": {chatAsking("What are your opening hours?"), "Bearer k", "Bearer k"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, semanticSpec)
			readAll(t, h.post("/openai/v1/chat/completions", chatAsking(q), "Authorization", tc.headerA))
			require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)
			resp := h.post("/openai/v1/chat/completions", tc.second, "Authorization", tc.headerB)
			readAll(t, resp)
			assert.Equal(t, "miss", resp.Header.Get("X-Tollgate-Cache"))
		})
	}
}

func TestSemanticCache_FailingEmbeddingsLeaveTheRequestUncached(t *testing.T) {
	h := newHarness(t, semanticSpec+`
  retry: {maxAttempts: 1}
`)
	h.mock.EnqueueFor("text-embedding-3-small", mockprovider.Step{Status: http.StatusInternalServerError})
	resp := h.post("/openai/v1/chat/completions", chatAsking("How do I reset my password?"), "Authorization", "Bearer k")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	readAll(t, resp)
	r := h.lastReport()
	require.NotNil(t, r.Semantic)
	assert.Equal(t, llmclient.SemanticError, r.Semantic.Result)
	assert.Equal(t, llmclient.EmbeddingServerError, r.Semantic.EmbeddingError)
	assert.True(t, r.Semantic.CostUSD.IsZero(), "a failed embedding without usage costs nothing")
}

func TestSemanticCache_AnEmbeddingPastItsTimeoutLeavesTheRequestUncached(t *testing.T) {
	h := newHarness(t, `
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small, timeout: 50ms}
`)
	h.mock.EnqueueFor("text-embedding-3-small", mockprovider.Step{FirstByteDelay: 2 * time.Second})
	start := time.Now()
	resp := h.post("/openai/v1/chat/completions", chatAsking("How do I reset my password?"), "Authorization", "Bearer k")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	readAll(t, resp)
	assert.Less(t, time.Since(start), time.Second)
	r := h.lastReport()
	assert.Equal(t, llmclient.EmbeddingTimeout, r.Semantic.EmbeddingError)
}

func TestSemanticCache_AnswersThatCallToolsAreNotStored(t *testing.T) {
	h := newHarness(t, semanticSpec)
	h.mock.EnqueueFor("gpt-4o-mini", mockprovider.Step{Body: `{"id":"c","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"reset","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}`})
	readAll(t, h.post("/openai/v1/chat/completions", chatAsking("How do I reset my password?"), "Authorization", "Bearer k"))
	require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)
	resp := h.post("/openai/v1/chat/completions", chatAsking("how do I reset my password"), "Authorization", "Bearer k")
	readAll(t, resp)
	assert.Equal(t, "miss", resp.Header.Get("X-Tollgate-Cache"))
}

func TestSemanticCache_AProviderWithoutItsOwnKeyEmbedsOnlyItsOwnRequests(t *testing.T) {
	h := newHarness(t, semanticSpec)
	resp := h.post("/claude/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":10,"temperature":0,"messages":[{"role":"user","content":"How do I reset my password?"}]}`, "X-Api-Key", "claude-key")
	readAll(t, resp)
	r := h.lastReport()
	require.NotNil(t, r.Semantic)
	assert.Equal(t, llmclient.EmbeddingNoCredentials, r.Semantic.EmbeddingError)
	assert.Empty(t, embeddings(h), "the Anthropic key never goes to the OpenAI provider")
}

// semanticBudgetSpec prices the chat model at $1000 and the embedding
// model at $500 per million tokens, so that with the mock's 100 input and
// 100 output tokens an answer costs $0.20 and an embedding $0.05, under a
// $0.40 budget. A chat request reserves its prompt and 100 output tokens,
// a little over $0.10.
const semanticBudgetSpec = `
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small}
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1000", outputPerMillion: "1000", maxOutputTokens: 100}
    - {model: text-embedding-3-small, inputPerMillion: "500", outputPerMillion: "0"}
  budget: {limit: "0.40"}
`

func TestSemanticCache_EmbeddingsAreChargedToTheBudget(t *testing.T) {
	h := newBudgetHarness(t, semanticBudgetSpec)
	ask := func(q string) *http.Response {
		before := h.reportCount()
		resp := h.post("/openai/v1/chat/completions", chatAsking(q), "Authorization", "Bearer k")
		readAll(t, resp)
		require.Eventually(t, func() bool { return h.reportCount() > before }, waitFor, tick)
		return resp
	}
	h.spend() // $0.20, not deterministic: not looked up
	resp := ask("How do I reset my password?")
	r := h.lastReport()
	assert.Equal(t, "miss", resp.Header.Get("X-Tollgate-Cache"))
	assert.Equal(t, "0.05", r.Semantic.CostUSD.String(), "100 tokens at $500/M, exact")
	assert.Equal(t, "0.2", r.CostUSD.String())

	// $0.45 spent: the next embedding is not admitted, and the request is
	// refused by the budget as any other.
	embedded := len(embeddings(h.harness))
	resp = ask("how do i reset my password")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	r = h.lastReport()
	assert.Equal(t, llmclient.EmbeddingBudget, r.Semantic.EmbeddingError)
	assert.Equal(t, llmclient.CodeBudgetExhausted, r.Refusal)
	assert.Equal(t, embedded, len(embeddings(h.harness)), "no embedding is sent past the budget")
}

func TestSemanticCache_AnEmbeddingWithoutUsageIsChargedItsEstimate(t *testing.T) {
	h := newBudgetHarness(t, `
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small}
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1", outputPerMillion: "1"}
    - {model: text-embedding-3-small, inputPerMillion: "1000000", outputPerMillion: "0"}
  budget: {limit: "100"}
`)
	h.mock.EnqueueFor("text-embedding-3-small", mockprovider.Step{Body: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"model":"text-embedding-3-small"}`})
	before := h.reportCount()
	readAll(t, h.post("/openai/v1/chat/completions", chatAsking("How do I reset my password?"), "Authorization", "Bearer k"))
	require.Eventually(t, func() bool { return h.reportCount() > before }, waitFor, tick)
	r := h.lastReport()
	require.NotNil(t, r.Semantic)
	assert.Equal(t, llmclient.SemanticMiss, r.Semantic.Result, "the vector is used")
	assert.Equal(t, llmclient.EstimateNoUsage, r.Semantic.Estimated, "%+v", r.Semantic)
	// 27 bytes of text: ceil(27/4) = 7 tokens at $1/token.
	assert.Equal(t, "7", r.Semantic.CostUSD.String(), "never free")
}

func TestSemanticCache_AServerThatTakesNoKeyEmbedsWithoutOne(t *testing.T) {
	h := newHarnessRawWith(t, `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  providers:
    - {name: local, type: OpenAICompatible, baseURL: MOCK}
  cache:
    semantic:
      embedding: {provider: local, model: nomic-embed-text}
`, llmclient.Options{})
	body := `{"model":"llama3","temperature":0,"messages":[{"role":"user","content":"Why is the sky blue?"}]}`
	readAll(t, h.post("/local/v1/chat/completions", body))
	require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)
	resp := h.post("/local/v1/chat/completions", `{"model":"llama3","temperature":0,"messages":[{"role":"user","content":"why is the sky blue"}]}`)
	readAll(t, resp)
	assert.Equal(t, "semantic-hit", resp.Header.Get("X-Tollgate-Cache"))
	emb := embeddings(h)
	require.NotEmpty(t, emb)
	assert.Equal(t, "/v1/embeddings", emb[0].Path)
	assert.Empty(t, emb[0].Header.Get("Authorization"))
}

func TestSemanticCache_EachProviderTypeIsEmbeddedAtItsEndpoint(t *testing.T) {
	tests := map[string]struct {
		typ, path, body1, body2 string
		header                  [2]string
		wantPath                string
		wantAuth                [2]string
	}{
		"Gemini, native generateContent": {
			typ:      "Gemini",
			path:     "/g/v1beta/models/gemini-2.5-flash:generateContent",
			body1:    `{"generationConfig":{"temperature":0},"contents":[{"role":"user","parts":[{"text":"Why is the sky blue?"}]}]}`,
			body2:    `{"generationConfig":{"temperature":0},"contents":[{"role":"user","parts":[{"text":"why is the sky blue"}]}]}`,
			header:   [2]string{"X-Goog-Api-Key", "gemini-key"},
			wantPath: "/v1beta/openai/embeddings",
			wantAuth: [2]string{"Authorization", "Bearer gemini-key"},
		},
		"Azure OpenAI, a deployment": {
			typ:      "AzureOpenAI",
			path:     "/g/openai/deployments/chat/chat/completions?api-version=2024-10-21",
			body1:    `{"temperature":0,"messages":[{"role":"user","content":"Why is the sky blue?"}]}`,
			body2:    `{"temperature":0,"messages":[{"role":"user","content":"why is the sky blue"}]}`,
			header:   [2]string{"Api-Key", "azure-key"},
			wantPath: "/openai/v1/embeddings",
			wantAuth: [2]string{"Api-Key", "azure-key"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarnessRawWith(t, `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  providers:
    - {name: g, type: `+tc.typ+`, baseURL: MOCK}
  cache:
    semantic:
      embedding: {provider: g, model: my-embeddings}
`, llmclient.Options{})
			readAll(t, h.post(tc.path, tc.body1, tc.header[0], tc.header[1]))
			require.Eventually(t, func() bool { return h.reportCount() == 1 }, waitFor, tick)
			resp := h.post(tc.path, tc.body2, tc.header[0], tc.header[1])
			readAll(t, resp)
			assert.Equal(t, "semantic-hit", resp.Header.Get("X-Tollgate-Cache"))
			emb := embeddings(h)
			require.Len(t, emb, 2)
			assert.Equal(t, tc.wantPath, emb[0].Path)
			assert.Equal(t, tc.wantAuth[1], emb[0].Header.Get(tc.wantAuth[0]))
			assert.Contains(t, string(emb[0].Body), `"model":"my-embeddings"`)
		})
	}
}

func TestSemanticCache_AReloadKeepsTheEntriesUnlessTheEmbeddingChanges(t *testing.T) {
	h := newBudgetHarness(t, semanticSpec)
	ask := func(q string) string {
		before := h.reportCount()
		resp := h.post("/openai/v1/chat/completions", chatAsking(q), "Authorization", "Bearer k")
		readAll(t, resp)
		require.Eventually(t, func() bool { return h.reportCount() > before }, waitFor, tick)
		return resp.Header.Get("X-Tollgate-Cache")
	}
	require.Equal(t, "miss", ask("How do I reset my password?"))

	h.load(`
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small}
      threshold: "0.99"
`)
	assert.Equal(t, "semantic-hit", ask("how do I reset my password"), "a new threshold keeps what was stored")

	h.load(`
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-large}
`)
	assert.Equal(t, "miss", ask("how do I reset my password"), "another model's vectors do not compare")
}
