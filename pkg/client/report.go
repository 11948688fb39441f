package client

import (
	"time"

	"tollgate.dev/tollgate/pkg/policy"
)

// Report describes one request once it is over: what was asked, who
// answered, how, and what it used. Options.OnDone receives it; the sidecar
// logs and counts it.
type Report struct {
	RequestID string
	// Policy is the policy's namespace/name.
	Policy string
	// Provider and Model are what the app asked for.
	Provider string
	Model    string
	Shape    Shape
	Stream   bool
	// Served is the target that gave the answer, when one did: differs
	// from Provider/Model after a fallback or a downgrade.
	Served policy.Target
	// Rung is 0 for the primary target, i for the i-th fallback rung.
	Rung int
	// Static is true when the answer was the static response.
	Static bool
	// Status is the HTTP status the app got.
	Status int
	// Attempts counts the attempts sent upstream.
	Attempts int
	// BreakerState is the state, afterwards, of the breaker of the target
	// the app asked for.
	BreakerState string
	// Refusal is the code of the refusal Tollgate made itself (such as
	// tollgate_timeout), or "".
	Refusal string
	// Failure classifies the final outcome ("none" for a success).
	Failure string
	// Usage is the token usage read from the answer.
	Usage Usage
	// Start is when the request arrived; Latency is how long it took to the
	// end of the answer; TTFT how long to the first byte of the answer.
	Start   time.Time
	Latency time.Duration
	TTFT    time.Duration
	// End says how the answer ended: "complete", "total_timeout" (cut at
	// the total timeout), "upstream_error" (the provider broke off) or
	// "client_gone".
	End string
}
