package validation

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"tollgate.dev/tollgate/api/v1alpha1"

	"k8s.io/apimachinery/pkg/util/sets"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a defaulted policy against the rules the API server
// enforces from the CRD's schema and CEL rules, with the same field paths and
// messages. The API server is the authority for policies applied with
// kubectl; Validate serves policies read from a file by the standalone
// sidecar, and a test runs every rejection case through both.
//
// USD amounts are not checked here: translation parses them into the
// contract's money type (proxyconfig.ParseUSD, the one Go copy of their
// syntax) and reports a bad one with the messages below.
//
// Call Default first: like the API server, Validate judges defaulted values.
func Validate(p *v1alpha1.LLMPolicy) field.ErrorList {
	return ValidateSpec(&p.Spec, field.NewPath("spec"))
}

var (
	dnsLabel       = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	secretName     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	secretKey      = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	durationSyntax = regexp.MustCompile(`^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$`)
)

// Bounds of a pod selector, as the CRD's schema declares them.
const (
	maxMatchLabels      = 32
	maxMatchExpressions = 16
	maxSelectorValues   = 64
	maxLabelKey         = 317 // a 253-byte DNS prefix, '/', a 63-byte name
	maxLabelValue       = 63
)

// Messages of USD amounts, shared with the CRD's CEL rules (keep them
// identical). Translation reports them: it is where amounts are parsed.
const (
	// MsgUSDAmount is the message of a budget limit that is not a USD
	// amount.
	MsgUSDAmount = `must be a USD amount as a decimal string with at most 6 decimals, such as "250" or "19.99"`
	// MsgUSDPrice is the message of a price that is not a USD amount.
	MsgUSDPrice = `must be a USD price per million tokens as a decimal string with at most 6 decimals, such as "2.50"`
	// MsgPositive is the message of a budget limit of zero.
	MsgPositive = "must be greater than zero"
	// MsgThreshold is the message of a semantic cache threshold that is
	// not a decimal between 0.5 and 1.
	MsgThreshold = `must be a decimal between 0.5 and 1 with at most 4 decimals, such as "0.95"`
)

// Messages shared with the CRD's CEL rules; keep them identical.
const (
	msgDuration        = "must be a positive duration such as 500ms, 5s or 2m"
	msgDNSLabel        = "must be a DNS label: lower case letters, digits and '-', starting and ending with a letter or digit, e.g. openai"
	msgUniqueProviders = "provider names must be unique; rename one of the duplicates"
	msgBaseURLRequired = "baseURL is required for providers of type AzureOpenAI and OpenAICompatible; set it to the server's URL, e.g. https://my-resource.openai.azure.com"
	msgBaseURLAbsolute = "baseURL must be an absolute http or https URL such as https://api.openai.com"
	msgBaseURLQuery    = "baseURL must not contain a query or fragment; the app's request supplies those"
	msgFirstToken      = "timeouts.firstToken must not exceed timeouts.total; raise total or lower firstToken"
	msgConnect         = "timeouts.connect must not exceed timeouts.total; raise total or lower connect"
	msgBackoff         = "retry.backoff.initial must not exceed retry.backoff.max; raise max or lower initial"
	msgBreakerMode     = "set exactly one of circuitBreaker.failureRateThreshold and circuitBreaker.consecutiveFailures"
	msgRateLimitEmpty  = "set at least one of rateLimit.requestsPerMinute, rateLimit.tokensPerMinute and rateLimit.maxConcurrent, or remove rateLimit"
	msgDowngradeTo     = "budget.downgradeTo is required when budget.onExhausted is Downgrade, and must be omitted otherwise"
	msgRungKind        = "each fallback rung sets exactly one of provider (with an optional model), cachedResponse or staticResponse"
	msgRungModel       = "a fallback rung with a model must also name its provider"
	msgStaticLast      = "staticResponse may only be used once, as the last fallback rung; move it to the end of spec.fallbacks"
	msgCachedOnce      = "cachedResponse may only be used once in spec.fallbacks; keep one cachedResponse rung"
	msgMaxStaleRange   = "cachedResponse.maxStale must be between 1s and 720h (30 days)"
	msgMaxStaleTTL     = "a cachedResponse rung's maxStale must be longer than cache.ttl: answers younger than the ttl are served by the cache before any attempt; raise maxStale or lower cache.ttl"
	msgMatchExpression = "operators In and NotIn need values; Exists and DoesNotExist take none"
	msgLabelKey        = "must be a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, e.g. app or app.kubernetes.io/name"
	msgLabelKeys       = "each key " + msgLabelKey
	msgLabelValue      = "must be a label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
)

// ValidateSpec checks the spec; path is where it sits in its object.
func ValidateSpec(s *v1alpha1.LLMPolicySpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if modes := []v1alpha1.PolicyMode{v1alpha1.ModeEnforce, v1alpha1.ModeDryRun}; !slices.Contains(modes, s.Mode) {
		errs = append(errs, field.NotSupported(path.Child("mode"), s.Mode, modes))
	}
	errs = append(errs, validatePodSelector(s, path)...)
	errs = append(errs, validateProviders(s.Providers, path.Child("providers"))...)
	declared := sets.New[string]()
	for _, p := range s.Providers {
		declared.Insert(p.Name)
	}
	if s.Timeouts != nil {
		errs = append(errs, validateTimeouts(s.Timeouts, path.Child("timeouts"))...)
	}
	if s.Retry != nil {
		errs = append(errs, validateRetry(s.Retry, path.Child("retry"))...)
	}
	if s.CircuitBreaker != nil {
		errs = append(errs, validateCircuitBreaker(s.CircuitBreaker, path.Child("circuitBreaker"))...)
	}
	if s.RateLimit != nil {
		errs = append(errs, validateRateLimit(s.RateLimit, path.Child("rateLimit"))...)
	}
	if s.Budget != nil {
		errs = append(errs, validateBudget(s.Budget, path.Child("budget"), declared)...)
	}
	errs = append(errs, validateFallbacks(s.Fallbacks, path.Child("fallbacks"), s.Providers)...)
	errs = append(errs, validateMaxStale(s, path.Child("fallbacks"))...)
	if s.Cache != nil {
		errs = append(errs, validateCache(s.Cache, path.Child("cache"), s.Providers)...)
	}
	if s.Validation != nil {
		errs = append(errs, validateOutputValidation(s.Validation, path.Child("validation"))...)
	}
	if s.FailureRecords != nil {
		errs = append(errs, validateFailureRecords(s.FailureRecords, path.Child("failureRecords"))...)
	}
	errs = append(errs, validatePricing(s.Pricing, path.Child("pricing"))...)
	return errs
}

func validatePodSelector(s *v1alpha1.LLMPolicySpec, path *field.Path) field.ErrorList {
	if s.PodSelector == nil {
		return nil
	}
	var errs field.ErrorList
	path = path.Child("podSelector")
	labels := path.Child("matchLabels")
	if n := len(s.PodSelector.MatchLabels); n > maxMatchLabels {
		errs = append(errs, field.TooMany(labels, n, maxMatchLabels))
	}
	for _, k := range slices.Sorted(maps.Keys(s.PodSelector.MatchLabels)) {
		if len(k) > maxLabelKey || len(k8svalidation.IsQualifiedName(k)) > 0 {
			errs = append(errs, field.Invalid(labels, k, msgLabelKeys))
		}
		errs = append(errs, validateLabelValue(s.PodSelector.MatchLabels[k], labels.Key(k))...)
	}
	exprs := path.Child("matchExpressions")
	if n := len(s.PodSelector.MatchExpressions); n > maxMatchExpressions {
		errs = append(errs, field.TooMany(exprs, n, maxMatchExpressions))
	}
	for i, e := range s.PodSelector.MatchExpressions {
		p := exprs.Index(i)
		switch {
		case len(e.Key) > maxLabelKey:
			errs = append(errs, field.TooLong(p.Child("key"), e.Key, maxLabelKey))
		case len(k8svalidation.IsQualifiedName(e.Key)) > 0:
			errs = append(errs, field.Invalid(p.Child("key"), e.Key, msgLabelKey))
		}
		supported := []v1alpha1.LabelSelectorOperator{v1alpha1.SelectorOpIn, v1alpha1.SelectorOpNotIn, v1alpha1.SelectorOpExists, v1alpha1.SelectorOpDoesNotExist}
		if !slices.Contains(supported, e.Operator) {
			errs = append(errs, field.NotSupported(p.Child("operator"), e.Operator, supported))
		}
		if n := len(e.Values); n > maxSelectorValues {
			errs = append(errs, field.TooMany(p.Child("values"), n, maxSelectorValues))
		}
		for j, v := range e.Values {
			errs = append(errs, validateLabelValue(v, p.Child("values").Index(j))...)
		}
		wantsValues := e.Operator == v1alpha1.SelectorOpIn || e.Operator == v1alpha1.SelectorOpNotIn
		if wantsValues != (len(e.Values) > 0) {
			errs = append(errs, field.Invalid(p, e, msgMatchExpression))
		}
	}
	return errs
}

func validateLabelValue(v v1alpha1.LabelValue, path *field.Path) field.ErrorList {
	if len(v) > maxLabelValue {
		return field.ErrorList{field.TooLong(path, v, maxLabelValue)}
	}
	if len(k8svalidation.IsValidLabelValue(string(v))) > 0 {
		return field.ErrorList{field.Invalid(path, v, msgLabelValue)}
	}
	return nil
}

func validateProviders(providers []v1alpha1.Provider, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case len(providers) == 0:
		errs = append(errs, field.Required(path, "declare at least one provider"))
	case len(providers) > 16:
		errs = append(errs, field.TooMany(path, len(providers), 16))
	}
	seen := sets.New[string]()
	for i, p := range providers {
		pp := path.Index(i)
		if seen.Has(p.Name) {
			errs = append(errs, field.Duplicate(pp, p.Name), field.Invalid(path, p.Name, msgUniqueProviders))
		}
		seen.Insert(p.Name)
		errs = append(errs, validateProvider(&p, pp)...)
	}
	return errs
}

func validateProvider(p *v1alpha1.Provider, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateString(path.Child("name"), p.Name, 63)...)
	if p.Name != "" && !dnsLabel.MatchString(p.Name) {
		errs = append(errs, field.Invalid(path.Child("name"), p.Name, msgDNSLabel))
	}
	types := []v1alpha1.ProviderType{v1alpha1.ProviderOpenAI, v1alpha1.ProviderAnthropic, v1alpha1.ProviderAzureOpenAI, v1alpha1.ProviderGemini, v1alpha1.ProviderOpenAICompatible}
	if !slices.Contains(types, p.Type) {
		errs = append(errs, field.NotSupported(path.Child("type"), p.Type, types))
	}
	if p.BaseURL == "" {
		if p.Type == v1alpha1.ProviderAzureOpenAI || p.Type == v1alpha1.ProviderOpenAICompatible {
			errs = append(errs, field.Required(path.Child("baseURL"), msgBaseURLRequired))
		}
	} else {
		errs = append(errs, validateBaseURL(path.Child("baseURL"), p.BaseURL)...)
	}
	if ref := p.CredentialsSecretRef; ref != nil {
		rp := path.Child("credentialsSecretRef")
		errs = append(errs, validatePattern(rp.Child("name"), ref.Name, 253, secretName)...)
		errs = append(errs, validatePattern(rp.Child("key"), ref.Key, 253, secretKey)...)
	}
	if len(p.Models) > 64 {
		errs = append(errs, field.TooMany(path.Child("models"), len(p.Models), 64))
	}
	seen := sets.New[string]()
	for i, m := range p.Models {
		mp := path.Child("models").Index(i)
		errs = append(errs, validateString(mp, m, 256)...)
		if seen.Has(m) {
			errs = append(errs, field.Duplicate(mp, m))
		}
		seen.Insert(m)
	}
	return errs
}

func validateBaseURL(path *field.Path, raw string) field.ErrorList {
	if len(raw) > 2048 {
		return field.ErrorList{field.TooLong(path, raw, 2048)}
	}
	var errs field.ErrorList
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		errs = append(errs, field.Invalid(path, raw, msgBaseURLAbsolute))
	}
	if strings.ContainsAny(raw, "?#") {
		errs = append(errs, field.Invalid(path, raw, msgBaseURLQuery))
	}
	return errs
}

func validateTimeouts(t *v1alpha1.Timeouts, path *field.Path) field.ErrorList {
	errs := validateDurations(path, map[string]v1alpha1.Duration{"connect": t.Connect, "firstToken": t.FirstToken, "total": t.Total})
	if len(errs) > 0 {
		return errs
	}
	connect, _ := t.Connect.Parse()
	firstToken, _ := t.FirstToken.Parse()
	total, _ := t.Total.Parse()
	if firstToken > total {
		errs = append(errs, field.Invalid(path.Child("firstToken"), t.FirstToken, msgFirstToken))
	}
	if connect > total {
		errs = append(errs, field.Invalid(path.Child("connect"), t.Connect, msgConnect))
	}
	return errs
}

func validateRetry(r *v1alpha1.Retry, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateRange(path.Child("maxAttempts"), int64(r.MaxAttempts), 1, 10)...)
	if b := r.Backoff; b != nil {
		bp := path.Child("backoff")
		berrs := validateDurations(bp, map[string]v1alpha1.Duration{"initial": b.Initial, "max": b.Max})
		if len(berrs) == 0 {
			initial, _ := b.Initial.Parse()
			maxDelay, _ := b.Max.Parse()
			if initial > maxDelay {
				berrs = append(berrs, field.Invalid(bp.Child("initial"), b.Initial, msgBackoff))
			}
		}
		errs = append(errs, berrs...)
		jitters := []v1alpha1.JitterMode{v1alpha1.JitterNone, v1alpha1.JitterFull, v1alpha1.JitterEqual}
		if !slices.Contains(jitters, b.Jitter) {
			errs = append(errs, field.NotSupported(bp.Child("jitter"), b.Jitter, jitters))
		}
	}
	conditions := DefaultRetryOn()
	seen := sets.New[v1alpha1.RetryCondition]()
	for i, c := range r.RetryOn {
		cp := path.Child("retryOn").Index(i)
		if !slices.Contains(conditions, c) {
			errs = append(errs, field.NotSupported(cp, c, conditions))
		}
		if seen.Has(c) {
			errs = append(errs, field.Duplicate(cp, c))
		}
		seen.Insert(c)
	}
	errs = append(errs, validateDurations(path, map[string]v1alpha1.Duration{"maxRetryAfter": r.MaxRetryAfter})...)
	errs = append(errs, validateRange(path.Child("budgetPercent"), int64(r.BudgetPercent), 1, 100)...)
	return errs
}

func validateCircuitBreaker(cb *v1alpha1.CircuitBreaker, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if (cb.FailureRateThreshold != nil) == (cb.ConsecutiveFailures != nil) {
		errs = append(errs, field.Invalid(path, "", msgBreakerMode))
	}
	if cb.FailureRateThreshold != nil {
		errs = append(errs, validateRange(path.Child("failureRateThreshold"), int64(*cb.FailureRateThreshold), 1, 100)...)
	}
	if cb.ConsecutiveFailures != nil {
		errs = append(errs, validateRange(path.Child("consecutiveFailures"), int64(*cb.ConsecutiveFailures), 1, 1000)...)
	}
	errs = append(errs, validateRange(path.Child("minimumRequests"), int64(cb.MinimumRequests), 1, 10000)...)
	errs = append(errs, validateRange(path.Child("halfOpenRequests"), int64(cb.HalfOpenRequests), 1, 100)...)
	errs = append(errs, validateDurations(path, map[string]v1alpha1.Duration{"window": cb.Window, "openDuration": cb.OpenDuration})...)
	return errs
}

func validateRateLimit(rl *v1alpha1.RateLimit, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if rl.RequestsPerMinute == nil && rl.TokensPerMinute == nil && rl.MaxConcurrent == nil {
		errs = append(errs, field.Invalid(path, "", msgRateLimitEmpty))
	}
	if rl.RequestsPerMinute != nil {
		errs = append(errs, validateRange(path.Child("requestsPerMinute"), int64(*rl.RequestsPerMinute), 1, 1000000)...)
	}
	if rl.TokensPerMinute != nil {
		errs = append(errs, validateRange(path.Child("tokensPerMinute"), *rl.TokensPerMinute, 1, 1000000000)...)
	}
	if rl.MaxConcurrent != nil {
		errs = append(errs, validateRange(path.Child("maxConcurrent"), int64(*rl.MaxConcurrent), 1, 100000)...)
	}
	errs = append(errs, validateDurations(path, map[string]v1alpha1.Duration{"maxWait": rl.MaxWait})...)
	return errs
}

func validateBudget(b *v1alpha1.Budget, path *field.Path, declared sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	periods := []v1alpha1.BudgetPeriod{v1alpha1.BudgetDaily, v1alpha1.BudgetWeekly, v1alpha1.BudgetMonthly}
	if !slices.Contains(periods, b.Period) {
		errs = append(errs, field.NotSupported(path.Child("period"), b.Period, periods))
	}
	lp := path.Child("limit")
	switch {
	case b.Limit == "":
		errs = append(errs, field.Required(lp, `set the most the selected pods may spend per period, in USD, e.g. "250"`))
	case len(b.Limit) > 16:
		errs = append(errs, field.TooLong(lp, b.Limit, 16))
	}
	errs = append(errs, validateRange(path.Child("softLimitPercent"), int64(b.SoftLimitPercent), 1, 100)...)
	actions := []v1alpha1.ExhaustedAction{v1alpha1.ExhaustedBlock, v1alpha1.ExhaustedDowngrade}
	if !slices.Contains(actions, b.OnExhausted) {
		errs = append(errs, field.NotSupported(path.Child("onExhausted"), b.OnExhausted, actions))
	}
	unreachable := []v1alpha1.LedgerUnreachableAction{v1alpha1.LedgerUnreachableBlock, v1alpha1.LedgerUnreachableAllow}
	if b.WhenLedgerUnreachable != "" && !slices.Contains(unreachable, b.WhenLedgerUnreachable) {
		errs = append(errs, field.NotSupported(path.Child("whenLedgerUnreachable"), b.WhenLedgerUnreachable, unreachable))
	}
	if (b.DowngradeTo != nil) != (b.OnExhausted == v1alpha1.ExhaustedDowngrade) {
		errs = append(errs, field.Invalid(path.Child("downgradeTo"), "", msgDowngradeTo))
	}
	if d := b.DowngradeTo; d != nil {
		dp := path.Child("downgradeTo")
		errs = append(errs, validateString(dp.Child("provider"), d.Provider, 63)...)
		errs = append(errs, validateString(dp.Child("model"), d.Model, 256)...)
		if d.Provider != "" && !declared.Has(d.Provider) {
			errs = append(errs, field.Invalid(dp.Child("provider"), d.Provider,
				fmt.Sprintf("spec.budget.downgradeTo.provider %s is not declared in spec.providers; add it or name a declared provider", d.Provider)))
		}
	}
	return errs
}

func validateFallbacks(rungs []v1alpha1.FallbackRung, path *field.Path, providers []v1alpha1.Provider) field.ErrorList {
	declared := sets.New[string]()
	for _, p := range providers {
		declared.Insert(p.Name)
	}
	var errs field.ErrorList
	if len(rungs) > 8 {
		errs = append(errs, field.TooMany(path, len(rungs), 8))
	}
	undeclared := -1
	statics, cached := 0, 0
	for i, r := range rungs {
		rp := path.Index(i)
		kinds := 0
		for _, set := range []bool{r.Provider != "", r.StaticResponse != nil, r.CachedResponse != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			errs = append(errs, field.Invalid(rp, "", msgRungKind))
		}
		if r.Model != "" && r.Provider == "" {
			errs = append(errs, field.Invalid(rp.Child("model"), r.Model, msgRungModel))
		}
		if r.Provider != "" {
			errs = append(errs, validateString(rp.Child("provider"), r.Provider, 63)...)
			if undeclared < 0 && !declared.Has(r.Provider) {
				undeclared = i
			}
		}
		if r.Model != "" {
			errs = append(errs, validateString(rp.Child("model"), r.Model, 256)...)
		}
		if r.StaticResponse != nil {
			statics++
			errs = append(errs, validateString(rp.Child("staticResponse", "content"), r.StaticResponse.Content, 8192)...)
		}
		if r.CachedResponse != nil {
			cached++
			errs = append(errs, validateCachedResponse(r.CachedResponse, rp.Child("cachedResponse"))...)
		}
	}
	if cached > 1 {
		errs = append(errs, field.Invalid(path, "", msgCachedOnce))
	}
	if statics > 0 && (statics > 1 || rungs[len(rungs)-1].StaticResponse == nil) {
		errs = append(errs, field.Invalid(path, "", msgStaticLast))
	}
	if undeclared >= 0 {
		// The CRD's rule reports the first undeclared provider on the list.
		errs = append(errs, field.Invalid(path, "", fmt.Sprintf("spec.fallbacks[%d].provider %s is not declared in spec.providers; fix the name or declare the provider",
			undeclared, rungs[undeclared].Provider)))
	}
	return errs
}

// Bounds of a cachedResponse rung's maxStale, as the CRD's rule states
// them.
const (
	minMaxStale = time.Second
	maxMaxStale = 720 * time.Hour
)

func validateCachedResponse(c *v1alpha1.CachedResponse, path *field.Path) field.ErrorList {
	errs := validateDurations(path, map[string]v1alpha1.Duration{"maxStale": c.MaxStale})
	if len(errs) == 0 && c.MaxStale != "" {
		if d, _ := c.MaxStale.Parse(); d < minMaxStale || d > maxMaxStale {
			errs = append(errs, field.Invalid(path.Child("maxStale"), c.MaxStale, msgMaxStaleRange))
		}
	}
	return append(errs, validateRange(path.Child("maxEntries"), int64(c.MaxEntries), 1, 1000000)...)
}

// validateMaxStale checks that a cachedResponse rung can serve an answer
// the enabled cache would not: one older than cache.ttl. Values that are
// not durations fail their own fields' checks and are skipped here.
func validateMaxStale(s *v1alpha1.LLMPolicySpec, path *field.Path) field.ErrorList {
	c := s.Cache
	if c == nil || (c.Enabled != nil && !*c.Enabled) || c.TTL == "" || !durationSyntax.MatchString(string(c.TTL)) {
		return nil
	}
	ttl, err := c.TTL.Parse()
	if err != nil {
		return nil
	}
	for _, r := range s.Fallbacks {
		cr := r.CachedResponse
		if cr == nil || cr.MaxStale == "" || !durationSyntax.MatchString(string(cr.MaxStale)) {
			continue
		}
		if maxStale, err := cr.MaxStale.Parse(); err == nil && maxStale <= ttl {
			return field.ErrorList{field.Invalid(path, "", msgMaxStaleTTL)}
		}
	}
	return nil
}

func validateCache(c *v1alpha1.Cache, path *field.Path, providers []v1alpha1.Provider) field.ErrorList {
	errs := validateDurations(path, map[string]v1alpha1.Duration{"ttl": c.TTL})
	errs = append(errs, validateRange(path.Child("maxEntries"), int64(c.MaxEntries), 1, 1000000)...)
	if c.Semantic != nil {
		errs = append(errs, validateSemanticCache(c.Semantic, path.Child("semantic"), providers)...)
	}
	return errs
}

// threshold is the syntax of a semantic cache threshold: a decimal
// between 0 and 1 with at most 4 decimals (the CRD's CEL rule also asks
// for at least 0.5).
var threshold = regexp.MustCompile(`^(0[.][0-9]{1,4}|1([.]0{1,4})?)$`)

func validateSemanticCache(sc *v1alpha1.SemanticCache, path *field.Path, providers []v1alpha1.Provider) field.ErrorList {
	var errs field.ErrorList
	ep := path.Child("embedding")
	errs = append(errs, validateString(ep.Child("provider"), sc.Embedding.Provider, 63)...)
	errs = append(errs, validateString(ep.Child("model"), sc.Embedding.Model, 256)...)
	errs = append(errs, validateDurations(ep, map[string]v1alpha1.Duration{"timeout": sc.Embedding.Timeout})...)
	if name := sc.Embedding.Provider; name != "" {
		i := slices.IndexFunc(providers, func(p v1alpha1.Provider) bool { return p.Name == name })
		switch {
		case i < 0:
			errs = append(errs, field.Invalid(ep.Child("provider"), name,
				fmt.Sprintf("spec.cache.semantic.embedding.provider %s is not declared in spec.providers; add it or name a declared provider", name)))
		case providers[i].Type == v1alpha1.ProviderAnthropic:
			errs = append(errs, field.Invalid(ep.Child("provider"), name,
				fmt.Sprintf("spec.cache.semantic.embedding.provider %s is of type Anthropic, which has no embeddings endpoint; name an OpenAI, AzureOpenAI, Gemini or OpenAICompatible provider", name)))
		}
	}
	tp := path.Child("threshold")
	switch t := sc.Threshold; {
	case len(t) > 6:
		errs = append(errs, field.TooLong(tp, t, 6))
	case !threshold.MatchString(t) || t < "0.5":
		// Within the syntax, the string order of "0.dddd" is the order of
		// the numbers, and "1..." is above "0.5".
		errs = append(errs, field.Invalid(tp, t, MsgThreshold))
	}
	errs = append(errs, validateRange(path.Child("maxEntries"), int64(sc.MaxEntries), 1, 100000)...)
	errs = append(errs, validateDurations(path, map[string]v1alpha1.Duration{"ttl": sc.TTL})...)
	return errs
}

func validateOutputValidation(v *v1alpha1.OutputValidation, path *field.Path) field.ErrorList {
	modes := []v1alpha1.StreamValidation{v1alpha1.StreamPassThrough, v1alpha1.StreamBuffer}
	if !slices.Contains(modes, v.Streams) {
		return field.ErrorList{field.NotSupported(path.Child("streams"), v.Streams, modes)}
	}
	return nil
}

// MaxFailureRecordBodyBytes is the most of a request body a failure
// record may keep (failureRecords.maxBodyBytes), as the CRD's rule
// states it.
const MaxFailureRecordBodyBytes = 65536

func validateFailureRecords(f *v1alpha1.FailureRecords, path *field.Path) field.ErrorList {
	return validateRange(path.Child("maxBodyBytes"), int64(f.MaxBodyBytes), 1, MaxFailureRecordBodyBytes)
}

func validatePricing(prices []v1alpha1.ModelPrice, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(prices) > 64 {
		errs = append(errs, field.TooMany(path, len(prices), 64))
	}
	seen := sets.New[string]()
	for i, p := range prices {
		pp := path.Index(i)
		errs = append(errs, validateString(pp.Child("model"), p.Model, 256)...)
		if seen.Has(p.Model) {
			errs = append(errs, field.Duplicate(pp, p.Model))
		}
		seen.Insert(p.Model)
		if p.MaxOutputTokens != nil {
			errs = append(errs, validateRange(pp.Child("maxOutputTokens"), *p.MaxOutputTokens, 1, 10000000)...)
		}
		for _, price := range []struct {
			name, value string
			optional    bool
		}{
			{"inputPerMillion", p.InputPerMillion, false},
			{"outputPerMillion", p.OutputPerMillion, false},
			{"cachedInputPerMillion", p.CachedInputPerMillion, true},
			{"cacheWritePerMillion", p.CacheWritePerMillion, true},
			{"cacheWrite1hPerMillion", p.CacheWrite1hPerMillion, true},
		} {
			name, v := price.name, price.value
			if v == "" && price.optional {
				continue
			}
			switch {
			case v == "":
				errs = append(errs, field.Required(pp.Child(name), `set the USD price per million tokens, e.g. "2.50"`))
			case len(v) > 16:
				errs = append(errs, field.TooLong(pp.Child(name), v, 16))
			}
		}
	}
	return errs
}

// validateDurations checks named Duration fields of the object at path.
// Empty values are absent optional fields and pass.
func validateDurations(path *field.Path, durations map[string]v1alpha1.Duration) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedKeys(durations) {
		// Every duration has a default, so an empty one was written so.
		d := durations[name]
		if _, err := d.Parse(); err != nil || !durationSyntax.MatchString(string(d)) {
			errs = append(errs, field.Invalid(path.Child(name), d, msgDuration))
		}
	}
	return errs
}

func validateRange(path *field.Path, v, lo, hi int64) field.ErrorList {
	// The wording is the CRD's CEL rule for ranges.
	if v < lo || v > hi {
		return field.ErrorList{field.Invalid(path, v, fmt.Sprintf("must be between %d and %d", lo, hi))}
	}
	return nil
}

func validateString(path *field.Path, v string, maxLen int) field.ErrorList {
	switch {
	case v == "":
		return field.ErrorList{field.Required(path, "")}
	case len(v) > maxLen:
		return field.ErrorList{field.TooLong(path, v, maxLen)}
	}
	return nil
}

func validatePattern(path *field.Path, v string, maxLen int, re *regexp.Regexp) field.ErrorList {
	if errs := validateString(path, v, maxLen); len(errs) > 0 {
		return errs
	}
	if !re.MatchString(v) {
		return field.ErrorList{field.Invalid(path, v, "should match '"+re.String()+"'")}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
