// Package metrics holds the sidecar's Prometheus metrics.
package metrics

import (
	"strconv"
	"sync"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// maxModelsPerProvider bounds the model label values of one provider: apps
// choose model names, and an unbounded label would grow the sidecar's
// memory and the monitoring system's series without end. Later models are
// counted as "other".
const maxModelsPerProvider = 100

// Sidecar is the sidecar's metrics, on a registry of their own.
type Sidecar struct {
	Registry *prometheus.Registry

	requests  *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	retries   *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ttft      *prometheus.HistogramVec
	breaker   *prometheus.GaugeVec
	tokens    *prometheus.CounterVec
	reloads   *prometheus.CounterVec
	cost      *prometheus.CounterVec
	unpriced  *prometheus.CounterVec
	cache     *prometheus.CounterVec
	estimated *prometheus.CounterVec
	// The budget ledger's: syncs by result, the allowance held, spend
	// admitted unverified.
	ledgerSyncs *prometheus.CounterVec
	allowance   prometheus.Gauge
	unverified  prometheus.Counter

	mu     sync.Mutex // guards models
	models map[string]map[string]bool
}

// New registers the sidecar's metrics, with Go runtime and process
// metrics, on a new registry.
func New() *Sidecar {
	m := &Sidecar{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_requests_total",
			Help: "Requests the app made, by provider, model and outcome: success, client_error or server_error (the provider's answer), client_gone (the app left before the answer was complete), or the code of Tollgate's own refusal (tollgate_*).",
		}, []string{"provider", "model", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_upstream_attempts_total",
			Help: "Attempts sent to providers, retries and fallbacks included, by the provider and model the app asked for.",
		}, []string{"provider", "model"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_retries_total",
			Help: "Retries scheduled, by provider, model and the failure that caused them.",
		}, []string{"provider", "model", "reason"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_fallbacks_total",
			Help: "Requests answered by a fallback rung, by the provider asked and the rung that answered (provider/model, or static).",
		}, []string{"provider", "rung"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_request_duration_seconds",
			Help:    "Time from the request's arrival to the end of its answer.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300},
		}, []string{"provider", "model", "stream"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_time_to_first_token_seconds",
			Help:    "Time from the request's arrival to the first byte of its answer (the first token of a stream).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30},
		}, []string{"provider", "model", "stream"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_circuit_breaker_state",
			Help: "State of each circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider", "model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_tokens_total",
			Help: "Tokens used, read from answers, by provider, model and type: input (every input token), the parts of it cached_input (read from the prompt cache), cache_write and cache_write_1h (written to it for 5 minutes and one hour), and output.",
		}, []string{"provider", "model", "type"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_config_reload_total",
			Help: "Policy (re)loads, by result: success, or error (the file was refused and the last good policy kept).",
		}, []string{"result"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_cost_usd_total",
			Help: "Spend in USD: each answer's usage at the price of the model that served it (built-in list prices or spec.pricing). Cache hits and static answers cost nothing.",
		}, []string{"provider", "model"}),
		unpriced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_unpriced_tokens_total",
			Help: "Tokens used by models without a price (neither built in nor in spec.pricing), in policies without a budget: their cost is unknown. Under a budget such requests are refused (tollgate_model_unpriced). Add the model to spec.pricing.",
		}, []string{"provider", "model"}),
		estimated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_usage_estimated_total",
			Help: "Answers whose usage was unknown or incomplete and that were charged a conservative estimate instead, by provider, model and reason: no_usage (none sent), cut_short (the answer broke off), client_gone (the app left).",
		}, []string{"provider", "model", "reason"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_cache_requests_total",
			Help: "Cacheable requests by result: hit (answered from the cache) or miss. Hit rate: rate(hit) / rate(hit + miss).",
		}, []string{"provider", "result"}),
		ledgerSyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_ledger_syncs_total",
			Help: "Syncs with the operator's budget ledger, by result: success, unreachable, or the ledger's refusal code.",
		}, []string{"result"}),
		allowance: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_budget_allowance_usd",
			Help: "USD of the policy's budget this sidecar may still admit without asking the ledger.",
		}),
		unverified: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_budget_unverified_usd_total",
			Help: "USD of spend admitted without an allowance while the budget ledger could not be reached (whenLedgerUnreachable: Allow).",
		}),
		models: map[string]map[string]bool{},
	}
	m.Registry.MustRegister(m.requests, m.attempts, m.retries, m.fallbacks, m.duration, m.ttft, m.breaker, m.tokens, m.reloads, m.cost, m.unpriced, m.cache, m.estimated, m.ledgerSyncs, m.allowance, m.unverified,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Show both reload results from the start, so that alerts on errors
	// have a series to watch.
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("error")
	return m
}

// Request counts one finished request.
func (m *Sidecar) Request(r *llmclient.Report) {
	model := m.model(r.Provider, r.Model)
	m.requests.WithLabelValues(r.Provider, model, outcome(r)).Inc()
	if r.Attempts > 0 {
		m.attempts.WithLabelValues(r.Provider, model).Add(float64(r.Attempts))
	}
	stream := strconv.FormatBool(r.Stream)
	m.duration.WithLabelValues(r.Provider, model, stream).Observe(r.Latency.Seconds())
	if r.Refusal == "" {
		m.ttft.WithLabelValues(r.Provider, model, stream).Observe(r.TTFT.Seconds())
	}
	switch {
	case r.Static:
		m.fallbacks.WithLabelValues(r.Provider, "static").Inc()
	case r.Rung > 0:
		m.fallbacks.WithLabelValues(r.Provider, r.Served.Provider+"/"+m.model(r.Served.Provider, r.Served.Model)).Inc()
	}
	if u := r.Usage; u.Known {
		served := r.Served
		if served.Provider == "" {
			served = policy.Target{Provider: r.Provider, Model: r.Model}
		}
		sm := m.model(served.Provider, served.Model)
		m.tokens.WithLabelValues(served.Provider, sm, "input").Add(float64(u.InputTokens))
		m.tokens.WithLabelValues(served.Provider, sm, "cached_input").Add(float64(u.CachedInputTokens))
		m.tokens.WithLabelValues(served.Provider, sm, "cache_write").Add(float64(u.CacheWriteTokens))
		m.tokens.WithLabelValues(served.Provider, sm, "cache_write_1h").Add(float64(u.CacheWrite1hTokens))
		m.tokens.WithLabelValues(served.Provider, sm, "output").Add(float64(u.OutputTokens))
		if !r.Priced && r.Cache != llmclient.CacheHit && !r.Static {
			m.unpriced.WithLabelValues(served.Provider, sm).Add(float64(u.InputTokens + u.OutputTokens))
		}
	}
	if r.Priced && r.CostUSD.IsPositive() {
		served := r.Served
		if served.Provider == "" {
			served = policy.Target{Provider: r.Provider, Model: r.Model}
		}
		m.cost.WithLabelValues(served.Provider, m.model(served.Provider, served.Model)).Add(r.CostUSD.Float64())
	}
	if r.Estimated != "" {
		m.estimated.WithLabelValues(r.Provider, model, r.Estimated).Inc()
	}
	if r.Cache != "" {
		m.cache.WithLabelValues(r.Provider, r.Cache).Inc()
	}
}

// LedgerSync counts one sync with the budget ledger and records the
// allowance held after it.
func (m *Sidecar) LedgerSync(result string, allowance proxyconfig.USD) {
	m.ledgerSyncs.WithLabelValues(result).Inc()
	m.allowance.Set(allowance.Float64())
}

// Unverified counts spend admitted without an allowance.
func (m *Sidecar) Unverified(u proxyconfig.USD) {
	m.unverified.Add(u.Float64())
}

// Retry counts one scheduled retry.
func (m *Sidecar) Retry(t policy.Target, f policy.Failure) {
	m.retries.WithLabelValues(t.Provider, m.model(t.Provider, t.Model), f.String()).Inc()
}

// BreakerState records a breaker's new state.
func (m *Sidecar) BreakerState(t policy.Target, s circuitbreaker.State) {
	v := 0.0
	switch s {
	case circuitbreaker.HalfOpenState:
		v = 1
	case circuitbreaker.OpenState:
		v = 2
	}
	m.breaker.WithLabelValues(t.Provider, m.model(t.Provider, t.Model)).Set(v)
}

// Reload counts one policy (re)load.
func (m *Sidecar) Reload(err error) {
	if err != nil {
		m.reloads.WithLabelValues("error").Inc()
		return
	}
	m.reloads.WithLabelValues("success").Inc()
}

// model returns the label value for a model of provider.
func (m *Sidecar) model(provider, model string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := m.models[provider]
	if seen == nil {
		seen = map[string]bool{}
		m.models[provider] = seen
	}
	if seen[model] {
		return model
	}
	if len(seen) >= maxModelsPerProvider {
		return "other"
	}
	seen[model] = true
	return model
}

func outcome(r *llmclient.Report) string {
	switch {
	case r.Refusal != "":
		return r.Refusal
	case r.End == "client_gone":
		return "client_gone"
	case r.Status >= 500:
		return "server_error"
	case r.Status >= 400:
		return "client_error"
	}
	return "success"
}

// ReloadCounter returns the counter of reloads with result (success or
// error).
func (m *Sidecar) ReloadCounter(result string) prometheus.Counter {
	return m.reloads.WithLabelValues(result)
}
