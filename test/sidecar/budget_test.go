package sidecare2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// The mock answers with 100 input and 100 output tokens; at $1000 per
// million tokens each answer costs $0.20. A request reserves its short
// prompt and the model's 100 output tokens, a little over $0.10 (the
// mock's usage then charges more), so a $0.61 budget admits three
// requests: after $0.60 what remains does not cover a fourth.
const budgetBlock = `
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1000", outputPerMillion: "1000", maxOutputTokens: 100}
  budget: {period: Daily, limit: "0.61", softLimitPercent: 50}
`

func TestBudget_TheOpenAISDKSurfacesBudgetExhaustedAndCostIsExported(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 100, OutputTokens: 100}})
	s := startWithSpec(t, mock, budgetBlock)
	c := s.openAI()

	first := chat(t, c, "gpt-4o-mini")
	require.NoError(t, first.err)
	assert.Empty(t, first.header.Get(llmclient.HeaderBudget))
	second := chat(t, c, "gpt-4o-mini")
	require.NoError(t, second.err)
	third := chat(t, c, "gpt-4o-mini")
	require.NoError(t, third.err)
	assert.Equal(t, "soft-limit", third.header.Get(llmclient.HeaderBudget), "$0.40 of $0.61 spent: past the 50% soft limit")

	blocked := chat(t, c, "gpt-4o-mini")
	apiErr := requireOpenAIError(t, blocked.err, http.StatusTooManyRequests, llmclient.CodeBudgetExhausted)
	assert.Contains(t, apiErr.Message, "Daily budget")
	assert.NotEmpty(t, apiErr.Response.Header.Get("Retry-After"), "the app is told when the period ends")
	assert.Equal(t, 3, len(mock.Requests()), "the blocked request never reached the provider")

	s.awaitNear(0.60, "tollgate_cost_usd_total", "model", "gpt-4o-mini")
	s.awaitMetric(1.0, "tollgate_requests_total", "outcome", llmclient.CodeBudgetExhausted)
	assert.Contains(t, s.logs.String(), "budget soft limit reached")
	assert.Contains(t, s.logs.String(), "budget exhausted")
}

func TestCost_AnUnpricedModelIsCountedAsUnknownAndWarnedOnce(t *testing.T) {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 10, OutputTokens: 5}})
	s := startWithSpec(t, mock, "")
	c := s.openAI()
	for range 2 {
		require.NoError(t, chat(t, c, "my-finetune-7").err)
	}
	// A model the policy does not name and no price covers is counted
	// under (other); the warning names it.
	s.awaitMetric(30.0, "tollgate_unpriced_tokens_total", "model", "(other)")
	assert.Equal(t, 1, countLines(s.logs.String(), "model has no price"))
	assert.Contains(t, s.logs.Around("model has no price", 1), `"model":"my-finetune-7"`)
}

func countLines(logs, substr string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

func TestBudget_AStandaloneSidecarSaysItsBudgetIsLocal(t *testing.T) {
	mock := startMock(t)
	s := startWithSpec(t, mock, budgetBlock)
	assert.Contains(t, s.get("/config"), `"mode": "local"`, "/config says the budget is this sidecar's own")
	var loaded map[string]any
	for _, l := range s.logs.JSONLines() {
		if l["msg"] == "policy loaded" {
			loaded = l
		}
	}
	require.NotNil(t, loaded)
	assert.Contains(t, loaded["budget"], "local: this sidecar's own traffic only")
}
