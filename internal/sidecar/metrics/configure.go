package metrics

import (
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Configure takes in the policy t enforces (nil when no policy applies),
// before t serves its first request: from now on labels name its
// providers and models; every series of the providers and models it names
// exists, at zero (a breaker closed, unless it is open already); and the
// series it can no longer produce are gone, such as a removed provider's.
// A request still in flight under the policy t replaces is counted under
// the new labels: under UnknownProvider if t has no provider of its name.
func (m *Sidecar) Configure(t *llmclient.Transport) {
	var p *proxyconfig.Policy
	var set *policy.Set
	if t != nil {
		p, set = t.Policy(), t.Policies()
	}
	l := newLabels(p, set)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = l
	m.dropStale(l)
	m.initialise(l, p != nil)
	m.refreshBreakers(l, set)
}

// initialise creates the series of l's providers and models.
func (m *Sidecar) initialise(l *labels, loaded bool) {
	outs := outcomes(l.validates)
	for _, provider := range l.order {
		for _, model := range l.initialModels(provider) {
			for _, o := range outs {
				m.requests.WithLabelValues(provider, model, o)
			}
			m.attempts.WithLabelValues(provider, model)
			for _, reason := range l.retryReasons {
				m.retries.WithLabelValues(provider, model, reason)
			}
			if l.breakers {
				m.breaker.WithLabelValues(provider, model) // refreshBreakers sets it
			}
			for _, typ := range tokenTypes {
				m.tokens.WithLabelValues(provider, model, typ)
			}
			m.cost.WithLabelValues(provider, model)
			m.unpriced.WithLabelValues(provider, model)
			for _, reason := range estimateReasons {
				m.estimated.WithLabelValues(provider, model, reason)
			}
			if l.validates {
				for _, result := range validationResults {
					m.validated.WithLabelValues(provider, model, result)
				}
			}
		}
		for _, rung := range l.initialRungs(provider) {
			m.fallbacks.WithLabelValues(provider, rung)
		}
		if l.cache {
			m.cache.WithLabelValues(provider, llmclient.CacheHit)
			m.cache.WithLabelValues(provider, llmclient.CacheMiss)
		}
		if l.semantic {
			m.cache.WithLabelValues(provider, llmclient.CacheSemanticHit)
			for _, result := range []string{llmclient.SemanticHit, llmclient.SemanticMiss, llmclient.SemanticError} {
				m.semanticLookups.WithLabelValues(provider, result)
			}
		}
	}
	if l.semantic {
		for _, reason := range llmclient.EmbeddingErrors() {
			m.embeddingErrors.WithLabelValues(reason)
		}
	}
	for _, a := range l.dryRun {
		m.dryRun.WithLabelValues(l.policy, a)
	}
	if loaded {
		// What an app with a wrong base URL gets.
		m.requests.WithLabelValues(UnknownProvider, "", llmclient.CodeUnknownProvider)
	}
}

// dropStale deletes the series l does not allow.
func (m *Sidecar) dropStale(l *labels) {
	byModel := func(s prometheus.Labels) bool {
		return l.validProvider(s["provider"]) && l.validModel(s["provider"], s["model"])
	}
	for _, v := range []vec{m.requests, m.attempts, m.duration, m.ttft, m.tokens, m.cost, m.unpriced, m.estimated} {
		deleteUnless(v, byModel)
	}
	deleteUnless(m.requests, func(s prometheus.Labels) bool { return l.validates || s["outcome"] != outcomeInvalidOutput })
	deleteUnless(m.validated, func(s prometheus.Labels) bool { return l.validates && byModel(s) })
	deleteUnless(m.retries, func(s prometheus.Labels) bool { return l.retried[s["reason"]] && byModel(s) })
	deleteUnless(m.breaker, func(s prometheus.Labels) bool {
		_, declared := l.providers[s["provider"]]
		return l.breakers && declared && l.validModel(s["provider"], s["model"])
	})
	deleteUnless(m.fallbacks, func(s prometheus.Labels) bool {
		return l.validProvider(s["provider"]) && l.validRung(s["rung"])
	})
	deleteUnless(m.cache, func(s prometheus.Labels) bool {
		return l.cache && l.validProvider(s["provider"]) && (l.semantic || s["result"] != llmclient.CacheSemanticHit)
	})
	for _, v := range []vec{m.semanticLookups, m.semanticSimilarity} {
		deleteUnless(v, func(s prometheus.Labels) bool { return l.semantic && l.validProvider(s["provider"]) })
	}
	deleteUnless(m.embeddingErrors, func(prometheus.Labels) bool { return l.semantic })
	deleteUnless(m.dryRun, func(s prometheus.Labels) bool { return s["policy"] == l.policy && l.dryRunSet[s["action"]] })
}

// refreshBreakers sets every breaker gauge from the states of the
// breakers set holds: a reload that keeps the breakers' settings keeps
// their state, one that changes them starts them closed.
func (m *Sidecar) refreshBreakers(l *labels, set *policy.Set) {
	worst := map[[2]string]float64{}
	for t := range m.open {
		s := circuitbreaker.ClosedState
		if set != nil {
			s = set.BreakerState(t)
		}
		b := openBreaker{value: breakerValue(s), provider: l.provider(t.Provider), model: l.model(t.Provider, t.Model)}
		if b.value == 0 || !l.breakers || b.provider == UnknownProvider {
			delete(m.open, t)
			continue
		}
		m.open[t] = b
		k := [2]string{b.provider, b.model}
		worst[k] = max(worst[k], b.value)
	}
	for _, s := range series(m.breaker) {
		k := [2]string{s["provider"], s["model"]}
		m.breaker.With(s).Set(worst[k])
		delete(worst, k)
	}
	for k, v := range worst {
		m.breaker.WithLabelValues(k[0], k[1]).Set(v)
	}
}

// vec is a metric vector: a collector of series that can be deleted.
type vec interface {
	prometheus.Collector
	Delete(prometheus.Labels) bool
}

// deleteUnless deletes the series of v for which keep is false.
func deleteUnless(v vec, keep func(prometheus.Labels) bool) {
	for _, s := range series(v) {
		if !keep(s) {
			v.Delete(s)
		}
	}
}

// series returns the labels of every series c collects.
func series(c prometheus.Collector) []prometheus.Labels {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var out []prometheus.Labels
	for metric := range ch {
		var d dto.Metric
		if metric.Write(&d) != nil {
			continue
		}
		s := make(prometheus.Labels, len(d.GetLabel()))
		for _, lp := range d.GetLabel() {
			s[lp.GetName()] = lp.GetValue()
		}
		out = append(out, s)
	}
	return out
}
