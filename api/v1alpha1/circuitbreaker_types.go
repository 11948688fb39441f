package v1alpha1

// CircuitBreaker stops sending to a provider and model that keeps failing.
// Each provider and model pair has its own breaker in each sidecar. It opens
// on a failure rate over a window, or on a run of consecutive failures (set
// exactly one), stays open for OpenDuration, then lets HalfOpenRequests trial
// requests through: if they all succeed it closes, else it opens again. While
// it is open, requests go straight to the fallbacks, or are refused with
// tollgate_circuit_open.
//
// Failures are what retry.retryOn names (timeouts, connection errors, 429 and
// 5xx answers), whether or not retries are on; never InvalidOutput (an
// answer that misses the request's schema is no sign of a failing provider).
//
// +kubebuilder:validation:XValidation:rule="has(self.failureRateThreshold) != has(self.consecutiveFailures)",message="set exactly one of circuitBreaker.failureRateThreshold and circuitBreaker.consecutiveFailures"
type CircuitBreaker struct {
	// FailureRateThreshold opens the breaker when at least this percentage
	// of the requests within Window failed, once MinimumRequests were made.
	// Between 1 and 100.
	//
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 100",message="must be between 1 and 100"
	// +optional
	FailureRateThreshold *int32 `json:"failureRateThreshold,omitempty"`

	// MinimumRequests is how many requests Window must hold before
	// FailureRateThreshold is judged. Default 10.
	// Between 1 and 10000.
	//
	// +kubebuilder:default=10
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 10000",message="must be between 1 and 10000"
	// +optional
	MinimumRequests int32 `json:"minimumRequests,omitempty"`

	// Window is the rolling period FailureRateThreshold is measured over.
	// Default 60s.
	//
	// +kubebuilder:default="60s"
	// +optional
	Window Duration `json:"window,omitempty"`

	// ConsecutiveFailures opens the breaker after this many failures in a
	// row.
	// Between 1 and 1000.
	//
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 1000",message="must be between 1 and 1000"
	// +optional
	ConsecutiveFailures *int32 `json:"consecutiveFailures,omitempty"`

	// OpenDuration is how long the breaker stays open before it lets trial
	// requests through. Default 30s.
	//
	// +kubebuilder:default="30s"
	// +optional
	OpenDuration Duration `json:"openDuration,omitempty"`

	// HalfOpenRequests is how many trial requests a half-open breaker lets
	// through; all of them must succeed for it to close. Default 1.
	// Between 1 and 100.
	//
	// +kubebuilder:default=1
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 100",message="must be between 1 and 100"
	// +optional
	HalfOpenRequests int32 `json:"halfOpenRequests,omitempty"`
}
