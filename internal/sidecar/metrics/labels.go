package metrics

import (
	"slices"
	"strings"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/pricing"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Label values that stand for what the loaded policy does not name. Apps
// choose paths and model names, and a label taking whatever they send
// would grow the sidecar's memory and the monitoring system's series
// without bound; these buckets take it instead. Neither collides with a
// real value: provider names are DNS labels (lower-case letters, digits
// and '-'), and no provider names a model with parentheses (a policy that
// declares a model literally named "(other)" shares the bucket's series).
const (
	// UnknownProvider is the provider of requests whose path does not
	// start with a provider of the policy (tollgate_unknown_provider), and
	// of requests still in flight when a reload removed their provider.
	UnknownProvider = "(unknown)"
	// OtherModel is the model of requests for a model that neither the
	// policy names for the provider nor the price table prices.
	OtherModel = "(other)"
	// StaticRung is the rung of answers from the static response.
	StaticRung = "static"
	// CacheRung is the rung of answers from the cachedResponse rung: the
	// last good answer to the same request, from memory.
	CacheRung = "cache"
)

// labels are the label values one loaded policy allows. They are built
// once per load and never changed.
type labels struct {
	// providers holds the policy's providers, by name; order is their
	// order in the policy.
	providers map[string]*providerLabels
	order     []string
	// fallbacks are the policy's fallback rungs.
	fallbacks []proxyconfig.Fallback
	// breakers, cache, semantic, validates: the policy has a circuit
	// breaker, a cache, a semantic cache, validation.
	breakers, cache, semantic, validates bool
	// retryReasons are the failures retries are scheduled for; retried
	// holds them too.
	retryReasons []string
	retried      map[string]bool
	// policy is the policy's namespace/name, the policy label's one value;
	// dryRun holds the actions it counts while in DryRun mode, in order,
	// and dryRunSet the same as a set (both empty under Enforce).
	policy    string
	dryRun    []string
	dryRunSet map[string]bool
}

// providerLabels are the model values of one provider.
type providerLabels struct {
	typ    proxyconfig.ProviderType
	prices *pricing.Table
	// named are the models the policy names for the provider, in the
	// order it names them: its allow-list, the models of fallback rungs,
	// of the budget's downgrade to it and of the semantic cache's
	// embedding on it, and, when it has no allow-list,
	// the models of spec.pricing. Their series exist from the load on.
	named []string
	// own are named and every name of the price table for the provider's
	// type: a request's model that is one of them is its own label value.
	own map[string]bool
}

// newLabels returns the label values of p and its compiled set; both nil
// when no policy applies, which allows only the buckets.
func newLabels(p *proxyconfig.Policy, set *policy.Set) *labels {
	l := &labels{providers: map[string]*providerLabels{}, retried: map[string]bool{}, dryRunSet: map[string]bool{}}
	if p == nil {
		return l
	}
	l.policy = p.Ref()
	if p.DryRun() {
		for _, a := range p.DryRunActionsOf() {
			l.dryRun = append(l.dryRun, string(a))
			l.dryRunSet[string(a)] = true
		}
	}
	// The pricing was validated when the Transport was built.
	prices, err := pricing.Builtin().WithOverrides(p.Pricing)
	if err != nil {
		prices = pricing.Builtin()
	}
	for _, pc := range p.Providers {
		named := slices.Clone(pc.Models)
		for _, f := range p.Fallbacks {
			if f.Provider == pc.Name && f.Model != "" {
				named = append(named, f.Model)
			}
		}
		if b := p.Budget; b != nil && b.DowngradeTo != nil && b.DowngradeTo.Provider == pc.Name {
			named = append(named, b.DowngradeTo.Model)
		}
		if c := p.Cache; c != nil && c.Semantic != nil && c.Semantic.Embedding.Provider == pc.Name {
			named = append(named, c.Semantic.Embedding.Model)
		}
		if len(pc.Models) == 0 {
			for _, mp := range p.Pricing {
				named = append(named, mp.Model)
			}
		}
		named = unique(named)
		own := map[string]bool{}
		for _, m := range named {
			own[m] = true
		}
		for _, m := range prices.Models(pc.Type) {
			own[m] = true
		}
		l.providers[pc.Name] = &providerLabels{typ: pc.Type, prices: prices, named: named, own: own}
		l.order = append(l.order, pc.Name)
	}
	l.fallbacks = p.Fallbacks
	l.breakers = p.CircuitBreaker != nil
	l.cache = p.Cache != nil
	l.semantic = p.Cache != nil && p.Cache.Semantic != nil
	l.validates = p.Validation != nil
	if set != nil {
		for _, f := range set.RetryOn() {
			l.retryReasons = append(l.retryReasons, f.String())
			l.retried[f.String()] = true
		}
	}
	return l
}

// provider is the label value of the provider named name.
func (l *labels) provider(name string) string {
	if _, ok := l.providers[name]; ok {
		return name
	}
	return UnknownProvider
}

// model is the label value of model asked of the provider named
// provider: the model itself when the policy names it or the price table
// has it; else the price table's entry that prices it (a dated snapshot
// is counted under its model: gpt-4o-2024-08-06 as gpt-4o); else
// OtherModel. Empty, for a request that names no model, stays empty.
func (l *labels) model(provider, model string) string {
	if model == "" {
		return ""
	}
	p := l.providers[provider]
	if p == nil {
		return OtherModel
	}
	if p.own[model] {
		return model
	}
	if name, ok := p.prices.Entry(p.typ, model); ok {
		return name
	}
	return OtherModel
}

// rung is the label value of the fallback rung that served t.
func (l *labels) rung(t policy.Target) string {
	return l.provider(t.Provider) + "/" + l.model(t.Provider, t.Model)
}

// initialModels are the model values whose series exist from the load
// on: the models the policy names for provider, and OtherModel.
func (l *labels) initialModels(provider string) []string {
	return append(slices.Clone(l.providers[provider].named), OtherModel)
}

// initialRungs are the rungs whose series exist for provider from the
// load on: each rung of the chain, with the models the policy names for
// provider when the rung keeps the request's model.
func (l *labels) initialRungs(provider string) []string {
	var rungs []string
	for _, f := range l.fallbacks {
		switch {
		case f.StaticResponse != "":
			rungs = append(rungs, StaticRung)
		case f.CachedResponse != nil:
			rungs = append(rungs, CacheRung)
		case f.Model != "":
			rungs = append(rungs, l.rung(policy.Target{Provider: f.Provider, Model: f.Model}))
		default:
			for _, m := range l.initialModels(provider) {
				rungs = append(rungs, l.rung(policy.Target{Provider: f.Provider, Model: m}))
			}
		}
	}
	return unique(rungs)
}

// validModel tells whether a series labelled provider and model may still
// be written: what model returns for some model of that provider.
func (l *labels) validModel(provider, model string) bool {
	if model == "" || model == OtherModel {
		return true
	}
	p := l.providers[provider]
	return p != nil && p.own[model]
}

// validProvider tells whether a series labelled provider may still be
// written.
func (l *labels) validProvider(provider string) bool {
	_, ok := l.providers[provider]
	return ok || provider == UnknownProvider
}

// validRung tells whether a series labelled rung may still be written.
func (l *labels) validRung(rung string) bool {
	if rung == StaticRung || rung == CacheRung {
		return true
	}
	provider, model, ok := strings.Cut(rung, "/") // provider names hold no '/'
	return ok && l.validProvider(provider) && l.validModel(provider, model)
}

// outcomes are the outcome values of a provider of the policy: the
// provider's answers and every refusal but two that never carry a
// provider of the policy (tollgate_unknown_provider) or never reach the
// metrics (tollgate_no_policy, answered without a policy).
func outcomes(validates bool) []string {
	out := []string{outcomeSuccess, outcomeClientError, outcomeServerError, outcomeClientGone}
	if validates {
		out = append(out, outcomeInvalidOutput)
	}
	for _, code := range llmclient.RefusalCodes() {
		if code != llmclient.CodeUnknownProvider && code != llmclient.CodeNoPolicy {
			out = append(out, code)
		}
	}
	return out
}

// unique drops the repeats of values, keeping the first of each.
func unique(values []string) []string {
	seen := make(map[string]bool, len(values))
	out := values[:0]
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
