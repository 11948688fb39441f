package proxyconfig

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
)

var providerName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks what the sidecar relies on to compile a bundle. The
// operator renders bundles only from policies the API server accepted, so a
// failure here means a hand-edited or corrupted bundle; the sidecar then
// keeps its last good configuration.
func (b *Bundle) Validate() error {
	var errs []error
	if b.APIVersion != APIVersion || b.Kind != KindBundle {
		errs = append(errs, fmt.Errorf("apiVersion/kind is %q/%q; this sidecar reads %s/%s (is the operator a different version?)",
			b.APIVersion, b.Kind, APIVersion, KindBundle))
	}
	names := map[string]bool{}
	for i := range b.Policies {
		p := &b.Policies[i]
		if names[p.Ref()] {
			errs = append(errs, fmt.Errorf("policies[%d]: policy %s appears twice", i, p.Ref()))
		}
		names[p.Ref()] = true
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("policies[%d] (%s): %w", i, p.Ref(), err))
		}
	}
	return errors.Join(errs...)
}

// Validate checks one policy's invariants: what the sidecar relies on to
// compile it. References name declared providers, "exactly one of" holds,
// durations and counts are positive, percentages are percentages. The
// LLMPolicy API's own bounds (at most 10 attempts, name lengths, ...) are
// not repeated here: they are the CRD's, and api/v1alpha1/validation's
// for a standalone policy file, and every policy passed them before it was
// translated. Errors name the field as in the LLMPolicy spec.
func (p *Policy) Validate() error {
	v := &validator{}
	if p.Name == "" {
		v.add("name", "is required")
	}
	if !slices.Contains([]Mode{"", ModeEnforce, ModeDryRun}, p.Mode) {
		v.add("mode", fmt.Sprintf("%q is not one of Enforce, DryRun", p.Mode))
	}
	if p.Selector != nil {
		for i, r := range p.Selector.MatchExpressions {
			ok := (slices.Contains([]string{"In", "NotIn"}, r.Operator) && len(r.Values) > 0) ||
				(slices.Contains([]string{"Exists", "DoesNotExist"}, r.Operator) && len(r.Values) == 0)
			if !ok {
				v.add(fmt.Sprintf("podSelector.matchExpressions[%d]", i), "needs operator In or NotIn with values, or Exists or DoesNotExist without values")
			}
		}
	}
	if len(p.Providers) == 0 {
		v.add("providers", "declare at least one provider")
	}
	declared := map[string]bool{}
	for i, pr := range p.Providers {
		path := fmt.Sprintf("providers[%d]", i)
		if !providerName.MatchString(pr.Name) || len(pr.Name) > 63 {
			v.add(path+".name", fmt.Sprintf("%q must be a DNS label, e.g. openai", pr.Name))
		}
		if declared[pr.Name] {
			v.add(path+".name", fmt.Sprintf("%q is declared twice; provider names must be unique", pr.Name))
		}
		declared[pr.Name] = true
		if !slices.Contains([]ProviderType{OpenAI, Anthropic, AzureOpenAI, Gemini, OpenAICompatible}, pr.Type) {
			v.add(path+".type", fmt.Sprintf("%q is not one of OpenAI, Anthropic, AzureOpenAI, Gemini, OpenAICompatible", pr.Type))
		}
		if u, err := url.Parse(pr.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			v.add(path+".baseURL", fmt.Sprintf("%q must be an absolute http or https URL without a query", pr.BaseURL))
		}
	}
	t := p.Timeouts
	v.positive("timeouts.connect", t.Connect)
	v.positive("timeouts.firstToken", t.FirstToken)
	v.positive("timeouts.total", t.Total)
	if t.FirstToken > t.Total {
		v.add("timeouts.firstToken", "must not exceed timeouts.total")
	}
	if r := p.Retry; r != nil {
		v.atLeast("retry.maxAttempts", r.MaxAttempts, 1)
		v.positive("retry.backoff.initial", r.BackoffInitial)
		v.positive("retry.backoff.max", r.BackoffMax)
		if r.BackoffInitial > r.BackoffMax {
			v.add("retry.backoff.initial", "must not exceed retry.backoff.max")
		}
		if !slices.Contains([]Jitter{JitterNone, JitterFull, JitterEqual}, r.Jitter) {
			v.add("retry.backoff.jitter", fmt.Sprintf("%q is not one of None, Full, Equal", r.Jitter))
		}
		for i, c := range r.RetryOn {
			if !slices.Contains([]RetryCondition{RetryOnTimeout, RetryOnConnectionError, RetryOnRateLimited, RetryOnServerError, RetryOnInvalidOutput}, c) {
				v.add(fmt.Sprintf("retry.retryOn[%d]", i), fmt.Sprintf("%q is not one of Timeout, ConnectionError, RateLimited, ServerError, InvalidOutput", c))
			}
		}
		v.positive("retry.maxRetryAfter", r.MaxRetryAfter)
		v.atLeast("retry.budgetPercent", r.BudgetPercent, 1)
	}
	if cb := p.CircuitBreaker; cb != nil {
		if (cb.FailureRateThreshold > 0) == (cb.ConsecutiveFailures > 0) {
			v.add("circuitBreaker", "set exactly one of failureRateThreshold and consecutiveFailures")
		}
		if cb.FailureRateThreshold > 0 {
			v.between("circuitBreaker.failureRateThreshold", cb.FailureRateThreshold, 1, 100)
			v.atLeast("circuitBreaker.minimumRequests", cb.MinimumRequests, 1)
			v.positive("circuitBreaker.window", cb.Window)
		}
		v.positive("circuitBreaker.openDuration", cb.OpenDuration)
		v.atLeast("circuitBreaker.halfOpenRequests", cb.HalfOpenRequests, 1)
	}
	if rl := p.RateLimit; rl != nil {
		if rl.RequestsPerMinute <= 0 && rl.TokensPerMinute <= 0 && rl.MaxConcurrent <= 0 {
			v.add("rateLimit", "set at least one of requestsPerMinute, tokensPerMinute and maxConcurrent")
		}
		if rl.MaxWait < 0 {
			v.add("rateLimit.maxWait", "must not be negative")
		}
	}
	if b := p.Budget; b != nil {
		if !slices.Contains([]BudgetPeriod{Daily, Weekly, Monthly}, b.Period) {
			v.add("budget.period", fmt.Sprintf("%q is not one of Daily, Weekly, Monthly", b.Period))
		}
		if !b.Limit.IsPositive() {
			v.add("budget.limit", fmt.Sprintf("is %s; set a USD amount above zero, such as \"250\"", b.Limit))
		}
		v.between("budget.softLimitPercent", b.SoftLimitPercent, 1, 100)
		switch b.OnExhausted {
		case Block:
		case Downgrade:
			if b.DowngradeTo == nil || b.DowngradeTo.Model == "" {
				v.add("budget.downgradeTo", "is required when onExhausted is Downgrade")
			} else if !declared[b.DowngradeTo.Provider] {
				v.add("budget.downgradeTo.provider", fmt.Sprintf("%q is not a declared provider", b.DowngradeTo.Provider))
			}
		default:
			v.add("budget.onExhausted", fmt.Sprintf("%q is not one of Block, Downgrade", b.OnExhausted))
		}
		if !slices.Contains([]LedgerUnreachableAction{"", LedgerBlock, LedgerAllow}, b.WhenLedgerUnreachable) {
			v.add("budget.whenLedgerUnreachable", fmt.Sprintf("%q is not one of Block, Allow", b.WhenLedgerUnreachable))
		}
	}
	cached := 0
	for i, f := range p.Fallbacks {
		path := fmt.Sprintf("fallbacks[%d]", i)
		kinds := 0
		for _, set := range []bool{f.Provider != "", f.CachedResponse != nil, f.StaticResponse != ""} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds != 1:
			v.add(path, "set exactly one of provider, cachedResponse and staticResponse")
		case f.StaticResponse != "" && i != len(p.Fallbacks)-1:
			v.add(path+".staticResponse", "is only allowed on the last rung")
		case f.Provider != "" && !declared[f.Provider]:
			v.add(path+".provider", fmt.Sprintf("%q is not a declared provider", f.Provider))
		case f.CachedResponse != nil:
			cached++
			if cached > 1 {
				v.add(path+".cachedResponse", "is allowed on one rung only")
			}
			v.positive(path+".cachedResponse.maxStale", f.CachedResponse.MaxStale)
			v.atLeast(path+".cachedResponse.maxEntries", f.CachedResponse.MaxEntries, 1)
		}
	}
	if c := p.Cache; c != nil {
		v.positive("cache.ttl", c.TTL)
		v.atLeast("cache.maxEntries", c.MaxEntries, 1)
		if sc := c.Semantic; sc != nil {
			e := sc.Embedding
			switch pr := p.Provider(e.Provider); {
			case pr == nil:
				v.add("cache.semantic.embedding.provider", fmt.Sprintf("%q is not a declared provider", e.Provider))
			case pr.Type == Anthropic:
				v.add("cache.semantic.embedding.provider", fmt.Sprintf("%q is of type Anthropic, which has no embeddings endpoint", e.Provider))
			}
			if e.Model == "" {
				v.add("cache.semantic.embedding.model", "is required")
			}
			v.positive("cache.semantic.embedding.timeout", e.Timeout)
			if !(sc.Threshold > 0 && sc.Threshold <= 1) {
				v.add("cache.semantic.threshold", fmt.Sprintf("is %v; must be above 0 and at most 1", sc.Threshold))
			}
			v.atLeast("cache.semantic.maxEntries", sc.MaxEntries, 1)
			v.positive("cache.semantic.ttl", sc.TTL)
		}
	}
	if f := p.FailureRecords; f != nil {
		v.atLeast("failureRecords.maxBodyBytes", f.MaxBodyBytes, 1)
	}
	for i, pr := range p.Pricing {
		path := fmt.Sprintf("pricing[%d]", i)
		if pr.Model == "" {
			v.add(path+".model", "is required")
		}
		if pr.MaxOutputTokens < 0 {
			v.add(path+".maxOutputTokens", "must not be negative")
		}
	}
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(field, msg string) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", field, msg))
}

func (v *validator) positive(field string, d Duration) {
	if d <= 0 {
		v.add(field, "must be a positive duration")
	}
}

func (v *validator) atLeast(field string, n, lo int) {
	if n < lo {
		v.add(field, fmt.Sprintf("is %d; must be at least %d", n, lo))
	}
}

func (v *validator) between(field string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(field, fmt.Sprintf("is %d; must be between %d and %d", n, lo, hi))
	}
}
