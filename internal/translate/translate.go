// Package translate turns LLMPolicy objects into the sidecar's policies
// (pkg/proxyconfig). It is a pure function of its input: the operator calls
// it to render a namespace's bundle, the standalone sidecar to read a
// policy file, and golden files pin its output.
package translate

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
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
// server, or by Default). It does not validate beyond what it must parse;
// callers validate first.
func Policy(in *v1alpha1.LLMPolicy) (proxyconfig.Policy, error) {
	s := &in.Spec
	out := proxyconfig.Policy{
		Name:       in.Name,
		Namespace:  in.Namespace,
		Generation: in.Generation,
		Selector:   selector(s.PodSelector),
	}
	d := &durations{}

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
			Limit:            b.Limit,
			SoftLimitPercent: int(b.SoftLimitPercent),
			OnExhausted:      proxyconfig.ExhaustedAction(b.OnExhausted),
		}
		if b.DowngradeTo != nil {
			bc.DowngradeTo = &proxyconfig.ModelRef{Provider: b.DowngradeTo.Provider, Model: b.DowngradeTo.Model}
		}
		out.Budget = bc
	}

	for _, f := range s.Fallbacks {
		fc := proxyconfig.Fallback{Provider: f.Provider, Model: f.Model}
		if f.StaticResponse != nil {
			fc.StaticResponse = f.StaticResponse.Content
		}
		out.Fallbacks = append(out.Fallbacks, fc)
	}

	// A disabled cache is no cache: the sidecar knows only caches in use.
	if c := s.Cache; c != nil && (c.Enabled == nil || *c.Enabled) {
		out.Cache = &proxyconfig.Cache{
			TTL:               d.parse("cache.ttl", c.TTL),
			MaxEntries:        int(c.MaxEntries),
			OnlyDeterministic: c.OnlyDeterministic == nil || *c.OnlyDeterministic,
		}
	}

	for _, p := range s.Pricing {
		out.Pricing = append(out.Pricing, proxyconfig.ModelPrice{
			Model:                 p.Model,
			InputPerMillion:       p.InputPerMillion,
			OutputPerMillion:      p.OutputPerMillion,
			CachedInputPerMillion: p.CachedInputPerMillion,
		})
	}

	if d.err != nil {
		return proxyconfig.Policy{}, fmt.Errorf("LLMPolicy %s: %w", out.Ref(), d.err)
	}
	return out, nil
}

// Bundle renders the policies of one namespace into a bundle, in the order
// that decides which applies to a pod several select: oldest first, then by
// name.
func Bundle(namespace string, policies []v1alpha1.LLMPolicy) (proxyconfig.Bundle, error) {
	ordered := append([]v1alpha1.LLMPolicy(nil), policies...)
	SortByPrecedence(ordered)
	b := proxyconfig.Bundle{APIVersion: proxyconfig.APIVersion, Kind: proxyconfig.KindBundle, Namespace: namespace, Policies: []proxyconfig.Policy{}}
	for i := range ordered {
		p, err := Policy(&ordered[i])
		if err != nil {
			return proxyconfig.Bundle{}, err
		}
		b.Policies = append(b.Policies, p)
	}
	return b, nil
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

func selector(s *metav1.LabelSelector) *proxyconfig.Selector {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		return nil
	}
	out := &proxyconfig.Selector{}
	if len(s.MatchLabels) > 0 {
		out.MatchLabels = map[string]string{}
		for k, v := range s.MatchLabels {
			out.MatchLabels[k] = v
		}
	}
	for _, e := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, proxyconfig.Requirement{
			Key: e.Key, Operator: string(e.Operator), Values: append([]string(nil), e.Values...),
		})
	}
	return out
}

// durations parses Duration fields, keeping the first error.
type durations struct{ err error }

func (d *durations) parse(field string, v v1alpha1.Duration) proxyconfig.Duration {
	x, err := v.Parse()
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("spec.%s: %w", field, err)
	}
	return proxyconfig.Duration(x)
}
