package crd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/sidecar/loader"
	"tollgate.dev/tollgate/internal/translate"
)

// TestValidation_RejectsInvalidPolicies writes a valid policy changed by
// each case as a YAML manifest, and feeds the same bytes to the API server
// (OpenAPI and CEL rules of the CRD, strict field validation, as kubectl
// apply does) and to the standalone sidecar's policy-file loader. Both must
// reject it with every wanted fragment: the field path and what to do.
//
// A case changes the typed policy (mutate) or the manifest itself (edit):
// only the manifest can hold an explicit zero, an empty string, a null or an
// unknown field, which a typed policy cannot tell from an absent one.
func TestValidation_RejectsInvalidPolicies(t *testing.T) {
	tests := map[string]struct {
		mutate     func(p *v1alpha1.LLMPolicy)
		edit       func(obj map[string]any)
		wantErrors []string
	}{
		"an explicit zero maxAttempts": {
			edit:       set("spec.retry.maxAttempts", 0),
			wantErrors: []string{"spec.retry.maxAttempts", "must be between 1 and 10"},
		},
		"an explicit zero budgetPercent": {
			edit:       set("spec.retry.budgetPercent", 0),
			wantErrors: []string{"spec.retry.budgetPercent", "must be between 1 and 100"},
		},
		"an explicit zero minimumRequests": {
			edit:       set("spec.circuitBreaker.minimumRequests", 0),
			wantErrors: []string{"spec.circuitBreaker.minimumRequests", "must be between 1 and 10000"},
		},
		"an explicit zero halfOpenRequests": {
			edit:       set("spec.circuitBreaker.halfOpenRequests", 0),
			wantErrors: []string{"spec.circuitBreaker.halfOpenRequests", "must be between 1 and 100"},
		},
		"an explicit zero softLimitPercent": {
			edit:       set("spec.budget.softLimitPercent", 0),
			wantErrors: []string{"spec.budget.softLimitPercent", "must be between 1 and 100"},
		},
		"an explicit zero maxEntries": {
			edit:       set("spec.cache.maxEntries", 0),
			wantErrors: []string{"spec.cache.maxEntries", "must be between 1 and 1000000"},
		},
		"an explicit empty budget period": {
			edit:       set("spec.budget.period", ""),
			wantErrors: []string{`spec.budget.period: Unsupported value: ""`},
		},
		"an explicit empty onExhausted": {
			edit:       set("spec.budget.onExhausted", ""),
			wantErrors: []string{`spec.budget.onExhausted: Unsupported value: ""`},
		},
		"an explicit empty jitter": {
			edit:       set("spec.retry.backoff.jitter", ""),
			wantErrors: []string{`spec.retry.backoff.jitter: Unsupported value: ""`},
		},
		"an explicit empty cache TTL": {
			edit:       set("spec.cache.ttl", ""),
			wantErrors: []string{"spec.cache.ttl", "must be a positive duration"},
		},
		"an explicit empty connect timeout": {
			edit:       set("spec.timeouts.connect", ""),
			wantErrors: []string{"spec.timeouts.connect", "must be a positive duration"},
		},
		"an explicit empty mode": {
			edit:       set("spec.mode", ""),
			wantErrors: []string{`spec.mode: Unsupported value: ""`, `"Enforce"`, `"DryRun"`},
		},
		"an unknown mode": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Mode = "Shadow" },
			wantErrors: []string{`spec.mode: Unsupported value: "Shadow"`, `"Enforce"`, `"DryRun"`},
		},
		"a mode of the wrong case": {
			edit:       set("spec.mode", "dryRun"),
			wantErrors: []string{`spec.mode: Unsupported value: "dryRun"`},
		},
		"a misspelt field": {
			edit:       set("spec.retry.maxAttemps", 3),
			wantErrors: []string{`unknown field "spec.retry.maxAttemps"`},
		},
		"a field of the wrong case": {
			edit:       set("spec.Retry", map[string]any{}),
			wantErrors: []string{`unknown field "spec.Retry"`},
		},
		"a number written as a string": {
			edit:       set("spec.retry.maxAttempts", "3"),
			wantErrors: []string{"spec.retry.maxAttempts"},
		},
		"a policy without providers": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Providers = nil },
			wantErrors: []string{"spec.providers: Required value"},
		},
		"two providers with one name": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Providers = append(p.Spec.Providers, v1alpha1.Provider{Name: "openai", Type: v1alpha1.ProviderOpenAI})
			},
			wantErrors: []string{"spec.providers[2]: Duplicate value", "provider names must be unique; rename one of the duplicates"},
		},
		"a provider name that is not a DNS label": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Providers[0].Name = "Open_AI" },
			wantErrors: []string{"spec.providers[0].name", "must be a DNS label"},
		},
		"an unknown provider type": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Providers[0].Type = "Mistral" },
			wantErrors: []string{`spec.providers[0].type: Unsupported value: "Mistral"`, `"OpenAICompatible"`},
		},
		"an Azure OpenAI provider without baseURL": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Providers = append(p.Spec.Providers, v1alpha1.Provider{Name: "azure", Type: v1alpha1.ProviderAzureOpenAI})
			},
			wantErrors: []string{"spec.providers[2].baseURL: Required value", "baseURL is required for providers of type AzureOpenAI and OpenAICompatible"},
		},
		"a baseURL that is not http": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Providers[0].BaseURL = "ftp://api.openai.com" },
			wantErrors: []string{"spec.providers[0].baseURL", "must be an absolute http or https URL"},
		},
		"a baseURL with a query": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Providers[0].BaseURL = "https://api.openai.com?key=x" },
			wantErrors: []string{"spec.providers[0].baseURL", "must not contain a query or fragment"},
		},
		"a duration that does not parse": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Timeouts.Connect = "fast" },
			wantErrors: []string{"spec.timeouts.connect", "must be a positive duration such as 500ms, 5s or 2m"},
		},
		"a zero duration": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Retry.MaxRetryAfter = "0s" },
			wantErrors: []string{"spec.retry.maxRetryAfter", "must be a positive duration"},
		},
		"a first-token timeout longer than the total": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Timeouts.FirstToken = "10m" },
			wantErrors: []string{"spec.timeouts.firstToken", "timeouts.firstToken must not exceed timeouts.total; raise total or lower firstToken"},
		},
		"an initial backoff above the max": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Retry.Backoff = &v1alpha1.Backoff{Initial: "20s", Max: "1s", Jitter: v1alpha1.JitterNone}
			},
			wantErrors: []string{"spec.retry.backoff.initial", "retry.backoff.initial must not exceed retry.backoff.max"},
		},
		"too many attempts": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Retry.MaxAttempts = 11 },
			wantErrors: []string{"spec.retry.maxAttempts", "must be between 1 and 10"},
		},
		"an unknown retry condition": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Retry.RetryOn = []v1alpha1.RetryCondition{v1alpha1.RetryOnServerError, "Always"}
			},
			wantErrors: []string{`spec.retry.retryOn[1]: Unsupported value: "Always"`},
		},
		"a breaker with both a rate and a count threshold": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.CircuitBreaker.ConsecutiveFailures = ptr.To[int32](5) },
			wantErrors: []string{"spec.circuitBreaker: Invalid value", "set exactly one of circuitBreaker.failureRateThreshold and circuitBreaker.consecutiveFailures"},
		},
		"a breaker with no threshold": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.CircuitBreaker.FailureRateThreshold = nil },
			wantErrors: []string{"spec.circuitBreaker: Invalid value", "set exactly one of"},
		},
		"a failure rate above 100 percent": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.CircuitBreaker.FailureRateThreshold = ptr.To[int32](150) },
			wantErrors: []string{"spec.circuitBreaker.failureRateThreshold", "must be between 1 and 100"},
		},
		"a rate limit that limits nothing": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.RateLimit = &v1alpha1.RateLimit{MaxWait: "1s"} },
			wantErrors: []string{"spec.rateLimit: Invalid value", "set at least one of rateLimit.requestsPerMinute, rateLimit.tokensPerMinute and rateLimit.maxConcurrent"},
		},
		"a budget limit that is not an amount": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Budget.Limit = "$500" },
			wantErrors: []string{"spec.budget.limit", `must be a USD amount as a decimal string with at most 6 decimals, such as "250"`},
		},
		"a zero budget": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Budget.Limit = "0.00" },
			wantErrors: []string{"spec.budget.limit", "must be greater than zero"},
		},
		"a downgrade without a target": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Budget.DowngradeTo = nil },
			wantErrors: []string{"spec.budget.downgradeTo", "budget.downgradeTo is required when budget.onExhausted is Downgrade"},
		},
		"a downgrade target when blocking": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Budget.OnExhausted = v1alpha1.ExhaustedBlock },
			wantErrors: []string{"spec.budget.downgradeTo", "must be omitted otherwise"},
		},
		"a downgrade to an undeclared provider": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Budget.DowngradeTo.Provider = "mistral" },
			wantErrors: []string{"spec.budget.downgradeTo.provider", "spec.budget.downgradeTo.provider mistral is not declared in spec.providers"},
		},
		"a fallback to an undeclared provider": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Fallbacks[0].Provider = "mistral" },
			wantErrors: []string{"spec.fallbacks: Invalid value", "spec.fallbacks[0].provider mistral is not declared in spec.providers; fix the name or declare the provider"},
		},
		"a later fallback to an undeclared provider": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Fallbacks = append([]v1alpha1.FallbackRung{p.Spec.Fallbacks[0], {Provider: "mistral"}}, p.Spec.Fallbacks[1:]...)
			},
			wantErrors: []string{"spec.fallbacks[1].provider mistral is not declared in spec.providers"},
		},
		"a static response before the last rung": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Fallbacks[0], p.Spec.Fallbacks[1] = p.Spec.Fallbacks[1], p.Spec.Fallbacks[0]
			},
			wantErrors: []string{"spec.fallbacks", "staticResponse may only be used once, as the last fallback rung"},
		},
		"a rung with both a provider and a static response": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Fallbacks[1].Provider = "anthropic"
			},
			wantErrors: []string{"spec.fallbacks[1]", "each fallback rung sets exactly one of provider (with an optional model), cachedResponse or staticResponse"},
		},
		"a rung with a model but no provider": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Fallbacks[0].Provider = ""
			},
			wantErrors: []string{"spec.fallbacks[0].model", "a fallback rung with a model must also name its provider"},
		},
		"a rung with both a provider and a cached response": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Fallbacks[0].CachedResponse = &v1alpha1.CachedResponse{}
			},
			wantErrors: []string{"spec.fallbacks[0]", "each fallback rung sets exactly one of provider (with an optional model), cachedResponse or staticResponse"},
		},
		"a rung with both a cached and a static response": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Fallbacks[1].CachedResponse = &v1alpha1.CachedResponse{}
			},
			wantErrors: []string{"spec.fallbacks[1]", "each fallback rung sets exactly one of provider (with an optional model), cachedResponse or staticResponse"},
		},
		"an empty rung": {
			edit: func(obj map[string]any) {
				spec := obj["spec"].(map[string]any)
				spec["fallbacks"] = append(spec["fallbacks"].([]any)[:1:1], map[string]any{}, spec["fallbacks"].([]any)[1])
			},
			wantErrors: []string{"spec.fallbacks[1]", "each fallback rung sets exactly one of provider (with an optional model), cachedResponse or staticResponse"},
		},
		"two cached response rungs": {
			mutate:     withCachedRungs(v1alpha1.CachedResponse{MaxStale: "1h"}, v1alpha1.CachedResponse{MaxStale: "2h"}),
			wantErrors: []string{"spec.fallbacks", "cachedResponse may only be used once in spec.fallbacks; keep one cachedResponse rung"},
		},
		"a maxStale over 30 days": {
			mutate:     withCachedRungs(v1alpha1.CachedResponse{MaxStale: "721h"}),
			wantErrors: []string{"spec.fallbacks[0].cachedResponse.maxStale", "cachedResponse.maxStale must be between 1s and 720h (30 days)"},
		},
		"a maxStale under a second": {
			mutate:     withCachedRungs(v1alpha1.CachedResponse{MaxStale: "500ms"}),
			wantErrors: []string{"spec.fallbacks[0].cachedResponse.maxStale", "cachedResponse.maxStale must be between 1s and 720h (30 days)"},
		},
		"a maxStale in days": {
			mutate:     withCachedRungs(v1alpha1.CachedResponse{MaxStale: "2d"}),
			wantErrors: []string{"spec.fallbacks[0].cachedResponse.maxStale", "must be a positive duration such as 500ms, 5s or 2m"},
		},
		"an explicit empty maxStale": {
			mutate:     withCachedRungs(v1alpha1.CachedResponse{MaxStale: "1h"}),
			edit:       setRung(0, "cachedResponse", map[string]any{"maxStale": ""}),
			wantErrors: []string{"spec.fallbacks[0].cachedResponse.maxStale", "must be a positive duration"},
		},
		"an explicit zero cachedResponse maxEntries": {
			mutate:     withCachedRungs(v1alpha1.CachedResponse{MaxStale: "1h"}),
			edit:       setRung(0, "cachedResponse", map[string]any{"maxEntries": 0}),
			wantErrors: []string{"spec.fallbacks[0].cachedResponse.maxEntries", "must be between 1 and 1000000"},
		},
		"too many cached answers": {
			mutate:     withCachedRungs(v1alpha1.CachedResponse{MaxStale: "1h", MaxEntries: 1000001}),
			wantErrors: []string{"spec.fallbacks[0].cachedResponse.maxEntries", "must be between 1 and 1000000"},
		},
		"a maxStale no longer than the cache's ttl": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				withCachedRungs(v1alpha1.CachedResponse{MaxStale: "1m"})(p) // the cache's ttl is 1m
			},
			wantErrors: []string{"spec.fallbacks", "a cachedResponse rung's maxStale must be longer than cache.ttl", "raise maxStale or lower cache.ttl"},
		},
		"a default maxStale shorter than a long ttl": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				withCachedRungs(v1alpha1.CachedResponse{})(p)
				p.Spec.Cache.TTL = "48h"
			},
			wantErrors: []string{"spec.fallbacks", "a cachedResponse rung's maxStale must be longer than cache.ttl"},
		},
		"a price with a currency sign": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Pricing = []v1alpha1.ModelPrice{{Model: "my-model", InputPerMillion: "$1", OutputPerMillion: "2"}}
			},
			wantErrors: []string{"spec.pricing[0].inputPerMillion", "must be a USD price per million tokens"},
		},
		"a cache-write price that is not a decimal": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Pricing = []v1alpha1.ModelPrice{{Model: "my-claude", InputPerMillion: "3", OutputPerMillion: "15", CacheWritePerMillion: "1.25x"}}
			},
			wantErrors: []string{"spec.pricing[0].cacheWritePerMillion", "must be a USD price per million tokens"},
		},
		"a one-hour cache-write price with too many decimals": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Pricing = []v1alpha1.ModelPrice{{Model: "my-claude", InputPerMillion: "3", OutputPerMillion: "15", CacheWrite1hPerMillion: "6.0000001"}}
			},
			wantErrors: []string{"spec.pricing[0].cacheWrite1hPerMillion", "must be a USD price per million tokens"},
		},
		"a selector label key with a space": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"my app": "chat"}}
			},
			wantErrors: []string{"spec.podSelector.matchLabels", "each key must be a label key", "e.g. app or app.kubernetes.io/name"},
		},
		"a selector label value with a slash": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"app": "chat/v2"}}
			},
			wantErrors: []string{"spec.podSelector.matchLabels[app]", "must be a label value"},
		},
		"a selector requirement with an unknown operator": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{{Key: "app", Operator: "Like"}}}
			},
			wantErrors: []string{`spec.podSelector.matchExpressions[0].operator: Unsupported value: "Like"`, `"DoesNotExist"`},
		},
		"a selector requirement In without values": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{{Key: "app", Operator: "In"}}}
			},
			wantErrors: []string{"spec.podSelector.matchExpressions[0]", "operators In and NotIn need values; Exists and DoesNotExist take none"},
		},
		"a selector requirement key with a bad prefix": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{{Key: "Example.COM_/app", Operator: "Exists"}}}
			},
			wantErrors: []string{"spec.podSelector.matchExpressions[0].key", "must be a label key"},
		},
		"a selector requirement value that is too long": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				long := v1alpha1.LabelValue(strings.Repeat("a", 64))
				p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{{Key: "app", Operator: "In", Values: []v1alpha1.LabelValue{"ok", long}}}}
			},
			wantErrors: []string{"spec.podSelector.matchExpressions[0].values[1]: Too long", "63"},
		},
		"an explicit zero failureRecords maxBodyBytes": {
			edit:       set("spec.failureRecords.maxBodyBytes", 0),
			wantErrors: []string{"spec.failureRecords.maxBodyBytes", "must be between 1 and 65536"},
		},
		"a failureRecords maxBodyBytes over 64 KiB": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.FailureRecords = &v1alpha1.FailureRecords{IncludeRequestBody: ptr.To(true), MaxBodyBytes: 65537}
			},
			wantErrors: []string{"spec.failureRecords.maxBodyBytes", "must be between 1 and 65536"},
		},
		"a negative failureRecords maxBodyBytes": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.FailureRecords = &v1alpha1.FailureRecords{MaxBodyBytes: -1} },
			wantErrors: []string{"spec.failureRecords.maxBodyBytes", "must be between 1 and 65536"},
		},
		"an unknown failureRecords field": {
			edit:       set("spec.failureRecords.includeHeaders", true),
			wantErrors: []string{`unknown field "spec.failureRecords.includeHeaders"`},
		},
		"a semantic cache embedding with an undeclared provider": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Embedding.Provider = "mistral" },
			wantErrors: []string{"spec.cache.semantic.embedding.provider", "spec.cache.semantic.embedding.provider mistral is not declared in spec.providers; add it or name a declared provider"},
		},
		"a semantic cache embedding with a provider that has no embeddings": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Embedding.Provider = "anthropic" },
			wantErrors: []string{"spec.cache.semantic.embedding.provider", "is of type Anthropic, which has no embeddings endpoint; name an OpenAI, AzureOpenAI, Gemini or OpenAICompatible provider"},
		},
		"a semantic cache embedding without a model": {
			edit:       set("spec.cache.semantic.embedding.model", ""),
			wantErrors: []string{"spec.cache.semantic.embedding.model"},
		},
		"a semantic cache threshold above 1": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Threshold = "1.5" },
			wantErrors: []string{"spec.cache.semantic.threshold", `must be a decimal between 0.5 and 1 with at most 4 decimals, such as "0.95"`},
		},
		"a semantic cache threshold of 1.01": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Threshold = "1.01" },
			wantErrors: []string{"spec.cache.semantic.threshold", "must be a decimal between 0.5 and 1"},
		},
		"a semantic cache threshold below 0.5": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Threshold = "0.42" },
			wantErrors: []string{"spec.cache.semantic.threshold", "must be a decimal between 0.5 and 1"},
		},
		"a semantic cache threshold that is not a number": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Threshold = "high" },
			wantErrors: []string{"spec.cache.semantic.threshold", "must be a decimal between 0.5 and 1"},
		},
		"a semantic cache threshold with too many decimals": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Threshold = "0.95001" },
			wantErrors: []string{"spec.cache.semantic.threshold: Too long: may not be more than 6 bytes"},
		},
		"an explicit empty semantic cache threshold": {
			edit:       set("spec.cache.semantic.threshold", ""),
			wantErrors: []string{"spec.cache.semantic.threshold", "must be a decimal between 0.5 and 1"},
		},
		"an explicit zero semantic cache maxEntries": {
			edit:       set("spec.cache.semantic.maxEntries", 0),
			wantErrors: []string{"spec.cache.semantic.maxEntries", "must be between 1 and 100000"},
		},
		"a semantic cache too large": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.MaxEntries = 200000 },
			wantErrors: []string{"spec.cache.semantic.maxEntries", "must be between 1 and 100000"},
		},
		"an explicit empty semantic cache TTL": {
			edit:       set("spec.cache.semantic.ttl", ""),
			wantErrors: []string{"spec.cache.semantic.ttl", "must be a positive duration"},
		},
		"a zero embedding timeout": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.Semantic.Embedding.Timeout = "0s" },
			wantErrors: []string{"spec.cache.semantic.embedding.timeout", "must be a positive duration"},
		},
		"a semantic cache without an embedding": {
			edit:       set("spec.cache.semantic", map[string]any{"threshold": "0.9"}),
			wantErrors: []string{"spec.cache.semantic.embedding"},
		},
		"an unknown stream validation mode": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Validation.Streams = "Sometimes" },
			wantErrors: []string{`spec.validation.streams: Unsupported value: "Sometimes"`, `"PassThrough"`, `"Buffer"`},
		},
		"an explicit empty stream validation mode": {
			edit:       set("spec.validation.streams", ""),
			wantErrors: []string{`spec.validation.streams: Unsupported value: ""`},
		},
		"a misspelt validation field": {
			edit:       set("spec.validation.stream", "Buffer"),
			wantErrors: []string{`unknown field "spec.validation.stream"`},
		},
		"an unknown retry condition next to InvalidOutput": {
			mutate: func(p *v1alpha1.LLMPolicy) {
				p.Spec.Retry.RetryOn = []v1alpha1.RetryCondition{v1alpha1.RetryOnInvalidOutput, "InvalidJSON"}
			},
			wantErrors: []string{`spec.retry.retryOn[1]: Unsupported value: "InvalidJSON"`, `"InvalidOutput"`},
		},
		"a cache with no room": {
			mutate:     func(p *v1alpha1.LLMPolicy) { p.Spec.Cache.MaxEntries = -1 },
			wantErrors: []string{"spec.cache.maxEntries", "must be between 1 and 1000000"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := validPolicy()
			if tc.mutate != nil {
				tc.mutate(p)
			}
			obj := toObject(t, p)
			if tc.edit != nil {
				tc.edit(obj)
			}
			manifest, err := yaml.Marshal(obj)
			require.NoError(t, err)

			err = applyManifest(t, manifest)
			require.Error(t, err, "the API server accepted an invalid policy:\n%s", manifest)
			for _, want := range tc.wantErrors {
				assert.Contains(t, err.Error(), want, "API server")
			}

			// The standalone sidecar's policy file: decoding with the CRD's
			// defaults, validation and translation (which parses durations
			// and USD amounts).
			_, goErr := loader.Parse(manifest, nil)
			require.Error(t, goErr, "the policy-file loader accepted a policy the API server rejects:\n%s", manifest)
			for _, want := range tc.wantErrors {
				assert.Contains(t, goErr.Error(), want, "policy-file loader")
			}
		})
	}
}

// withCachedRungs puts a cachedResponse rung for each of rungs at the head
// of the fallback chain.
func withCachedRungs(rungs ...v1alpha1.CachedResponse) func(p *v1alpha1.LLMPolicy) {
	return func(p *v1alpha1.LLMPolicy) {
		var head []v1alpha1.FallbackRung
		for _, r := range rungs {
			head = append(head, v1alpha1.FallbackRung{CachedResponse: r.DeepCopy()})
		}
		p.Spec.Fallbacks = append(head, p.Spec.Fallbacks...)
	}
}

// setRung returns an edit that sets field of the i-th fallback rung of a
// manifest to the members of v, over what the field held.
func setRung(i int, name string, v map[string]any) func(obj map[string]any) {
	return func(obj map[string]any) {
		rung := obj["spec"].(map[string]any)["fallbacks"].([]any)[i].(map[string]any)
		f, ok := rung[name].(map[string]any)
		if !ok {
			f = map[string]any{}
			rung[name] = f
		}
		for k, x := range v {
			f[k] = x
		}
	}
}

// toObject is p as a manifest a user would write.
func toObject(t *testing.T, p *v1alpha1.LLMPolicy) map[string]any {
	t.Helper()
	p = p.DeepCopy()
	p.APIVersion, p.Kind = v1alpha1.GroupVersion.String(), "LLMPolicy"
	if p.Name == "" {
		p.Name = p.GenerateName + rand.String(5)
		p.GenerateName = ""
	}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(data, &obj))
	delete(obj, "status")
	delete(obj["metadata"].(map[string]any), "creationTimestamp")
	return obj
}

// applyManifest creates the manifest as kubectl apply would, rejecting
// unknown fields, and deletes it again if the API server accepted it.
func applyManifest(t *testing.T, manifest []byte) error {
	t.Helper()
	u := &unstructured.Unstructured{}
	require.NoError(t, yaml.Unmarshal(manifest, &u.Object))
	u.SetNamespace(namespace)
	err := env.Client.Create(context.Background(), u, client.FieldValidation("Strict"))
	if err == nil {
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), u) })
	}
	return err
}

// set returns an edit that sets the field at a dotted path of a manifest,
// creating the objects on the way.
func set(path string, v any) func(obj map[string]any) {
	return func(obj map[string]any) {
		keys := strings.Split(path, ".")
		for _, k := range keys[:len(keys)-1] {
			next, ok := obj[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[k] = next
			}
			obj = next
		}
		obj[keys[len(keys)-1]] = v
	}
}

// validPolicy uses every block, so that each case can break one thing.
func validPolicy() *v1alpha1.LLMPolicy {
	return &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "invalid-", Namespace: namespace},
		Spec: v1alpha1.LLMPolicySpec{
			Providers: []v1alpha1.Provider{
				{Name: "openai", Type: v1alpha1.ProviderOpenAI},
				{Name: "anthropic", Type: v1alpha1.ProviderAnthropic, BaseURL: "https://api.anthropic.com"},
			},
			Timeouts:       &v1alpha1.Timeouts{Connect: "5s", FirstToken: "30s", Total: "2m"},
			Retry:          &v1alpha1.Retry{MaxAttempts: 3, MaxRetryAfter: "20s"},
			CircuitBreaker: &v1alpha1.CircuitBreaker{FailureRateThreshold: ptr.To[int32](50)},
			RateLimit:      &v1alpha1.RateLimit{RequestsPerMinute: ptr.To[int32](60)},
			Budget: &v1alpha1.Budget{
				Limit:       "100",
				OnExhausted: v1alpha1.ExhaustedDowngrade,
				DowngradeTo: &v1alpha1.ModelRef{Provider: "openai", Model: "gpt-4o-mini"},
			},
			Fallbacks: []v1alpha1.FallbackRung{
				{Provider: "anthropic", Model: "claude-haiku-4-5"},
				{StaticResponse: &v1alpha1.StaticResponse{Content: "busy"}},
			},
			Cache: &v1alpha1.Cache{TTL: "1m", Semantic: &v1alpha1.SemanticCache{
				Embedding: v1alpha1.SemanticEmbedding{Provider: "openai", Model: "text-embedding-3-small"},
			}},
			Validation: &v1alpha1.OutputValidation{Streams: v1alpha1.StreamBuffer},
			Pricing: []v1alpha1.ModelPrice{{
				Model: "my-claude", InputPerMillion: "3", OutputPerMillion: "15", CachedInputPerMillion: "0.30",
				CacheWritePerMillion: "3.75", CacheWrite1hPerMillion: "6",
			}},
		},
	}
}

func TestValidation_AcceptsTheValidBase(t *testing.T) {
	p := validPolicy()
	create(t, p)
	_, err := translate.File(p)
	assert.NoError(t, err)
}
