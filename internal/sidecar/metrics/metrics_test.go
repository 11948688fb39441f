package metrics

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
)

// spec is a policy with every source of model names: an allow-list, a
// provider without one, a self-hosted one, fallback rungs, a downgrade and
// prices.
const spec = `
  providers:
    - {name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9", models: [gpt-4o-mini, gpt-4o]}
    - {name: claude, type: Anthropic, baseURL: "http://127.0.0.1:9"}
    - {name: local, type: OpenAICompatible, baseURL: "http://127.0.0.1:9"}
  retry: {maxAttempts: 3, retryOn: [ServerError, RateLimited]}
  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}
  cache: {enabled: true}
  fallbacks:
    - {provider: claude, model: claude-haiku-4-5}
    - {provider: local}
    - staticResponse: {content: busy}
  pricing:
    - {model: llama-3.1-8b, inputPerMillion: "0.1", outputPerMillion: "0.1"}
`

func TestLabels_TakeOnlyWhatThePolicyOrThePriceTableNames(t *testing.T) {
	tr := transport(t, spec)
	l := newLabels(tr.Policy(), tr.Policies())
	tests := map[string]struct {
		provider, model         string
		wantProvider, wantModel string
	}{
		"a model of the allow-list":                   {"openai", "gpt-4o", "openai", "gpt-4o"},
		"a model of the price table":                  {"openai", "o3", "openai", "o3"},
		"a dated snapshot: the model that prices it":  {"openai", "gpt-4o-2024-08-06", "openai", "gpt-4o"},
		"a made-up snapshot: the same":                {"openai", "gpt-4o-31415926", "openai", "gpt-4o"},
		"any other name: the bucket":                  {"openai", "gpt-9-turbo-ultra", "openai", OtherModel},
		"a fallback rung's model":                     {"claude", "claude-haiku-4-5", "claude", "claude-haiku-4-5"},
		"another family's model":                      {"claude", "gpt-4o", "claude", OtherModel},
		"a priced model of a self-hosted server":      {"local", "llama-3.1-8b", "local", "llama-3.1-8b"},
		"a list-priced name on a self-hosted server":  {"local", "gpt-4o", "local", OtherModel},
		"no model named":                              {"openai", "", "openai", ""},
		"a path that names no provider of the policy": {"aaa", "", UnknownProvider, ""},
		"a model of such a path":                      {"aaa", "gpt-4o", UnknownProvider, OtherModel},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.wantProvider, l.provider(tc.provider))
			assert.Equal(t, tc.wantModel, l.model(tc.provider, tc.model))
		})
	}
	assert.Equal(t, []string{"gpt-4o-mini", "gpt-4o", OtherModel}, l.initialModels("openai"), "an allow-list leaves pricing's models out")
	assert.Equal(t, []string{"claude-haiku-4-5", "llama-3.1-8b", OtherModel}, l.initialModels("claude"))
	assert.Equal(t, []string{"claude/claude-haiku-4-5", "local/(other)", StaticRung}, l.initialRungs("openai"))
	assert.Equal(t, []string{"claude/claude-haiku-4-5", "local/llama-3.1-8b", "local/(other)", StaticRung}, l.initialRungs("local"))
}

func TestRequest_CountsTokensByType(t *testing.T) {
	m := New()
	m.Configure(transport(t, `
  providers: [{name: claude, type: Anthropic, baseURL: "http://127.0.0.1:9"}]
`))
	m.Request(&llmclient.Report{
		Provider: "claude", Model: "claude-sonnet-4-5", Status: 200, Failure: "none",
		Usage: provider.Usage{InputTokens: 3100, CachedInputTokens: 1600, CacheWriteTokens: 1000, CacheWrite1hTokens: 500, OutputTokens: 40, Known: true},
	})
	for typ, want := range map[string]float64{"input": 3100, "cached_input": 1600, "cache_write": 1000, "cache_write_1h": 500, "output": 40} {
		assert.Equal(t, want, testutil.ToFloat64(m.tokens.WithLabelValues("claude", "claude-sonnet-4-5", typ)), typ)
	}
}

// TestRequest_ClientInputNeverGrowsTheSeries sends the reports of requests
// with endless distinct paths and models: the series stay those the
// policy allows.
func TestRequest_ClientInputNeverGrowsTheSeries(t *testing.T) {
	m := New()
	m.Configure(transport(t, spec))
	count := func() int {
		n := 0
		for _, name := range perProvider {
			n += len(seriesOf(t, m, name))
		}
		return n
	}
	send := func(n int) {
		for i := range n {
			m.Request(&llmclient.Report{Provider: fmt.Sprintf("p%x", rand.Uint64()), Refusal: llmclient.CodeUnknownProvider, Status: 404, Failure: "none"})
			model := fmt.Sprintf("model-%x", rand.Uint64())
			for _, p := range []string{"openai", "claude", "local"} {
				m.Request(&llmclient.Report{
					Provider: p, Model: model, Status: 200, Failure: "none", Attempts: 2, Rung: 1, Stream: i%2 == 0,
					Served: policy.Target{Provider: "local", Model: model}, Cache: llmclient.CacheMiss,
					Usage: provider.Usage{InputTokens: 1, OutputTokens: 1, Known: true}, Estimated: llmclient.EstimateCutShort,
				})
				m.Retry(policy.Target{Provider: p, Model: model}, policy.ServerError)
				m.BreakerState(policy.Target{Provider: p, Model: model}, circuitbreaker.OpenState)
			}
		}
	}
	send(100)
	after100 := count()
	send(1000)
	assert.Equal(t, after100, count(), "1000 more distinct paths and models add no series")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.breaker.WithLabelValues("openai", OtherModel)), "the bucket's breaker shows the worst state")
	for _, name := range perProvider {
		for _, s := range seriesOf(t, m, name) {
			assert.NotRegexp(t, `^(p[0-9a-f]+|model-[0-9a-f]+)$`, s["provider"], name)
			assert.NotContains(t, s["model"], "model-", name)
			assert.NotContains(t, s["rung"], "model-", name)
		}
	}
}

func TestConfigure_CreatesTheSeriesOfThePolicyAtZero(t *testing.T) {
	m := New()
	m.Configure(transport(t, spec))
	has := func(name string, labels ...string) {
		t.Helper()
		want := prometheus.Labels{}
		for i := 0; i < len(labels); i += 2 {
			want[labels[i]] = labels[i+1]
		}
		assert.Contains(t, seriesOf(t, m, name), want, "%s%v", name, want)
	}
	has("tollgate_requests_total", "provider", "openai", "model", "gpt-4o-mini", "outcome", "success")
	has("tollgate_requests_total", "provider", "openai", "model", "gpt-4o", "outcome", "tollgate_circuit_open")
	has("tollgate_requests_total", "provider", "claude", "model", OtherModel, "outcome", "server_error")
	has("tollgate_requests_total", "provider", UnknownProvider, "model", "", "outcome", llmclient.CodeUnknownProvider)
	has("tollgate_upstream_attempts_total", "provider", "local", "model", "llama-3.1-8b")
	has("tollgate_retries_total", "provider", "openai", "model", "gpt-4o", "reason", "rate_limited")
	has("tollgate_retries_total", "provider", "openai", "model", "gpt-4o", "reason", "server_error")
	has("tollgate_circuit_breaker_state", "provider", "claude", "model", "claude-haiku-4-5")
	has("tollgate_fallbacks_total", "provider", "openai", "rung", "claude/claude-haiku-4-5")
	has("tollgate_fallbacks_total", "provider", "openai", "rung", StaticRung)
	has("tollgate_cache_requests_total", "provider", "openai", "result", "hit")
	has("tollgate_cache_requests_total", "provider", "local", "result", "miss")
	has("tollgate_tokens_total", "provider", "claude", "model", "claude-haiku-4-5", "type", "output")
	has("tollgate_cost_usd_total", "provider", "openai", "model", "gpt-4o")
	for _, s := range seriesOf(t, m, "tollgate_retries_total") {
		assert.NotEqual(t, "timeout", s["reason"], "only what retryOn names is retried")
	}
	assert.Zero(t, testutil.ToFloat64(m.breaker.WithLabelValues("openai", "gpt-4o")), "closed")
	assert.Empty(t, seriesOf(t, m, "tollgate_request_duration_seconds"), "histograms come with the first request")
}

func TestConfigure_DeletesWhatTheNewPolicyCannotProduce(t *testing.T) {
	m := New()
	m.Configure(transport(t, spec))
	m.Request(&llmclient.Report{Provider: "claude", Model: "claude-sonnet-4-5", Status: 200, Failure: "none", Attempts: 1})
	m.Request(&llmclient.Report{Provider: "openai", Model: "o3", Status: 200, Failure: "none", Attempts: 1})
	m.BreakerState(policy.Target{Provider: "openai", Model: "o3"}, circuitbreaker.OpenState)

	m.Configure(transport(t, `
  providers:
    - {name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9", models: [gpt-4o-mini, gpt-4o]}
`))
	for _, name := range perProvider {
		for _, s := range seriesOf(t, m, name) {
			assert.NotEqual(t, "claude", s["provider"], "%s: the removed provider's series are gone: %v", name, s)
			assert.NotContains(t, []string{"local", "claude"}, s["provider"], name)
		}
	}
	assert.Empty(t, seriesOf(t, m, "tollgate_circuit_breaker_state"), "no breaker, no breaker state")
	assert.Empty(t, seriesOf(t, m, "tollgate_cache_requests_total"), "no cache")
	assert.Empty(t, seriesOf(t, m, "tollgate_retries_total"), "no retries")
	assert.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues("openai", "o3", "success")),
		"a kept provider keeps the series of the price table's models")

	m.Configure(nil)
	for _, name := range perProvider {
		for _, s := range seriesOf(t, m, name) {
			assert.Equal(t, UnknownProvider, s["provider"], "%s: no policy, no provider", name)
		}
	}
}

func TestConfigure_KeepsTheStateOfBreakersAReloadKeeps(t *testing.T) {
	m := New()
	const breaker = `
  providers: [{name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9"}]
  circuitBreaker: {consecutiveFailures: 1, openDuration: 1h}
`
	opts := func(prev *llmclient.Transport) llmclient.Options {
		return llmclient.Options{Upstream: failing{}, Previous: prev, Policy: policy.Options{OnBreakerStateChange: func(t policy.Target, _, to circuitbreaker.State) { m.BreakerState(t, to) }}}
	}
	send := func(tr *llmclient.Transport, model string) {
		req := httptest.NewRequest(http.MethodPost, "/openai/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[]}`))
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
	}
	first := transportWith(t, breaker, opts(nil))
	m.Configure(first)
	send(first, "gpt-4o")
	send(first, "junk-1")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.breaker.WithLabelValues("openai", "gpt-4o")), "open")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.breaker.WithLabelValues("openai", OtherModel)), "the bucket shows its open breaker")

	kept := transportWith(t, breaker+"  timeouts: {total: 5m}\n", opts(first))
	m.Configure(kept)
	assert.Equal(t, 2.0, testutil.ToFloat64(m.breaker.WithLabelValues("openai", "gpt-4o")), "a reload that keeps the breakers keeps their state")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.breaker.WithLabelValues("openai", OtherModel)))

	changed := transportWith(t, strings.Replace(breaker, "consecutiveFailures: 1", "consecutiveFailures: 2", 1), opts(kept))
	m.Configure(changed)
	assert.Zero(t, testutil.ToFloat64(m.breaker.WithLabelValues("openai", "gpt-4o")), "new breakers start closed")
	assert.Zero(t, testutil.ToFloat64(m.breaker.WithLabelValues("openai", OtherModel)))
}

func TestRequest_ACachedRungsAnswerCountsAsTheCacheRungAndCostsNothing(t *testing.T) {
	m := New()
	m.Configure(transport(t, `
  providers:
    - {name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9"}
  fallbacks:
    - cachedResponse: {}
    - {provider: openai, model: gpt-4o-mini}
    - staticResponse: {content: busy}
`))
	rung := m.fallbacks.WithLabelValues("openai", CacheRung)
	assert.Contains(t, seriesOf(t, m, "tollgate_fallbacks_total"), prometheus.Labels{"provider": "openai", "rung": CacheRung}, "the series exists from the load")
	assert.Zero(t, testutil.ToFloat64(rung))

	m.Request(&llmclient.Report{Provider: "openai", Model: "gpt-4o", Status: 200, Failure: "none", Attempts: 3, Rung: 1, Stale: true, Priced: true, End: "complete"})
	assert.Equal(t, 1.0, testutil.ToFloat64(rung))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues("openai", "gpt-4o", "success")))
	assert.Zero(t, testutil.ToFloat64(m.cost.WithLabelValues("openai", "gpt-4o")))
	assert.Zero(t, testutil.ToFloat64(m.tokens.WithLabelValues("openai", "gpt-4o", "output")))
	assert.Empty(t, seriesOf(t, m, "tollgate_cache_requests_total"), "no spec.cache: no hit or miss to count")
}
