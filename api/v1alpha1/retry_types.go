package v1alpha1

// RetryCondition is a kind of failure that may be retried.
//
// +kubebuilder:validation:Enum=Timeout;ConnectionError;RateLimited;ServerError;InvalidOutput
type RetryCondition string

// Retry conditions.
const (
	// RetryOnTimeout retries attempts that exceeded timeouts.firstToken.
	RetryOnTimeout RetryCondition = "Timeout"
	// RetryOnConnectionError retries refused, reset and failed connections.
	RetryOnConnectionError RetryCondition = "ConnectionError"
	// RetryOnRateLimited retries HTTP 429 answers.
	RetryOnRateLimited RetryCondition = "RateLimited"
	// RetryOnServerError retries HTTP 5xx answers.
	RetryOnServerError RetryCondition = "ServerError"
	// RetryOnInvalidOutput retries answers that spec.validation found not
	// to be the structured output the request asked for. Each such answer
	// is paid for.
	RetryOnInvalidOutput RetryCondition = "InvalidOutput"
)

// JitterMode is how retry delays are randomised.
//
// +kubebuilder:validation:Enum=None;Full;Equal
type JitterMode string

// Jitter modes.
const (
	// JitterNone waits exactly the computed backoff.
	JitterNone JitterMode = "None"
	// JitterFull waits a random time between zero and the computed backoff.
	JitterFull JitterMode = "Full"
	// JitterEqual waits half the computed backoff plus a random time up to
	// the other half.
	JitterEqual JitterMode = "Equal"
)

// Retry re-sends failed requests. Requests are retried only before any byte
// of the response reached the app, and only for the failures RetryOn names;
// 4xx answers other than 429 are never retried.
type Retry struct {
	// MaxAttempts is the most times a request is sent, the first attempt
	// included. Default 3.
	// Between 1 and 10.
	//
	// +kubebuilder:default=3
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 10",message="must be between 1 and 10"
	// +optional
	MaxAttempts int32 `json:"maxAttempts,omitempty"`

	// Backoff is the delay between attempts.
	//
	// +kubebuilder:default={initial: "500ms", max: "10s", jitter: "Full"}
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`

	// RetryOn lists the failures that are retried. Default: all of Timeout,
	// ConnectionError, RateLimited (HTTP 429), ServerError (HTTP 5xx) and
	// InvalidOutput (an answer spec.validation rejected; it only occurs
	// with spec.validation on). Each InvalidOutput retry is a paid answer:
	// leave it out to send invalid answers straight to the fallbacks.
	// Circuit breakers count the others only: an answer that misses its
	// schema says nothing of the provider's health.
	//
	// +listType=set
	// +kubebuilder:default={Timeout,ConnectionError,RateLimited,ServerError,InvalidOutput}
	// +kubebuilder:validation:MaxItems=5
	// +optional
	RetryOn []RetryCondition `json:"retryOn,omitempty"`

	// HonorRetryAfter makes the sidecar wait as long as the provider's
	// Retry-After header asks (seconds or an HTTP date) instead of its own
	// backoff, up to MaxRetryAfter. Default true.
	//
	// +kubebuilder:default=true
	// +optional
	HonorRetryAfter *bool `json:"honorRetryAfter,omitempty"`

	// MaxRetryAfter caps an honoured Retry-After. When the provider asks for
	// longer, the request fails at once with the provider's own error rather
	// than holding the app. Default 30s.
	//
	// +kubebuilder:default="30s"
	// +optional
	MaxRetryAfter Duration `json:"maxRetryAfter,omitempty"`

	// BudgetPercent caps retries at this percentage of in-flight requests,
	// so that retries add at most this much load when a provider struggles
	// and cannot grow into a retry storm. Default 20.
	// Between 1 and 100.
	//
	// +kubebuilder:default=20
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 100",message="must be between 1 and 100"
	// +optional
	BudgetPercent int32 `json:"budgetPercent,omitempty"`
}

// Backoff is an exponential delay between retry attempts: Initial, doubled
// after every attempt, never more than Max, randomised by Jitter.
//
// +kubebuilder:validation:XValidation:rule="!self.initial.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || !self.max.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self.initial) <= duration(self.max)",message="retry.backoff.initial must not exceed retry.backoff.max; raise max or lower initial",fieldPath=".initial"
type Backoff struct {
	// Initial is the delay before the first retry. Default 500ms.
	//
	// +kubebuilder:default="500ms"
	// +optional
	Initial Duration `json:"initial,omitempty"`

	// Max caps the delay between attempts. Default 10s.
	//
	// +kubebuilder:default="10s"
	// +optional
	Max Duration `json:"max,omitempty"`

	// Jitter randomises each delay so that clients do not retry in lockstep:
	// None, Full (between zero and the delay) or Equal (between half the
	// delay and the delay). Default Full.
	//
	// +kubebuilder:default=Full
	// +optional
	Jitter JitterMode `json:"jitter,omitempty"`
}
