package sidecare2e

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// twinSpec is the policy both twins enforce, but for its mode: at most
// two requests at once, and $0.61 a day, where gpt-4o-mini answers (100
// tokens in and out at $1000 per million) cost $0.20 each, reserving a
// little over $0.10 (a short prompt and 100 output tokens), and
// local-llama's nothing: three gpt-4o-mini answers leave too little for a
// fourth.
const twinSpec = `
  pricing:
    - {model: gpt-4o-mini, inputPerMillion: "1000", outputPerMillion: "1000", maxOutputTokens: 100}
    - {model: local-llama, inputPerMillion: "0", outputPerMillion: "0"}
  budget: {period: Daily, limit: "0.61"}
  rateLimit: {maxConcurrent: 2, maxWait: 1ms}
`

// twinResult is what the app got for one request of twinTraffic: the
// status, and the refusal code (Enforce) or the dry-run action (DryRun).
type twinResult struct {
	status int
	reason string
	dryRun string
}

// twinTraffic sends the same traffic through s: five local-llama requests
// at once, whose answers take half a second (two hold the concurrency slots
// while the other three arrive), then six gpt-4o-mini requests one after
// another (three spend the budget).
func twinTraffic(t *testing.T, s *sidecar, mock *mockprovider.Server) []twinResult {
	t.Helper()
	usage := &mockprovider.Usage{InputTokens: 100, OutputTokens: 100}
	c := s.openAI()
	results := make([]twinResult, 11)
	record := func(i int, r chatResult) {
		results[i] = twinResult{status: http.StatusOK}
		var apiErr *openai.Error
		if errors.As(r.err, &apiErr) {
			results[i].status = apiErr.StatusCode
		} else if r.err != nil {
			t.Errorf("request %d: %v", i, r.err)
		}
		if r.header != nil {
			results[i].reason, results[i].dryRun = r.header.Get(llmclient.HeaderReason), r.header.Get(llmclient.HeaderDryRun)
		}
	}

	mock.SetDefault(mockprovider.Step{Usage: usage, FirstByteDelay: 500 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { record(i, chat(t, c, "local-llama")) })
	}
	require.Eventually(t, func() bool { return mock.InFlight() == 2 }, 5*time.Second, 5*time.Millisecond, "the first two hold both slots")
	for i := 2; i < 5; i++ {
		wg.Go(func() { record(i, chat(t, c, "local-llama")) })
	}
	wg.Wait()

	mock.SetDefault(mockprovider.Step{Usage: usage})
	for i := 5; i < 11; i++ {
		record(i, chat(t, c, "gpt-4o-mini"))
	}
	return results
}

func TestDryRun_ServesEveryRequestAndCountsWhatItsEnforceTwinRefuses(t *testing.T) {
	enforceMock, dryRunMock := startMock(t), startMock(t)
	enforce := startWithSpec(t, enforceMock, twinSpec)
	dryRun := startWithSpec(t, dryRunMock, "  mode: DryRun\n"+twinSpec)

	enforced := twinTraffic(t, enforce, enforceMock)
	dry := twinTraffic(t, dryRun, dryRunMock)

	refused := map[string]int{}
	for i, r := range enforced {
		if r.status != http.StatusOK {
			refused[r.reason]++
		}
		assert.Empty(t, r.dryRun, "request %d: Enforce sends no dry-run header", i)
	}
	require.Equal(t, map[string]int{llmclient.CodeRateLimited: 3, llmclient.CodeBudgetExhausted: 3}, refused,
		"the Enforce twin refuses the three requests over maxConcurrent and the three past the budget")

	for i, r := range dry {
		assert.Equal(t, http.StatusOK, r.status, "request %d: DryRun refuses nothing", i)
		assert.Empty(t, r.reason, "request %d", i)
		if enforced[i].status == http.StatusOK {
			assert.Empty(t, r.dryRun, "request %d: Enforce served it too", i)
		} else {
			assert.Equal(t, enforced[i].reason, "tollgate_"+r.dryRun, "request %d: the header names what Enforce did", i)
		}
	}
	assert.Equal(t, 11, len(dryRunMock.Requests()), "every request reached the provider")
	assert.Equal(t, 5, len(enforceMock.Requests()))
	for _, req := range dryRunMock.Requests() {
		assert.Contains(t, []string{"local-llama", "gpt-4o-mini"}, req.Model, "nothing was downgraded or redirected")
	}

	dryRun.awaitMetric(3, "tollgate_dryrun_decisions_total", "policy", policyRef, "action", "rate_limited")
	dryRun.awaitMetric(3, "tollgate_dryrun_decisions_total", "policy", policyRef, "action", "budget_exhausted")
	assert.Equal(t, 0.0, dryRun.metric("tollgate_dryrun_decisions_total", "action", "circuit_open"), "no breaker, no series: %v", dryRun.allSeries())
	assert.Equal(t, 0.0, enforce.metric("tollgate_dryrun_decisions_total"), "Enforce counts no dry run")
	// The spend is the apps' real spend, counted past the limit: six
	// gpt-4o-mini answers, against the Enforce twin's three.
	dryRun.awaitNear(1.2, "tollgate_cost_usd_total", "model", "gpt-4o-mini")
	enforce.awaitNear(0.6, "tollgate_cost_usd_total", "model", "gpt-4o-mini")

	var config struct {
		Policy struct{ Mode string }
		Budget map[string]any
		DryRun struct {
			Period    string
			Decisions map[string]int64
		}
	}
	require.NoError(t, json.Unmarshal([]byte(dryRun.get("/config")), &config))
	assert.Equal(t, "DryRun", config.Policy.Mode)
	assert.Equal(t, "Daily", config.DryRun.Period)
	assert.Equal(t, map[string]int64{"rate_limited": 3, "budget_exhausted": 3}, config.DryRun.Decisions)
	assert.Equal(t, "1.2", config.Budget["spent"])
	assert.Equal(t, "Exhausted", config.Budget["state"])

	logs := dryRun.logs.String()
	assert.Equal(t, 2, countLines(logs, "dry run: the policy let requests through"), "one line per action, not one per request")
	assert.Contains(t, logs, "budget exhausted (dry run)")
	assert.Contains(t, logs, `"dry_run":"rate_limited"`, "the request log line says what Enforce would have done")
	assert.False(t, strings.Contains(enforce.logs.String(), "dry run"), "Enforce logs no dry run")
}

func TestDryRun_AnOpenBreakerStillSendsAndIsReported(t *testing.T) {
	mock := startMock(t)
	s := startWithSpec(t, mock, `
  mode: DryRun
  circuitBreaker: {consecutiveFailures: 2, openDuration: 1h}
`)
	mock.Enqueue(mockprovider.Step{Status: 503}, mockprovider.Step{Status: 503})
	c := s.openAI()
	for range 2 {
		requireOpenAIError(t, chat(t, c, "gpt-4o-mini").err, http.StatusServiceUnavailable, "")
	}
	s.awaitMetric(2, "tollgate_circuit_breaker_state", "model", "gpt-4o-mini")

	r := chat(t, c, "gpt-4o-mini")
	require.NoError(t, r.err, "the breaker is open, and the request went to the provider all the same")
	assert.Equal(t, "circuit_open", r.header.Get(llmclient.HeaderDryRun))
	assert.Equal(t, 3, len(mock.Requests()))
	s.awaitMetric(1, "tollgate_dryrun_decisions_total", "action", "circuit_open")
	assert.Equal(t, 2.0, s.metric("tollgate_circuit_breaker_state", "model", "gpt-4o-mini"),
		"its answer is not a trial Enforce would have made: the breaker stays open for openDuration")
}

// awaitNear is awaitMetric for a float sum (money in a Prometheus
// counter), within a rounding error.
func (s *sidecar) awaitNear(want float64, name string, labels ...string) {
	s.t.Helper()
	var got float64
	require.Eventually(s.t, func() bool {
		v, ok := s.metricOK(name, labels...)
		got = v
		return ok && math.Abs(v-want) < 1e-9
	}, 5*time.Second, 10*time.Millisecond, "metric %s%v is %v, want %v", name, labels, got, want)
}
