package proxy

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestDryRun_AModelOutsideTheAllowListIsSentAndCounted(t *testing.T) {
	h := newHarnessRawWith(t, `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: test, namespace: ns}
spec:
  mode: DryRun
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK, models: [gpt-4o]}
`, llmclient.Options{})

	resp, _, r := h.servedAt("/openai/v1/chat/completions", chat, "sk-app")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "gpt-4o-mini is not allowed, and the request went through")
	assert.Equal(t, string(proxyconfig.DryRunModelNotAllowed), resp.Header.Get(llmclient.HeaderDryRun))
	assert.Empty(t, resp.Header.Get(llmclient.HeaderReason))
	assert.Equal(t, proxyconfig.DryRunModelNotAllowed, r.DryRun)
	assert.Equal(t, 1, len(h.mock.Requests()))

	resp, _, r = h.servedAt("/openai/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, "sk-app")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get(llmclient.HeaderDryRun), "an allowed model: nothing would have acted")
	assert.Empty(t, r.DryRun)
}

func TestDryRun_AnExhaustedBudgetNeitherBlocksNorDowngradesAndKeepsCounting(t *testing.T) {
	h := newBudgetHarness(t, `
  mode: DryRun
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1000", outputPerMillion: "1000"}
    - {model: gpt-4o-nano, inputPerMillion: "1", outputPerMillion: "1"}
  budget:
    limit: "0.40"
    onExhausted: Downgrade
    downgradeTo: {provider: openai, model: gpt-4o-nano}
`)
	var actions []proxyconfig.DryRunAction
	for range 4 {
		resp := h.spend()
		r := h.lastReport()
		actions = append(actions, r.DryRun)
		assert.Empty(t, resp.Header.Get(llmclient.HeaderFallback))
		assert.NotEqual(t, "downgraded", resp.Header.Get(llmclient.HeaderBudget))
		assert.Equal(t, "gpt-4o-mini", r.Model)
		assert.Equal(t, "gpt-4o-mini", r.Served.Model, "served by the model asked for, never the downgrade")
	}
	assert.Equal(t, []proxyconfig.DryRunAction{"", "", proxyconfig.DryRunBudgetDowngrade, proxyconfig.DryRunBudgetDowngrade}, actions)
	for _, req := range h.mock.Requests() {
		assert.Equal(t, "gpt-4o-mini", req.Model)
	}
	st := h.current.Load().Budget().Status()
	assert.Equal(t, "0.8", st.Spent.String(), "four answers at $0.20: spend counted past the limit, exactly")
	assert.Equal(t, "Exhausted", string(st.State))
}

func TestDryRun_AnUnpricedModelUnderABudgetIsSentAndCounted(t *testing.T) {
	h := newBudgetHarness(t, `
  mode: DryRun
  budget: {limit: "1"}
`)
	h.mock.SetDefault(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 10, OutputTokens: 5}})
	resp, _, r := h.servedAt("/openai/v1/chat/completions", `{"model":"my-finetune","messages":[{"role":"user","content":"hi"}]}`, "sk-app")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, proxyconfig.DryRunModelUnpriced, r.DryRun)
	assert.False(t, r.Priced, "its cost is unknown")
}

func TestDryRun_EmbeddingsPastTheBudgetAreMadeAndCharged(t *testing.T) {
	h := newBudgetHarness(t, "  mode: DryRun\n"+semanticBudgetSpec)
	h.spend() // $0.20
	resp, _, r := h.servedAt("/openai/v1/chat/completions", chatAsking("How do I reset my password?"), "k")
	assert.Equal(t, "miss", resp.Header.Get("X-Tollgate-Cache"))
	assert.Equal(t, "0.05", r.Semantic.CostUSD.String())

	// $0.45 spent: Enforce would send no embedding and refuse the request;
	// DryRun looks the question up, answers from the cache, and charges
	// the embedding.
	embedded := len(embeddings(h.harness))
	resp, _, r = h.servedAt("/openai/v1/chat/completions", chatAsking("how do i reset my password"), "k")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, llmclient.CacheSemanticHit, r.Cache)
	assert.Equal(t, proxyconfig.DryRunBudgetExhausted, r.DryRun, "what Enforce would have done to the request")
	assert.Equal(t, "budget_exhausted", resp.Header.Get(llmclient.HeaderDryRun))
	assert.Empty(t, r.Semantic.EmbeddingError)
	assert.Equal(t, embedded+1, len(embeddings(h.harness)))
	assert.Equal(t, "0.05", r.Semantic.CostUSD.String())
	assert.Equal(t, "0.5", h.current.Load().Budget().Status().Spent.String(), "$0.20 + $0.05 + $0.20 + $0.05")
}
