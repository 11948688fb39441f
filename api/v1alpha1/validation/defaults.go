package validation

import "tollgate.dev/tollgate/api/v1alpha1"

// Default values of LLMPolicy fields. The API server applies them from the
// CRD's schema (the +kubebuilder:default markers); Default applies the same
// values in Go for policies read from a file, and a test against a real API
// server keeps the two in step.
const (
	DefaultConnectTimeout    v1alpha1.Duration = "5s"
	DefaultFirstTokenTimeout v1alpha1.Duration = "60s"
	DefaultTotalTimeout      v1alpha1.Duration = "10m"

	DefaultMaxAttempts    int32               = 3
	DefaultBackoffInitial v1alpha1.Duration   = "500ms"
	DefaultBackoffMax     v1alpha1.Duration   = "10s"
	DefaultJitter         v1alpha1.JitterMode = v1alpha1.JitterFull
	DefaultMaxRetryAfter  v1alpha1.Duration   = "30s"
	DefaultBudgetPercent  int32               = 20

	DefaultMinimumRequests  int32             = 10
	DefaultWindow           v1alpha1.Duration = "60s"
	DefaultOpenDuration     v1alpha1.Duration = "30s"
	DefaultHalfOpenRequests int32             = 1

	DefaultMaxWait v1alpha1.Duration = "10s"

	DefaultBudgetPeriod     v1alpha1.BudgetPeriod    = v1alpha1.BudgetMonthly
	DefaultSoftLimitPercent int32                    = 80
	DefaultOnExhausted      v1alpha1.ExhaustedAction = v1alpha1.ExhaustedBlock

	DefaultCacheTTL        v1alpha1.Duration = "5m"
	DefaultCacheMaxEntries int32             = 1000
)

// DefaultRetryOn is the default of retry.retryOn: every retryable failure.
func DefaultRetryOn() []v1alpha1.RetryCondition {
	return []v1alpha1.RetryCondition{v1alpha1.RetryOnTimeout, v1alpha1.RetryOnConnectionError, v1alpha1.RetryOnRateLimited, v1alpha1.RetryOnServerError}
}

// Default fills in the defaults the API server would, for a policy that did
// not come through one (the sidecar's standalone policy file).
func Default(p *v1alpha1.LLMPolicy) {
	DefaultSpec(&p.Spec)
}

// DefaultSpec fills in the defaults of every field that has one.
func DefaultSpec(s *v1alpha1.LLMPolicySpec) {
	if s.Timeouts == nil {
		s.Timeouts = &v1alpha1.Timeouts{}
	}
	setDuration(&s.Timeouts.Connect, DefaultConnectTimeout)
	setDuration(&s.Timeouts.FirstToken, DefaultFirstTokenTimeout)
	setDuration(&s.Timeouts.Total, DefaultTotalTimeout)

	if r := s.Retry; r != nil {
		setInt32(&r.MaxAttempts, DefaultMaxAttempts)
		if r.Backoff == nil {
			r.Backoff = &v1alpha1.Backoff{}
		}
		setDuration(&r.Backoff.Initial, DefaultBackoffInitial)
		setDuration(&r.Backoff.Max, DefaultBackoffMax)
		if r.Backoff.Jitter == "" {
			r.Backoff.Jitter = DefaultJitter
		}
		if r.RetryOn == nil {
			r.RetryOn = DefaultRetryOn()
		}
		setBool(&r.HonorRetryAfter, true)
		setDuration(&r.MaxRetryAfter, DefaultMaxRetryAfter)
		setInt32(&r.BudgetPercent, DefaultBudgetPercent)
	}

	if cb := s.CircuitBreaker; cb != nil {
		setInt32(&cb.MinimumRequests, DefaultMinimumRequests)
		setDuration(&cb.Window, DefaultWindow)
		setDuration(&cb.OpenDuration, DefaultOpenDuration)
		setInt32(&cb.HalfOpenRequests, DefaultHalfOpenRequests)
	}

	if rl := s.RateLimit; rl != nil {
		setDuration(&rl.MaxWait, DefaultMaxWait)
	}

	if b := s.Budget; b != nil {
		if b.Period == "" {
			b.Period = DefaultBudgetPeriod
		}
		setInt32(&b.SoftLimitPercent, DefaultSoftLimitPercent)
		if b.OnExhausted == "" {
			b.OnExhausted = DefaultOnExhausted
		}
	}

	if c := s.Cache; c != nil {
		setBool(&c.Enabled, true)
		setDuration(&c.TTL, DefaultCacheTTL)
		setInt32(&c.MaxEntries, DefaultCacheMaxEntries)
		setBool(&c.OnlyDeterministic, true)
	}
}

func setDuration(d *v1alpha1.Duration, v v1alpha1.Duration) {
	if *d == "" {
		*d = v
	}
}

func setInt32(n *int32, v int32) {
	if *n == 0 {
		*n = v
	}
}

func setBool(b **bool, v bool) {
	if *b == nil {
		*b = &v
	}
}
