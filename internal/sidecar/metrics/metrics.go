// Package metrics holds the sidecar's Prometheus metrics.
//
// Label values never come from what an app sends as they are: provider is
// a provider of the loaded policy or UnknownProvider, model one the policy
// names or the price table prices (or OtherModel), and the other labels
// take fixed sets (outcomes, failures, token types, cache results,
// estimate reasons). Configure, on every load of a policy, creates the
// series of each provider and model the policy names at zero, so that
// rates and alerts have a series before the first event, and deletes the
// series the new policy can no longer produce, such as those of a removed
// provider.
package metrics

import (
	"strconv"
	"sync"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Outcomes of a request that are not a refusal of Tollgate's.
const (
	outcomeSuccess     = "success"
	outcomeClientError = "client_error"
	outcomeServerError = "server_error"
	outcomeClientGone  = "client_gone"
	// outcomeInvalidOutput: no rung gave the structured output the
	// request asked for; the app got the last answer, marked failed.
	outcomeInvalidOutput = "invalid_output"
)

// validationResults are the values of tollgate_output_validations_total's
// result label.
var validationResults = []string{llmclient.ValidationPassed, llmclient.ValidationFailed, llmclient.ValidationSkipped}

// tokenTypes are the values of tollgate_tokens_total's type label.
var tokenTypes = []string{"input", "cached_input", "cache_write", "cache_write_1h", "output"}

// estimateReasons are the values of tollgate_usage_estimated_total's
// reason label.
var estimateReasons = []string{llmclient.EstimateNoUsage, llmclient.EstimateCutShort, llmclient.EstimateClientGone}

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
	// inForce is 1 while the newest policy input is the one in force, 0
	// while it is refused.
	inForce   prometheus.Gauge
	cost      *prometheus.CounterVec
	unpriced  *prometheus.CounterVec
	cache     *prometheus.CounterVec
	estimated *prometheus.CounterVec
	// The semantic cache's: lookups by result, the similarity each found,
	// embeddings that failed by reason.
	semanticLookups    *prometheus.CounterVec
	semanticSimilarity *prometheus.HistogramVec
	embeddingErrors    *prometheus.CounterVec
	validated          *prometheus.CounterVec
	// The budget ledger's: syncs by result, the allowance held, spend
	// admitted unverified.
	ledgerSyncs *prometheus.CounterVec
	allowance   prometheus.Gauge
	unverified  prometheus.Counter
	// failureRecords counts what became of the failure records.
	failureRecords failureRecords
	// dryRun counts what a policy in DryRun mode let through.
	dryRun *prometheus.CounterVec

	// mu guards labels and open, and orders the writes of series against
	// Configure: requests and retries count under the read lock, breaker
	// changes and Configure under the write lock, so that a series
	// Configure deleted is not written again under the labels it replaced.
	mu     sync.RWMutex
	labels *labels
	// open holds the breakers that are not closed, by target, so that the
	// gauge of a label shows the worst state of the breakers it stands for
	// (OtherModel's stands for many). Bounded by the breakers the policy
	// keeps (pkg/policy caps them per provider).
	open map[policy.Target]openBreaker
}

// openBreaker is a breaker that is not closed: its gauge value and its
// labels under the policy that was loaded when they were computed.
type openBreaker struct {
	value           float64
	provider, model string
}

// New registers the sidecar's metrics, with Go runtime and process
// metrics, on a new registry.
func New() *Sidecar {
	m := &Sidecar{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_requests_total",
			Help: "Requests the app made, by provider (of the policy, or (unknown)), model (named by the policy or priced by the price table, else (other)) and outcome: success, client_error or server_error (the provider's answer), client_gone (the app left before the answer was complete), or the code of Tollgate's own refusal (tollgate_*).",
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
			Help: "Requests answered by a fallback rung, by the provider asked and the rung that answered (provider/model, cache for the cachedResponse rung, or static).",
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
			Help: "State of each circuit breaker: 0 closed, 1 half-open, 2 open; for model (other), the worst state of the breakers of the models it stands for.",
		}, []string{"provider", "model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_tokens_total",
			Help: "Tokens used, read from answers, by provider, model and type: input (every input token), the parts of it cached_input (read from the prompt cache), cache_write and cache_write_1h (written to it for 5 minutes and one hour), and output.",
		}, []string{"provider", "model", "type"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_config_reload_total",
			Help: "Policy (re)loads, by result: success, or error (the file was refused and the last good policy kept).",
		}, []string{"result"}),
		inForce: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_config_last_reload_successful",
			Help: "1 when the newest policy the sidecar was given (the file, or the ledger's bundle) is the one it enforces; 0 while it refuses that policy and keeps its last good one. It turns 1 again when a good policy (or the one in force, restored) arrives.",
		}),
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
		validated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_output_validations_total",
			Help: "Answers checked against the structured output their request asked for (spec.validation), one per answer judged (retries and fallbacks included), by the provider and model that gave it and result: passed, failed (retried, fallen back from, or given to the app with X-Tollgate-Validation: failed), skipped (not checked; the log line says why).",
		}, []string{"provider", "model", "result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_cache_requests_total",
			Help: "Cacheable requests by result: hit (answered from the exact cache), semantic_hit (from the semantic cache) or miss. Hit rate: rate(hit) / rate(all results).",
		}, []string{"provider", "result"}),
		semanticLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_semantic_cache_lookups_total",
			Help: "Requests looked up in the semantic cache (those that missed the exact cache and end with a user message of text), by provider and result: hit, miss, or error (the embedding failed and the request went on uncached; tollgate_semantic_cache_embedding_errors_total says why).",
		}, []string{"provider", "result"}),
		semanticSimilarity: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_semantic_cache_similarity",
			Help:    "Cosine similarity of the most similar entry a semantic cache lookup found in its partition, served or not (lookups of empty partitions are not observed): where hits and near misses fall against the threshold.",
			Buckets: []float64{.5, .6, .7, .8, .85, .9, .92, .94, .95, .96, .97, .98, .99, 1},
		}, []string{"provider"}),
		embeddingErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_semantic_cache_embedding_errors_total",
			Help: "Embeddings the semantic cache could not get, so that the request went on uncached, by reason: timeout, connection_error, rate_limited, server_error, client_error, circuit_open, bad_answer, budget (exhausted or unverifiable), unpriced (under a budget), no_credentials (the embedding provider holds no key, and the request went to another provider).",
		}, []string{"reason"}),
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
		dryRun: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_dryrun_decisions_total",
			Help: "Requests a policy in DryRun mode let through that Enforce would have acted on, by policy (namespace/name) and action: model_not_allowed, model_unpriced, budget_exhausted, budget_downgrade, budget_unavailable, rate_limited, circuit_open. Each request counts once, under the first check that would have acted. The series of the actions the loaded policy can take exist from its load, at 0.",
		}, []string{"policy", "action"}),
		labels: newLabels(nil, nil),
		open:   map[policy.Target]openBreaker{},
	}
	m.Registry.MustRegister(m.requests, m.attempts, m.retries, m.fallbacks, m.duration, m.ttft, m.breaker, m.tokens, m.reloads, m.inForce, m.cost, m.unpriced, m.cache, m.estimated, m.validated, m.ledgerSyncs, m.allowance, m.unverified, m.dryRun,
		m.semanticLookups, m.semanticSimilarity, m.embeddingErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.failureRecords = newFailureRecords(m.Registry)
	// Show both reload results from the start, so that alerts on errors
	// have a series to watch.
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("error")
	return m
}

// Request counts one finished request.
func (m *Sidecar) Request(r *llmclient.Report) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l := m.labels
	provider, model := l.provider(r.Provider), l.model(r.Provider, r.Model)
	m.requests.WithLabelValues(provider, model, outcome(r)).Inc()
	if r.DryRun != "" && r.Policy == l.policy && l.dryRunSet[string(r.DryRun)] {
		m.dryRun.WithLabelValues(l.policy, string(r.DryRun)).Inc()
	}
	if r.Attempts > 0 {
		m.attempts.WithLabelValues(provider, model).Add(float64(r.Attempts))
	}
	stream := strconv.FormatBool(r.Stream)
	m.duration.WithLabelValues(provider, model, stream).Observe(r.Latency.Seconds())
	if r.Refusal == "" {
		m.ttft.WithLabelValues(provider, model, stream).Observe(r.TTFT.Seconds())
	}
	switch {
	case r.Static:
		m.fallbacks.WithLabelValues(provider, StaticRung).Inc()
	case r.Stale:
		m.fallbacks.WithLabelValues(provider, CacheRung).Inc()
	case r.Rung > 0:
		m.fallbacks.WithLabelValues(provider, l.rung(r.Served)).Inc()
	}
	if r.Estimated != "" {
		m.estimated.WithLabelValues(provider, model, r.Estimated).Inc()
	}
	if r.Cache != "" && l.cache {
		m.cache.WithLabelValues(provider, r.Cache).Inc()
	}
	if r.Semantic != nil && l.semantic {
		m.semantic(l, provider, r.Semantic)
	}
	if l.validates {
		for _, c := range r.Checks {
			m.validated.WithLabelValues(l.provider(c.Target.Provider), l.model(c.Target.Provider, c.Target.Model), c.Result).Inc()
		}
		if len(r.Checks) == 0 && r.Validation == llmclient.ValidationSkipped {
			m.validated.WithLabelValues(provider, model, llmclient.ValidationSkipped).Inc()
		}
	}
	for _, d := range r.Discarded {
		// Paid for, not given to the app: spend of the model that gave it.
		dp, dm := l.provider(d.Served.Provider), l.model(d.Served.Provider, d.Served.Model)
		m.countUsage(dp, dm, d.Usage, d.Priced, d.CostUSD, false)
		if d.Estimated != "" {
			m.estimated.WithLabelValues(provider, model, d.Estimated).Inc()
		}
	}
	if !r.Usage.Known && !(r.Priced && r.CostUSD.IsPositive()) {
		return
	}
	// Usage and cost are the model's that served the answer.
	sp, sm := provider, model
	if s := r.Served; s.Provider != "" {
		sp, sm = l.provider(s.Provider), l.model(s.Provider, s.Model)
	}
	m.countUsage(sp, sm, r.Usage, r.Priced, r.CostUSD, r.Cache == llmclient.CacheHit || r.Static)
}

// countUsage counts an answer's tokens and cost under provider and model;
// free answers (cache hits, static) are never unpriced.
func (m *Sidecar) countUsage(provider, model string, u provider.Usage, priced bool, cost proxyconfig.USD, free bool) {
	if u.Known {
		m.tokens.WithLabelValues(provider, model, tokenTypes[0]).Add(float64(u.InputTokens))
		m.tokens.WithLabelValues(provider, model, tokenTypes[1]).Add(float64(u.CachedInputTokens))
		m.tokens.WithLabelValues(provider, model, tokenTypes[2]).Add(float64(u.CacheWriteTokens))
		m.tokens.WithLabelValues(provider, model, tokenTypes[3]).Add(float64(u.CacheWrite1hTokens))
		m.tokens.WithLabelValues(provider, model, tokenTypes[4]).Add(float64(u.OutputTokens))
		if !priced && !free {
			m.unpriced.WithLabelValues(provider, model).Add(float64(u.InputTokens + u.OutputTokens))
		}
	}
	if priced && cost.IsPositive() {
		m.cost.WithLabelValues(provider, model).Add(cost.Float64())
	}
}

// semantic counts a semantic cache lookup of a request to provider (a
// label value), and the usage and cost of its embedding under the
// embedding's provider and model.
func (m *Sidecar) semantic(l *labels, provider string, s *llmclient.SemanticReport) {
	m.semanticLookups.WithLabelValues(provider, s.Result).Inc()
	if s.Similarity != 0 {
		m.semanticSimilarity.WithLabelValues(provider).Observe(s.Similarity)
	}
	if s.EmbeddingError != "" {
		m.embeddingErrors.WithLabelValues(s.EmbeddingError).Inc()
	}
	ep, em := l.provider(s.Provider), l.model(s.Provider, s.Model)
	m.countUsage(ep, em, s.Usage, s.Priced, s.CostUSD, false)
	if s.Estimated != "" {
		m.estimated.WithLabelValues(ep, em, s.Estimated).Inc()
	}
}

// ModelLabel is the value the metrics count model, asked of the provider
// named provider, under with the loaded policy: the model itself when the
// policy names it or the price table prices it, the table's name for a
// dated snapshot, else OtherModel; "" for no model. The OpenTelemetry
// metrics use it, so that their attributes are bounded as these labels
// are.
func (m *Sidecar) ModelLabel(provider, model string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.labels.model(provider, model)
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
	m.mu.RLock()
	defer m.mu.RUnlock()
	l := m.labels
	if !l.retried[f.String()] {
		return // a retry of a request under a policy no longer loaded
	}
	m.retries.WithLabelValues(l.provider(t.Provider), l.model(t.Provider, t.Model), f.String()).Inc()
}

// BreakerState records a breaker's new state.
func (m *Sidecar) BreakerState(t policy.Target, s circuitbreaker.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.labels
	b := openBreaker{value: breakerValue(s), provider: l.provider(t.Provider), model: l.model(t.Provider, t.Model)}
	if b.value == 0 {
		delete(m.open, t)
	} else {
		m.open[t] = b
	}
	if !l.breakers || b.provider == UnknownProvider {
		return // a breaker of a policy no longer loaded
	}
	worst := 0.0
	for _, o := range m.open {
		if o.provider == b.provider && o.model == b.model {
			worst = max(worst, o.value)
		}
	}
	m.breaker.WithLabelValues(b.provider, b.model).Set(worst)
}

func breakerValue(s circuitbreaker.State) float64 {
	switch s {
	case circuitbreaker.HalfOpenState:
		return 1
	case circuitbreaker.OpenState:
		return 2
	}
	return 0
}

// Reload counts one policy (re)load, and says whether the policy it read
// is now in force.
func (m *Sidecar) Reload(err error) {
	if err != nil {
		m.reloads.WithLabelValues("error").Inc()
		m.inForce.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.inForce.Set(1)
}

// PolicyInForce says that the newest policy input is the one in force,
// unchanged, so no reload was needed: a refused edit was undone.
func (m *Sidecar) PolicyInForce() { m.inForce.Set(1) }

// outcome is r's outcome label value. Refusal codes are llmclient's
// constants, a fixed set.
func outcome(r *llmclient.Report) string {
	switch {
	case r.Refusal != "":
		return r.Refusal
	case r.End == "client_gone":
		return outcomeClientGone
	case r.Validation == llmclient.ValidationFailed:
		return outcomeInvalidOutput
	case r.Status >= 500:
		return outcomeServerError
	case r.Status >= 400:
		return outcomeClientError
	}
	return outcomeSuccess
}

// ReloadCounter returns the counter of reloads with result (success or
// error).
func (m *Sidecar) ReloadCounter(result string) prometheus.Counter {
	return m.reloads.WithLabelValues(result)
}
