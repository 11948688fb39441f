package sidecare2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/promtext"
)

// perProviderMetrics are the sidecar's metrics with a provider label.
var perProviderMetrics = []string{
	"tollgate_requests_total", "tollgate_upstream_attempts_total", "tollgate_retries_total", "tollgate_fallbacks_total",
	"tollgate_request_duration_seconds", "tollgate_time_to_first_token_seconds", "tollgate_circuit_breaker_state",
	"tollgate_tokens_total", "tollgate_cost_usd_total", "tollgate_unpriced_tokens_total", "tollgate_cache_requests_total",
	"tollgate_usage_estimated_total",
}

// allSeries returns every series of the per-provider metrics on /metrics,
// each with its metric's name under "__name__".
func (s *sidecar) allSeries() []map[string]string {
	s.t.Helper()
	exposition := s.get("/metrics")
	var out []map[string]string
	for _, name := range perProviderMetrics {
		series, err := promtext.Series(exposition, name)
		require.NoError(s.t, err)
		for _, labels := range series {
			labels["__name__"] = name
			out = append(out, labels)
		}
	}
	return out
}

// TestMetrics_WhatAppsSendNeverBecomesALabel sends requests, as raw HTTP,
// whose first path segment and model are new every time: the number of
// series stops growing, and no label value is one the app made up.
func TestMetrics_WhatAppsSendNeverBecomesALabel(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, `  retry: {maxAttempts: 2, backoff: {initial: 10ms, max: 10ms}}
  circuitBreaker: {consecutiveFailures: 50, openDuration: 1s}
  fallbacks: [{provider: claude}]
`)
	sent := 0
	burst := func(n int) {
		for range n {
			segment, model := fmt.Sprintf("seg%x", rand.Uint64()), fmt.Sprintf("model-%x", rand.Uint64())
			for _, target := range []string{"/" + segment + "/v1/chat/completions", "/openai/v1/chat/completions", "/claude/v1/messages"} {
				body := chatBody(model)
				if strings.HasPrefix(target, "/claude") {
					body = fmt.Sprintf(`{"model":%q,"max_tokens":16,"messages":[{"role":"user","content":"Say hello"}]}`, model)
				}
				resp := sc.send(rawPost(target, body))
				_, _ = io.Copy(io.Discard, resp.Body)
				sent++
			}
		}
		sc.awaitMetric(float64(sent), "tollgate_requests_total")
	}

	burst(20)
	first := len(sc.allSeries())
	burst(100)
	all := sc.allSeries()
	assert.Equal(t, first, len(all), "300 more requests with new paths and models add no series")
	for _, labels := range all {
		for k, v := range labels {
			assert.NotContains(t, v, "seg", "%s{%s}: a path segment became a label value: %v", labels["__name__"], k, labels)
			assert.NotContains(t, v, "model-", "%s{%s}: a model name became a label value: %v", labels["__name__"], k, labels)
		}
	}
	assert.Equal(t, 120.0, sc.metric("tollgate_requests_total", "provider", "(unknown)", "outcome", "tollgate_unknown_provider"))
	assert.Equal(t, 120.0, sc.metric("tollgate_requests_total", "provider", "openai", "model", "(other)"))
	assert.Equal(t, 120.0, sc.metric("tollgate_requests_total", "provider", "claude", "model", "(other)"))
}

// TestMetrics_SeriesExistFromTheLoadAndGoWithTheirProvider reads /metrics
// before any request: the series dashboards and alerts use are there at
// zero; a reload that removes a provider removes its series.
func TestMetrics_SeriesExistFromTheLoadAndGoWithTheirProvider(t *testing.T) {
	mock := startMock(t)
	const spec = `  retry: {maxAttempts: 2, backoff: {initial: 10ms, max: 10ms}}
  circuitBreaker: {consecutiveFailures: 5, openDuration: 1s}
  cache: {enabled: true}
`
	sc := startWithSpec(t, mock, `    - {name: backup, type: OpenAI, baseURL: MOCK, models: [gpt-4o-mini]}
`+spec+`  fallbacks: [{provider: backup, model: gpt-4o-mini}]
`)
	exposition := sc.get("/metrics")
	for _, want := range []struct {
		name   string
		labels []string
	}{
		{"tollgate_requests_total", []string{"provider", "openai", "model", "(other)", "outcome", "success"}},
		{"tollgate_requests_total", []string{"provider", "backup", "model", "gpt-4o-mini", "outcome", "server_error"}},
		{"tollgate_requests_total", []string{"provider", "claude", "model", "(other)", "outcome", "tollgate_circuit_open"}},
		{"tollgate_requests_total", []string{"provider", "(unknown)", "outcome", "tollgate_unknown_provider"}},
		{"tollgate_upstream_attempts_total", []string{"provider", "backup", "model", "gpt-4o-mini"}},
		{"tollgate_retries_total", []string{"provider", "backup", "model", "gpt-4o-mini", "reason", "server_error"}},
		{"tollgate_fallbacks_total", []string{"provider", "openai", "rung", "backup/gpt-4o-mini"}},
		{"tollgate_circuit_breaker_state", []string{"provider", "backup", "model", "gpt-4o-mini"}},
		{"tollgate_cache_requests_total", []string{"provider", "claude", "result", "hit"}},
		{"tollgate_cache_requests_total", []string{"provider", "claude", "result", "miss"}},
		{"tollgate_tokens_total", []string{"provider", "backup", "model", "gpt-4o-mini", "type", "output"}},
		{"tollgate_cost_usd_total", []string{"provider", "openai", "model", "(other)"}},
	} {
		series, err := promtext.Series(exposition, want.name, want.labels...)
		require.NoError(t, err)
		if assert.Len(t, series, 1, "%s%v before any request", want.name, want.labels) {
			v, err := promtext.Sum(exposition, want.name, want.labels...)
			require.NoError(t, err)
			assert.Zero(t, v, "%s%v", want.name, want.labels)
		}
	}

	sc.writePolicy(withMock(`
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK}
    - {name: claude, type: Anthropic, baseURL: MOCK}
`+spec, mock))
	require.Eventually(t, func() bool {
		v, ok := sc.metricOK("tollgate_config_reload_total", "result", "success")
		return ok && v == 2
	}, 5*time.Second, 20*time.Millisecond, "the edit was not loaded")
	for _, labels := range sc.allSeries() {
		assert.NotEqual(t, "backup", labels["provider"], "a series of the removed provider: %v", labels)
		assert.NotContains(t, labels["rung"], "backup", "a series of the removed rung: %v", labels)
	}
	kept, err := promtext.Series(sc.get("/metrics"), "tollgate_requests_total", "provider", "claude", "model", "(other)", "outcome", "success")
	require.NoError(t, err)
	assert.Len(t, kept, 1, "the kept providers keep their series")
	resp := sc.send(rawPost("/backup/v1/chat/completions", chatBody("gpt-4o-mini")))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	sc.awaitMetric(1, "tollgate_requests_total", "provider", "(unknown)")
}
