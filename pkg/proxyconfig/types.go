package proxyconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Version of the bundle format. A sidecar refuses bundles of other versions.
const (
	APIVersion = "proxyconfig.tollgate.dev/v1"
	KindBundle = "Bundle"
)

// Bundle is every policy of one namespace, in precedence order: when several
// select a pod, the first one applies (the operator orders them oldest
// first, then by name).
type Bundle struct {
	// APIVersion is APIVersion; a sidecar refuses other versions.
	APIVersion string `json:"apiVersion"`
	// Kind is KindBundle.
	Kind string `json:"kind"`
	// Namespace is the namespace whose policies the bundle holds; empty in
	// a hand-written bundle for a standalone sidecar.
	Namespace string `json:"namespace,omitempty"`
	// Policies are the valid policies of the namespace, oldest first, then
	// by name. Never nil in a rendered bundle: an empty list means the
	// namespace has none.
	Policies []Policy `json:"policies"`
}

// Policy is one LLMPolicy with every default resolved.
type Policy struct {
	// Name is the name of the LLMPolicy the policy came from; with
	// Namespace it is reported in logs and in the x-tollgate-policy header.
	Name string `json:"name"`
	// Namespace is the LLMPolicy's namespace; empty for a standalone
	// policy file that names none.
	Namespace string `json:"namespace,omitempty"`
	// Generation is the LLMPolicy's metadata.generation.
	Generation int64 `json:"generation,omitempty"`

	// Mode is ModeEnforce or ModeDryRun; empty is ModeEnforce, so that a
	// bundle of an operator that knows no modes enforces.
	Mode Mode `json:"mode,omitempty"`

	// Selector picks the pods the policy applies to; nil selects all.
	Selector *Selector `json:"selector,omitempty"`

	// Providers are the upstreams the sidecar serves, each under
	// /<name>; at least one, names unique.
	Providers []Provider `json:"providers"`
	// Timeouts bound every request; always set (the API defaults them).
	Timeouts Timeouts `json:"timeouts"`
	// Retry re-sends failed attempts; nil makes one attempt only.
	Retry *Retry `json:"retry,omitempty"`
	// CircuitBreaker stops sending to a failing provider and model; nil
	// never breaks.
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	// RateLimit caps this sidecar's traffic; nil is unlimited.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
	// Budget caps the policy's spend per period; nil is no budget.
	Budget *Budget `json:"budget,omitempty"`
	// Fallbacks are tried in order once retries fail or the breaker is
	// open; empty has none.
	Fallbacks []Fallback `json:"fallbacks,omitempty"`
	// Cache, when set, answers repeated requests from memory; nil (or a
	// policy's cache.enabled: false) turns caching off.
	Cache *Cache `json:"cache,omitempty"`
	// Pricing overrides the built-in price table for the models it names,
	// on every provider of the policy.
	Pricing []ModelPrice `json:"pricing,omitempty"`
	// FailureRecords says what the failure records of the policy's
	// requests hold beyond what they always hold; nil keeps no request
	// body.
	FailureRecords *FailureRecords `json:"failureRecords,omitempty"`
	// Validation, when set, checks answers to requests that ask for
	// structured output; nil (or a policy's validation.enabled: false)
	// checks nothing.
	Validation *Validation `json:"validation,omitempty"`
}

// FailureRecords tunes the records a sidecar keeps of requests that failed
// or fell back.
type FailureRecords struct {
	// IncludeRequestBody keeps the app's request body, cut at
	// MaxBodyBytes, in each record.
	IncludeRequestBody bool `json:"includeRequestBody"`
	// MaxBodyBytes is how much of the body a record keeps; at least 1.
	MaxBodyBytes int `json:"maxBodyBytes"`
}

// RecordedBodyBytes is how much of a request body the policy's failure
// records keep: 0 when they keep none.
func (p *Policy) RecordedBodyBytes() int {
	if f := p.FailureRecords; f != nil && f.IncludeRequestBody {
		return f.MaxBodyBytes
	}
	return 0
}

// Ref is how the policy is named in headers and logs: namespace/name.
func (p *Policy) Ref() string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

// Provider returns the provider named name, or nil.
func (p *Policy) Provider(name string) *Provider {
	for i := range p.Providers {
		if p.Providers[i].Name == name {
			return &p.Providers[i]
		}
	}
	return nil
}

// Selector is a Kubernetes label selector, without the Kubernetes types.
type Selector struct {
	// MatchLabels selects pods that have every label, with its value.
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// MatchExpressions selects pods that meet every requirement, too.
	MatchExpressions []Requirement `json:"matchExpressions,omitempty"`
}

// Requirement is one label selector expression.
type Requirement struct {
	// Key is the label the requirement is about.
	Key string `json:"key"`
	// Operator is In, NotIn (both with Values), Exists or DoesNotExist
	// (both without).
	Operator string `json:"operator"`
	// Values are the label values In and NotIn compare with.
	Values []string `json:"values,omitempty"`
}

// ProviderType is the API family a provider speaks.
type ProviderType string

// Provider types; the same names as the LLMPolicy API's.
const (
	OpenAI           ProviderType = "OpenAI"
	Anthropic        ProviderType = "Anthropic"
	AzureOpenAI      ProviderType = "AzureOpenAI"
	Gemini           ProviderType = "Gemini"
	OpenAICompatible ProviderType = "OpenAICompatible"
)

// Provider is one upstream the sidecar serves under /<Name>.
type Provider struct {
	// Name is a DNS label, unique in the policy: the sidecar's route
	// prefix /<Name>, and the name of its credentials file.
	Name string `json:"name"`
	// Type is the API family the provider speaks.
	Type ProviderType `json:"type"`
	// BaseURL is the absolute http(s) URL requests go to, without a query;
	// the app's path after /<Name> is appended to it. Always set: the
	// public endpoint for types that have one.
	BaseURL string `json:"baseURL"`
	// Credentials, when set, names the Secret key holding the API key. The
	// sidecar reads the key from <credentials dir>/<provider name>, where
	// the operator mounts it; the key itself is never in a bundle.
	Credentials *SecretRef `json:"credentials,omitempty"`
	// Models is the allow-list of models; empty allows all.
	Models []string `json:"models,omitempty"`
}

// SecretRef names a key of a Secret in the policy's namespace.
type SecretRef struct {
	// Name is the Secret's name.
	Name string `json:"name"`
	// Key is the key of the Secret's data that holds the API key.
	Key string `json:"key"`
}

// Timeouts bound one request.
type Timeouts struct {
	// Connect bounds the TCP and TLS handshake of one attempt; positive.
	Connect Duration `json:"connect"`
	// FirstToken bounds the wait for the first byte of an answer (the first
	// token of a stream) of one attempt; positive, at most Total.
	FirstToken Duration `json:"firstToken"`
	// Total bounds the whole exchange, retries and fallbacks included; a
	// stream that started is ended cleanly at Total. Positive.
	Total Duration `json:"total"`
}

// Jitter is how retry delays are randomised.
type Jitter string

// Jitter modes.
const (
	JitterNone  Jitter = "None"
	JitterFull  Jitter = "Full"
	JitterEqual Jitter = "Equal"
)

// RetryCondition is a kind of failure that may be retried.
type RetryCondition string

// Retry conditions.
const (
	RetryOnTimeout         RetryCondition = "Timeout"
	RetryOnConnectionError RetryCondition = "ConnectionError"
	RetryOnRateLimited     RetryCondition = "RateLimited"
	RetryOnServerError     RetryCondition = "ServerError"
	RetryOnInvalidOutput   RetryCondition = "InvalidOutput"
)

// Retry re-sends failed attempts.
type Retry struct {
	// MaxAttempts counts attempts including the first; at least 1.
	MaxAttempts int `json:"maxAttempts"`
	// BackoffInitial is the delay before the first retry; it doubles each
	// retry up to BackoffMax. Positive, at most BackoffMax.
	BackoffInitial Duration `json:"backoffInitial"`
	// BackoffMax caps the delay between attempts; positive.
	BackoffMax Duration `json:"backoffMax"`
	// Jitter is how each delay is randomised.
	Jitter Jitter `json:"jitter"`
	// RetryOn are the failures that are retried; others fail at once.
	RetryOn []RetryCondition `json:"retryOn"`
	// HonorRetryAfter waits what a provider's Retry-After asks, up to
	// MaxRetryAfter, instead of the backoff.
	HonorRetryAfter bool `json:"honorRetryAfter"`
	// MaxRetryAfter is the longest Retry-After honoured; a longer one fails
	// fast with the provider's answer. Positive.
	MaxRetryAfter Duration `json:"maxRetryAfter"`
	// BudgetPercent caps retries at this percent of the requests in flight
	// (failsafe-go's retry budget), so that retries cannot multiply the
	// load on a failing provider. At least 1.
	BudgetPercent int `json:"budgetPercent"`
}

// CircuitBreaker opens on a failure rate over a window, or on consecutive
// failures: exactly one of FailureRateThreshold and ConsecutiveFailures is
// non-zero.
type CircuitBreaker struct {
	// FailureRateThreshold opens the breaker when this percent (1 to 100)
	// of the requests in Window failed; 0 when ConsecutiveFailures is set.
	FailureRateThreshold int `json:"failureRateThreshold,omitempty"`
	// MinimumRequests is how many requests Window must hold before the
	// rate counts; with FailureRateThreshold only.
	MinimumRequests int `json:"minimumRequests,omitempty"`
	// Window is the time over which the failure rate is measured; with
	// FailureRateThreshold only.
	Window Duration `json:"window,omitempty"`
	// ConsecutiveFailures opens the breaker after this many failures in a
	// row; 0 when FailureRateThreshold is set.
	ConsecutiveFailures int `json:"consecutiveFailures,omitempty"`
	// OpenDuration is how long the breaker stays open before it lets
	// HalfOpenRequests through to test the provider. Positive.
	OpenDuration Duration `json:"openDuration"`
	// HalfOpenRequests is how many trial requests a half-open breaker
	// admits; at least 1.
	HalfOpenRequests int `json:"halfOpenRequests"`
}

// RateLimit caps one sidecar's traffic; zero fields are unlimited.
type RateLimit struct {
	// RequestsPerMinute caps requests started per minute; 0 is unlimited.
	RequestsPerMinute int64 `json:"requestsPerMinute,omitempty"`
	// TokensPerMinute caps tokens per minute, estimated before a request
	// and corrected with its usage; 0 is unlimited.
	TokensPerMinute int64 `json:"tokensPerMinute,omitempty"`
	// MaxConcurrent caps requests in flight (a stream holds its slot until
	// it ends); 0 is unlimited.
	MaxConcurrent int `json:"maxConcurrent,omitempty"`
	// MaxWait is how long a request may wait for capacity before it is
	// refused with tollgate_rate_limited; 0 refuses at once.
	MaxWait Duration `json:"maxWait"`
}

// BudgetPeriod is the length of a budget period.
type BudgetPeriod string

// Budget periods.
const (
	Daily   BudgetPeriod = "Daily"
	Weekly  BudgetPeriod = "Weekly"
	Monthly BudgetPeriod = "Monthly"
)

// ExhaustedAction is what happens once a budget is spent.
type ExhaustedAction string

// Exhausted actions.
const (
	Block     ExhaustedAction = "Block"
	Downgrade ExhaustedAction = "Downgrade"
)

// Budget caps spend per period.
type Budget struct {
	// Period is how often spend resets, at 00:00 UTC.
	Period BudgetPeriod `json:"period"`
	// Limit is the most the policy's pods may spend per period; above zero.
	Limit USD `json:"limit"`
	// SoftLimitPercent is the percent of Limit (1 to 100) past which the
	// sidecar warns.
	SoftLimitPercent int `json:"softLimitPercent"`
	// OnExhausted is what happens to requests once Limit is reached.
	OnExhausted ExhaustedAction `json:"onExhausted"`
	// DowngradeTo is where requests go once the budget is spent; set
	// exactly when OnExhausted is Downgrade.
	DowngradeTo *ModelRef `json:"downgradeTo,omitempty"`
	// WhenLedgerUnreachable is what the sidecar does once it spent its
	// allowance while the ledger cannot be reached; empty takes the
	// sidecar's --ledger-unreachable default.
	WhenLedgerUnreachable LedgerUnreachableAction `json:"whenLedgerUnreachable,omitempty"`
}

// LedgerUnreachableAction is what a sidecar does, once its allowance is
// spent, while the budget ledger cannot be reached.
type LedgerUnreachableAction string

// Actions when the ledger cannot be reached.
const (
	LedgerBlock LedgerUnreachableAction = "Block"
	LedgerAllow LedgerUnreachableAction = "Allow"
)

// ModelRef names a model of a provider of the policy.
type ModelRef struct {
	// Provider is the name of a provider of the policy.
	Provider string `json:"provider"`
	// Model is the model to ask it for.
	Model string `json:"model"`
}

// Fallback is one rung of the fallback chain: a provider (and optionally a
// model), the last good answer to the same request, or a static response.
//
// Exactly one of Provider, CachedResponse and StaticResponse is set.
type Fallback struct {
	// Provider is the name of a provider of the policy to send the request
	// to.
	Provider string `json:"provider,omitempty"`
	// Model is the model to ask Provider for; empty keeps the request's.
	Model string `json:"model,omitempty"`
	// CachedResponse, when set, answers with the last good answer of the
	// app's provider and model to the same request, up to MaxStale old; on
	// one rung at most.
	CachedResponse *CachedResponse `json:"cachedResponse,omitempty"`
	// StaticResponse is text answered in the provider's own shape (JSON or
	// SSE); only on the last rung.
	StaticResponse string `json:"staticResponse,omitempty"`
}

// CachedResponse configures the fallback rung that serves kept answers.
// With it, the sidecar keeps the primary's complete 2xx answers whether or
// not Policy.Cache is set.
type CachedResponse struct {
	// MaxStale is how old a kept answer may be and still be served;
	// positive.
	MaxStale Duration `json:"maxStale"`
	// MaxEntries caps the answers kept; the least recently used go first.
	// At least 1.
	MaxEntries int `json:"maxEntries"`
}

// CachedRung returns the settings of p's cachedResponse rung, or nil when
// its chain has none.
func (p *Policy) CachedRung() *CachedResponse {
	for i := range p.Fallbacks {
		if c := p.Fallbacks[i].CachedResponse; c != nil {
			return c
		}
	}
	return nil
}

// Cache configures the response cache.
type Cache struct {
	// TTL is how long an answer is served from the cache; positive.
	TTL Duration `json:"ttl"`
	// MaxEntries caps the answers kept; the least recently used go first.
	// At least 1.
	MaxEntries int `json:"maxEntries"`
	// OnlyDeterministic caches only requests with temperature 0.
	OnlyDeterministic bool `json:"onlyDeterministic"`
	// Semantic, when set, also answers requests whose last user message
	// is close in meaning to an earlier one's, all else being equal; it
	// follows OnlyDeterministic.
	Semantic *SemanticCache `json:"semantic,omitempty"`
}

// SemanticCache configures the semantic cache.
type SemanticCache struct {
	// Embedding names the model that embeds last user messages.
	Embedding Embedding `json:"embedding"`
	// Threshold is the cosine similarity at or above which two messages
	// share an answer; above 0, at most 1.
	Threshold float64 `json:"threshold"`
	// MaxEntries caps the answers kept; at least 1.
	MaxEntries int `json:"maxEntries"`
	// TTL is how long an answer is served; positive.
	TTL Duration `json:"ttl"`
	// AllowToolCalls stores answers that call tools too.
	AllowToolCalls bool `json:"allowToolCalls,omitempty"`
}

// Embedding is the provider and model of the semantic cache's embeddings.
type Embedding struct {
	// Provider is the name of a provider of the policy whose type has an
	// embeddings endpoint (not Anthropic).
	Provider string `json:"provider"`
	// Model is the embedding model to ask it for.
	Model string `json:"model"`
	// Timeout bounds the embedding call, retries included; positive.
	Timeout Duration `json:"timeout"`
}

// Validation configures the checking of structured output.
type Validation struct {
	// BufferStreams holds a streamed answer to a request asking for
	// structured output whole, checks it, and only then sends it to the
	// app; false streams it through unchecked.
	BufferStreams bool `json:"bufferStreams,omitempty"`
}

// ModelPrice is a model's price in USD per million tokens, as decimals.
type ModelPrice struct {
	// Model is the model name as the app requests it; an override of a
	// model also prices its dated snapshots.
	Model string `json:"model"`
	// InputPerMillion is the price of a million input tokens not read from
	// the provider's prompt cache.
	InputPerMillion USD `json:"inputPerMillion"`
	// OutputPerMillion is the price of a million output tokens, reasoning
	// tokens included.
	OutputPerMillion USD `json:"outputPerMillion"`
	// CachedInputPerMillion is the price of a million input tokens read
	// from the prompt cache; nil prices them as InputPerMillion.
	CachedInputPerMillion *USD `json:"cachedInputPerMillion,omitempty"`
	// CacheWritePerMillion is the price, in USD per million tokens, of
	// input tokens written to the prompt cache for Anthropic's 5-minute
	// lifetime or a lifetime the answer does not say; nil prices them at
	// 1.25 × InputPerMillion.
	CacheWritePerMillion *USD `json:"cacheWritePerMillion,omitempty"`
	// CacheWrite1hPerMillion is the price, in USD per million tokens, of
	// input tokens written to Anthropic's one-hour prompt cache; nil
	// prices them at 2 × InputPerMillion.
	CacheWrite1hPerMillion *USD `json:"cacheWrite1hPerMillion,omitempty"`
	// MaxOutputTokens is the most output the model writes in one answer:
	// what a request that sets no max tokens reserves under a budget. 0
	// leaves the built-in table's figure, or 4096.
	MaxOutputTokens int64 `json:"maxOutputTokens,omitempty"`
}

// Duration is a time.Duration encoded as a Go duration string.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON encodes d as a duration string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON decodes a duration string such as "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like 500ms, 30s or 2m", s)
	}
	*d = Duration(v)
	return nil
}

// Decode reads a bundle from JSON, refusing unknown fields so that a typo
// in a hand-written bundle is an error rather than a silently ignored
// setting. It does not validate; call Validate.
func Decode(data []byte) (*Bundle, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Clone returns a deep copy of p, so that a compiled policy cannot be
// changed through the caller's pointers.
func (p *Policy) Clone() Policy {
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("proxyconfig: marshal policy: %v", err)) // plain data always marshals
	}
	var c Policy
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("proxyconfig: unmarshal policy: %v", err))
	}
	return c
}

// Matches tells whether a pod with labels is selected. A nil or empty
// selector selects every pod.
func (s *Selector) Matches(labels map[string]string) bool {
	if s == nil {
		return true
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		v, has := labels[r.Key]
		switch r.Operator {
		case "In":
			if !has || !slices.Contains(r.Values, v) {
				return false
			}
		case "NotIn":
			if has && slices.Contains(r.Values, v) {
				return false
			}
		case "Exists":
			if !has {
				return false
			}
		case "DoesNotExist":
			if has {
				return false
			}
		default:
			return false // Validate refuses unknown operators; match nothing if one slips through
		}
	}
	return true
}

// Select returns the first policy of the bundle that selects a pod with
// labels, or nil.
func (b *Bundle) Select(labels map[string]string) *Policy {
	for i := range b.Policies {
		if b.Policies[i].Selector.Matches(labels) {
			return &b.Policies[i]
		}
	}
	return nil
}
