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
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Policies   []Policy `json:"policies"`
}

// Policy is one LLMPolicy with every default resolved.
type Policy struct {
	// Name and Namespace identify the LLMPolicy the policy came from; they
	// are reported in logs and in the x-tollgate-policy header.
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	// Generation is the LLMPolicy's metadata.generation.
	Generation int64 `json:"generation,omitempty"`

	// Selector picks the pods the policy applies to; nil selects all.
	Selector *Selector `json:"selector,omitempty"`

	Providers      []Provider      `json:"providers"`
	Timeouts       Timeouts        `json:"timeouts"`
	Retry          *Retry          `json:"retry,omitempty"`
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	RateLimit      *RateLimit      `json:"rateLimit,omitempty"`
	Budget         *Budget         `json:"budget,omitempty"`
	Fallbacks      []Fallback      `json:"fallbacks,omitempty"`
	Cache          *Cache          `json:"cache,omitempty"`
	// Pricing overrides the built-in price table for the models it names.
	Pricing []ModelPrice `json:"pricing,omitempty"`
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
	MatchLabels      map[string]string `json:"matchLabels,omitempty"`
	MatchExpressions []Requirement     `json:"matchExpressions,omitempty"`
}

// Requirement is one label selector expression.
type Requirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"` // In, NotIn, Exists, DoesNotExist
	Values   []string `json:"values,omitempty"`
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
	Name    string       `json:"name"`
	Type    ProviderType `json:"type"`
	BaseURL string       `json:"baseURL"`
	// Credentials, when set, names the Secret key holding the API key. The
	// sidecar reads the key from <credentials dir>/<provider name>, where
	// the operator mounts it; the key itself is never in a bundle.
	Credentials *SecretRef `json:"credentials,omitempty"`
	// Models is the allow-list of models; empty allows all.
	Models []string `json:"models,omitempty"`
}

// SecretRef names a key of a Secret in the policy's namespace.
type SecretRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Timeouts bound one request.
type Timeouts struct {
	Connect    Duration `json:"connect"`
	FirstToken Duration `json:"firstToken"`
	Total      Duration `json:"total"`
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
)

// Retry re-sends failed attempts.
type Retry struct {
	MaxAttempts     int              `json:"maxAttempts"`
	BackoffInitial  Duration         `json:"backoffInitial"`
	BackoffMax      Duration         `json:"backoffMax"`
	Jitter          Jitter           `json:"jitter"`
	RetryOn         []RetryCondition `json:"retryOn"`
	HonorRetryAfter bool             `json:"honorRetryAfter"`
	MaxRetryAfter   Duration         `json:"maxRetryAfter"`
	BudgetPercent   int              `json:"budgetPercent"`
}

// CircuitBreaker opens on a failure rate over a window, or on consecutive
// failures: exactly one of FailureRateThreshold and ConsecutiveFailures is
// non-zero.
type CircuitBreaker struct {
	FailureRateThreshold int      `json:"failureRateThreshold,omitempty"` // percent
	MinimumRequests      int      `json:"minimumRequests,omitempty"`
	Window               Duration `json:"window,omitempty"`
	ConsecutiveFailures  int      `json:"consecutiveFailures,omitempty"`
	OpenDuration         Duration `json:"openDuration"`
	HalfOpenRequests     int      `json:"halfOpenRequests"`
}

// RateLimit caps one sidecar's traffic; zero fields are unlimited.
type RateLimit struct {
	RequestsPerMinute int64    `json:"requestsPerMinute,omitempty"`
	TokensPerMinute   int64    `json:"tokensPerMinute,omitempty"`
	MaxConcurrent     int      `json:"maxConcurrent,omitempty"`
	MaxWait           Duration `json:"maxWait"`
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
	Period           BudgetPeriod    `json:"period"`
	Limit            USD             `json:"limit"`
	SoftLimitPercent int             `json:"softLimitPercent"`
	OnExhausted      ExhaustedAction `json:"onExhausted"`
	DowngradeTo      *ModelRef       `json:"downgradeTo,omitempty"`
}

// ModelRef names a model of a provider of the policy.
type ModelRef struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// Fallback is one rung of the fallback chain: a provider (and optionally a
// model), or a static response.
type Fallback struct {
	Provider       string `json:"provider,omitempty"`
	Model          string `json:"model,omitempty"`
	StaticResponse string `json:"staticResponse,omitempty"`
}

// Cache configures the response cache.
type Cache struct {
	TTL               Duration `json:"ttl"`
	MaxEntries        int      `json:"maxEntries"`
	OnlyDeterministic bool     `json:"onlyDeterministic"`
}

// ModelPrice is a model's price in USD per million tokens, as decimals.
type ModelPrice struct {
	Model                 string `json:"model"`
	InputPerMillion       USD    `json:"inputPerMillion"`
	OutputPerMillion      USD    `json:"outputPerMillion"`
	CachedInputPerMillion *USD   `json:"cachedInputPerMillion,omitempty"`
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
