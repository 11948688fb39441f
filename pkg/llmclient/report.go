package llmclient

import (
	"net/http"
	"time"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Cache outcomes (Report.Cache and the X-Tollgate-Cache header).
const (
	CacheHit  = "hit"
	CacheMiss = "miss"
)

// Why a request's cost is an estimate (Report.Estimated).
const (
	// EstimateNoUsage: the answer ended normally but carried no usage (a
	// server that ignores include_usage, a body that is not the JSON its
	// shape promises).
	EstimateNoUsage = "no_usage"
	// EstimateCutShort: the answer broke off (the provider failed or the
	// total timeout passed) before its usage arrived.
	EstimateCutShort = "cut_short"
	// EstimateClientGone: the app left before the answer, or its usage,
	// was complete; the provider bills what it generated all the same.
	EstimateClientGone = "client_gone"
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
	Shape    provider.Shape
	Stream   bool
	// Served is the target that gave the answer, when one did: differs
	// from Provider/Model after a fallback or a downgrade.
	Served policy.Target
	// Rung is 0 for the primary target, i for the i-th fallback rung.
	Rung int
	// Static is true when the answer was the static response.
	Static bool
	// Stale is true when the answer was the cachedResponse rung's: the
	// last good answer to the same request, from memory, StaleAge old.
	// Like a cache hit it costs nothing and reports no usage.
	Stale    bool
	StaleAge time.Duration
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
	Usage provider.Usage
	// CostUSD is what the answer cost: Usage priced at the price of the
	// model that served it. Zero for cache hits and static answers.
	CostUSD proxyconfig.USD
	// Priced is false when the answer used tokens but the model has no
	// price (neither built in nor in spec.pricing): its cost is unknown.
	Priced bool
	// Estimated says why CostUSD is an estimate rather than the answer's
	// own usage priced (EstimateNoUsage, EstimateCutShort,
	// EstimateClientGone), or "" when it is not. An estimated request is
	// charged the conservative bound of chargeUnknown, never nothing.
	Estimated string
	// AnswerBytes counts the bytes of the answer handed to the app.
	AnswerBytes int64
	// Cache is CacheHit, CacheSemanticHit, CacheMiss, or "" when the
	// policy has no cache or the request could not be cached.
	Cache string
	// Semantic is what the semantic cache did, or nil when it was not
	// asked.
	Semantic *SemanticReport
	// BudgetState is the state of the policy's budget when the request
	// was admitted (Ok, SoftLimit, Exhausted), or "" without a budget.
	BudgetState string
	// BudgetNotice is NoticeSoftLimit or NoticeExhausted for the one
	// request of a budget period that first saw that state, else "".
	BudgetNotice string
	// DryRun is, under a policy in DryRun mode, what Enforce would have
	// done to the request that was let through: the first check that would
	// have refused or downgraded it. "" when nothing would have acted, and
	// always under Enforce.
	DryRun proxyconfig.DryRunAction
	// DryRunMode is true when the policy was in DryRun mode.
	DryRunMode bool
	// Discarded are the answers read whole, paid for and not given to the
	// app (invalid outputs that were retried or fell back): each is
	// charged too, at its own target's price, on top of CostUSD.
	Discarded []Discarded
	// Validation is how the answer fared against the structured output
	// its request asked for (ValidationPassed, ValidationFailed,
	// ValidationSkipped), or "" when nothing was checked;
	// ValidationReason the reason code of failed and skipped, and
	// ValidationKeyword the JSON Schema keyword a failed answer missed.
	Validation, ValidationReason, ValidationKeyword string
	// Checks are the results of every answer judged, in order: one per
	// attempt whose answer was read whole.
	Checks []Check
	// Start is when the request arrived; Latency is how long it took to the
	// end of the answer; TTFT how long to the first byte of the answer.
	Start   time.Time
	Latency time.Duration
	TTFT    time.Duration
	// End says how the answer ended: "complete", "total_timeout" (cut at
	// the total timeout), "upstream_error" (the provider broke off) or
	// "client_gone".
	End string
	// Trace, when the Transport makes traces (Options.Trace), is what a
	// failure record shows of a request that failed or fell back
	// (FailedOrFellBack); nil for the others.
	Trace *Trace

	// What the trace is made of, kept only while the Transport makes
	// traces and dropped before OnDone: the app's request, its body (when
	// the policy's records include it), the attempts and the starts of
	// their error answers.
	in           *http.Request
	body         []byte
	attempts     []policy.Attempt
	attemptsBuf  [1]policy.Attempt
	errorAnswers []errorAnswer
}

// ErrorType names what went wrong with the request, as its log line and
// its failure record say it: the code of Tollgate's refusal, else the
// failure class of the final outcome, else how the answer ended when it
// did not complete; "" for a request that went well.
func (r *Report) ErrorType() string {
	switch {
	case r.Refusal != "":
		return r.Refusal
	case r.Failure != "none" && r.Failure != "":
		return r.Failure
	case r.End != "complete":
		return r.End
	}
	return ""
}

// Discarded is an answer paid for but not given to the app.
type Discarded struct {
	// Served is the target that gave it.
	Served policy.Target
	Usage  provider.Usage
	// CostUSD is what it was charged; Priced is false when its model has
	// no price; Estimated says why CostUSD is an estimate, as for Report.
	CostUSD   proxyconfig.USD
	Priced    bool
	Estimated string
	// Result is its check's result (ValidationFailed, mostly).
	Result string
}

// Check is the result of judging one answer.
type Check struct {
	Target policy.Target
	// Result is ValidationPassed, ValidationFailed or ValidationSkipped.
	Result string
	// Reason is the reason code of failed and skipped.
	Reason string
}
