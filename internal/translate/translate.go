// Package translate turns LLMPolicy objects into the sidecar's policies
// (pkg/proxyconfig). It is a pure function of its input, used by both
// binaries: the operator's reconciler and webhook decide a namespace's
// bundle with Bundle, the standalone sidecar reads its policy file with
// File, and golden files pin the output.
package translate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// DefaultBaseURLs are the base URLs of providers whose type has one public
// endpoint; AzureOpenAI and OpenAICompatible providers must set baseURL.
var DefaultBaseURLs = map[v1alpha1.ProviderType]string{
	v1alpha1.ProviderOpenAI:    "https://api.openai.com",
	v1alpha1.ProviderAnthropic: "https://api.anthropic.com",
	v1alpha1.ProviderGemini:    "https://generativelanguage.googleapis.com",
}

// Policy translates one LLMPolicy whose defaults are filled in (by the API
// server, or by validation.Default). It does not validate beyond what it
// must parse: durations, and USD amounts, which it parses into the
// contract's money type. Its errors are field errors with the API's paths
// and messages.
func Policy(in *v1alpha1.LLMPolicy) (proxyconfig.Policy, error) {
	out, errs := policy(in)
	if len(errs) > 0 {
		return proxyconfig.Policy{}, fmt.Errorf("LLMPolicy %s: %w", out.Ref(), errs.ToAggregate())
	}
	return out, nil
}

// policy is Policy, with the errors of every field that did not parse.
func policy(in *v1alpha1.LLMPolicy) (proxyconfig.Policy, field.ErrorList) {
	s := &in.Spec
	out := proxyconfig.Policy{
		Name:       in.Name,
		Namespace:  in.Namespace,
		Generation: in.Generation,
		Selector:   Selector(s.PodSelector),
	}
	// Enforce is the contract's empty mode: bundles of enforcing policies
	// read as they did before modes existed.
	if s.Mode == v1alpha1.ModeDryRun {
		out.Mode = proxyconfig.ModeDryRun
	}
	d := &parser{}

	for _, p := range s.Providers {
		pc := proxyconfig.Provider{
			Name:    p.Name,
			Type:    proxyconfig.ProviderType(p.Type),
			BaseURL: p.BaseURL,
			Models:  append([]string(nil), p.Models...),
		}
		if pc.BaseURL == "" {
			pc.BaseURL = DefaultBaseURLs[p.Type]
		}
		if ref := p.CredentialsSecretRef; ref != nil {
			pc.Credentials = &proxyconfig.SecretRef{Name: ref.Name, Key: ref.Key}
		}
		out.Providers = append(out.Providers, pc)
	}

	if t := s.Timeouts; t != nil {
		out.Timeouts = proxyconfig.Timeouts{
			Connect:    d.parse("timeouts.connect", t.Connect),
			FirstToken: d.parse("timeouts.firstToken", t.FirstToken),
			Total:      d.parse("timeouts.total", t.Total),
		}
	}

	if r := s.Retry; r != nil {
		rc := &proxyconfig.Retry{
			MaxAttempts:     int(r.MaxAttempts),
			HonorRetryAfter: r.HonorRetryAfter == nil || *r.HonorRetryAfter,
			MaxRetryAfter:   d.parse("retry.maxRetryAfter", r.MaxRetryAfter),
			BudgetPercent:   int(r.BudgetPercent),
		}
		if b := r.Backoff; b != nil {
			rc.BackoffInitial = d.parse("retry.backoff.initial", b.Initial)
			rc.BackoffMax = d.parse("retry.backoff.max", b.Max)
			rc.Jitter = proxyconfig.Jitter(b.Jitter)
		}
		for _, c := range r.RetryOn {
			rc.RetryOn = append(rc.RetryOn, proxyconfig.RetryCondition(c))
		}
		out.Retry = rc
	}

	if cb := s.CircuitBreaker; cb != nil {
		cc := &proxyconfig.CircuitBreaker{
			OpenDuration:     d.parse("circuitBreaker.openDuration", cb.OpenDuration),
			HalfOpenRequests: int(cb.HalfOpenRequests),
		}
		if cb.FailureRateThreshold != nil {
			cc.FailureRateThreshold = int(*cb.FailureRateThreshold)
			cc.MinimumRequests = int(cb.MinimumRequests)
			cc.Window = d.parse("circuitBreaker.window", cb.Window)
		}
		if cb.ConsecutiveFailures != nil {
			cc.ConsecutiveFailures = int(*cb.ConsecutiveFailures)
		}
		out.CircuitBreaker = cc
	}

	if rl := s.RateLimit; rl != nil {
		rc := &proxyconfig.RateLimit{MaxWait: d.parse("rateLimit.maxWait", rl.MaxWait)}
		if rl.RequestsPerMinute != nil {
			rc.RequestsPerMinute = int64(*rl.RequestsPerMinute)
		}
		if rl.TokensPerMinute != nil {
			rc.TokensPerMinute = *rl.TokensPerMinute
		}
		if rl.MaxConcurrent != nil {
			rc.MaxConcurrent = int(*rl.MaxConcurrent)
		}
		out.RateLimit = rc
	}

	if b := s.Budget; b != nil {
		bc := &proxyconfig.Budget{
			Period:           proxyconfig.BudgetPeriod(b.Period),
			Limit:            d.limit("budget.limit", b.Limit),
			SoftLimitPercent: int(b.SoftLimitPercent),
			OnExhausted:      proxyconfig.ExhaustedAction(b.OnExhausted),

			WhenLedgerUnreachable: proxyconfig.LedgerUnreachableAction(b.WhenLedgerUnreachable),
		}
		if b.DowngradeTo != nil {
			bc.DowngradeTo = &proxyconfig.ModelRef{Provider: b.DowngradeTo.Provider, Model: b.DowngradeTo.Model}
		}
		out.Budget = bc
	}

	for i, f := range s.Fallbacks {
		fc := proxyconfig.Fallback{Provider: f.Provider, Model: f.Model}
		if f.StaticResponse != nil {
			fc.StaticResponse = f.StaticResponse.Content
		}
		if c := f.CachedResponse; c != nil {
			fc.CachedResponse = &proxyconfig.CachedResponse{
				MaxStale:   d.parse(fmt.Sprintf("fallbacks[%d].cachedResponse.maxStale", i), c.MaxStale),
				MaxEntries: int(c.MaxEntries),
			}
		}
		out.Fallbacks = append(out.Fallbacks, fc)
	}

	// A disabled cache is no cache: the sidecar knows only caches in use.
	if c := s.Cache; c != nil && (c.Enabled == nil || *c.Enabled) {
		out.Cache = &proxyconfig.Cache{
			TTL:               d.parse("cache.ttl", c.TTL),
			MaxEntries:        int(c.MaxEntries),
			OnlyDeterministic: c.OnlyDeterministic == nil || *c.OnlyDeterministic,
			Semantic:          d.semantic(c.Semantic),
		}
	}

	if f := s.FailureRecords; f != nil {
		out.FailureRecords = &proxyconfig.FailureRecords{
			IncludeRequestBody: f.IncludeRequestBody != nil && *f.IncludeRequestBody,
			MaxBodyBytes:       int(f.MaxBodyBytes),
		}
	}

	// Disabled validation is no validation, as for the cache.
	if v := s.Validation; v != nil && (v.Enabled == nil || *v.Enabled) {
		out.Validation = &proxyconfig.Validation{BufferStreams: v.Streams == v1alpha1.StreamBuffer}
	}

	for i, p := range s.Pricing {
		path := fmt.Sprintf("pricing[%d].", i)
		mp := proxyconfig.ModelPrice{
			Model:            p.Model,
			InputPerMillion:  d.price(path+"inputPerMillion", p.InputPerMillion),
			OutputPerMillion: d.price(path+"outputPerMillion", p.OutputPerMillion),
		}
		mp.CachedInputPerMillion = d.optionalPrice(path+"cachedInputPerMillion", p.CachedInputPerMillion)
		mp.CacheWritePerMillion = d.optionalPrice(path+"cacheWritePerMillion", p.CacheWritePerMillion)
		mp.CacheWrite1hPerMillion = d.optionalPrice(path+"cacheWrite1hPerMillion", p.CacheWrite1hPerMillion)
		if p.MaxOutputTokens != nil {
			mp.MaxOutputTokens = *p.MaxOutputTokens
		}
		out.Pricing = append(out.Pricing, mp)
	}

	return out, d.errs
}

// File reads a policy the way the API server and the operator would, for a
// policy that did not come through them (the standalone sidecar's policy
// file): it validates, translates, and checks the result against the
// contract. Its errors are the API server's, with field paths. p must
// carry its defaults: read a file with validation.Decode, which applies
// them as the API server does (or call validation.Default on a policy
// built in Go).
func File(p *v1alpha1.LLMPolicy) (proxyconfig.Policy, error) {
	errs := validation.Validate(p)
	if p.Name == "" {
		// The API server requires a name of every object; a file may forget it.
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "name the policy: the name is shown in logs and in x-tollgate-policy"))
	}
	out, perrs := policy(p)
	for _, e := range perrs {
		// A field validation already reported is not reported twice.
		if !slices.ContainsFunc(errs, func(v *field.Error) bool { return v.Field == e.Field }) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return proxyconfig.Policy{}, fmt.Errorf("LLMPolicy %s is invalid: %w", p.Name, errs.ToAggregate())
	}
	if err := out.Validate(); err != nil {
		return proxyconfig.Policy{}, fmt.Errorf("LLMPolicy %s: %w", out.Ref(), err)
	}
	return out, nil
}

// checked translates p and checks the result against the contract, so that
// what is rendered is what a sidecar accepts.
func checked(p *v1alpha1.LLMPolicy) (proxyconfig.Policy, error) {
	out, err := Policy(p)
	if err != nil {
		return proxyconfig.Policy{}, err
	}
	if err := out.Validate(); err != nil {
		return proxyconfig.Policy{}, fmt.Errorf("LLMPolicy %s: %w", out.Ref(), err)
	}
	return out, nil
}

// Bundle decides the bundle of one namespace: its policies in the order
// that decides which applies to a pod several select (oldest first, then
// by name), each translated and checked against the contract. A policy
// that fails is left out and its error returned under its name, so that
// one bad policy never stops the others: the reconciler reports it in the
// policy's status, and the webhook and every sidecar choose among the same
// good policies. It is the one place the bundle is decided.
func Bundle(namespace string, policies []v1alpha1.LLMPolicy) (proxyconfig.Bundle, map[string]error) {
	ordered := append([]v1alpha1.LLMPolicy(nil), policies...)
	SortByPrecedence(ordered)
	b := proxyconfig.Bundle{APIVersion: proxyconfig.APIVersion, Kind: proxyconfig.KindBundle, Namespace: namespace, Policies: []proxyconfig.Policy{}}
	var invalid map[string]error
	for i := range ordered {
		p, err := checked(&ordered[i])
		if err != nil {
			if invalid == nil {
				invalid = map[string]error{}
			}
			invalid[ordered[i].Name] = err
			continue
		}
		b.Policies = append(b.Policies, p)
	}
	return b, invalid
}

// SortByPrecedence orders policies oldest first, then by name: when several
// select a pod, the first applies.
func SortByPrecedence(policies []v1alpha1.LLMPolicy) {
	sort.SliceStable(policies, func(i, j int) bool {
		ti, tj := policies[i].CreationTimestamp, policies[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return policies[i].Name < policies[j].Name
	})
}

// Selector is a policy's pod selector in the contract's form: what the
// bundle holds and every consumer matches pods with. nil selects all.
func Selector(s *v1alpha1.LabelSelector) *proxyconfig.Selector {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		return nil
	}
	out := &proxyconfig.Selector{}
	if len(s.MatchLabels) > 0 {
		out.MatchLabels = map[string]string{}
		for k, v := range s.MatchLabels {
			out.MatchLabels[k] = string(v)
		}
	}
	for _, e := range s.MatchExpressions {
		r := proxyconfig.Requirement{Key: e.Key, Operator: string(e.Operator)}
		for _, v := range e.Values {
			r.Values = append(r.Values, string(v))
		}
		out.MatchExpressions = append(out.MatchExpressions, r)
	}
	return out
}

// parser parses the fields the contract holds as typed values, collecting
// a field error for each that does not parse. Paths are relative to spec.
type parser struct{ errs field.ErrorList }

var spec = field.NewPath("spec")

func (d *parser) parse(path string, v v1alpha1.Duration) proxyconfig.Duration {
	x, err := v.Parse()
	if err != nil {
		d.errs = append(d.errs, field.Invalid(spec.Child(path), v, err.Error()))
	}
	return proxyconfig.Duration(x)
}

// limit parses a budget limit: a USD amount above zero.
func (d *parser) limit(path, v string) proxyconfig.USD {
	u, err := proxyconfig.ParseUSD(v)
	switch {
	case err != nil:
		d.errs = append(d.errs, field.Invalid(spec.Child(path), v, validation.MsgUSDAmount))
	case !u.IsPositive():
		d.errs = append(d.errs, field.Invalid(spec.Child(path), v, validation.MsgPositive))
	}
	return u
}

// semantic translates the semantic cache, parsing its threshold.
func (d *parser) semantic(sc *v1alpha1.SemanticCache) *proxyconfig.SemanticCache {
	if sc == nil {
		return nil
	}
	t, err := strconv.ParseFloat(sc.Threshold, 64)
	if err != nil || t <= 0 || t > 1 {
		d.errs = append(d.errs, field.Invalid(spec.Child("cache.semantic.threshold"), sc.Threshold, validation.MsgThreshold))
	}
	return &proxyconfig.SemanticCache{
		Embedding: proxyconfig.Embedding{
			Provider: sc.Embedding.Provider,
			Model:    sc.Embedding.Model,
			Timeout:  d.parse("cache.semantic.embedding.timeout", sc.Embedding.Timeout),
		},
		Threshold:      t,
		MaxEntries:     int(sc.MaxEntries),
		TTL:            d.parse("cache.semantic.ttl", sc.TTL),
		AllowToolCalls: sc.AllowToolCalls != nil && *sc.AllowToolCalls,
	}
}

// optionalPrice parses a price per million tokens that may be omitted:
// nil for "", which later layers default.
func (d *parser) optionalPrice(path, v string) *proxyconfig.USD {
	if v == "" {
		return nil
	}
	u := d.price(path, v)
	return &u
}

// price parses a price per million tokens.
func (d *parser) price(path, v string) proxyconfig.USD {
	u, err := proxyconfig.ParseUSD(v)
	if err != nil {
		d.errs = append(d.errs, field.Invalid(spec.Child(path), v, validation.MsgUSDPrice))
	}
	return u
}
