// Package policy compiles a proxyconfig.Policy into enforcement built from
// failsafe-go policies. It knows nothing of Kubernetes or of HTTP servers:
// the caller supplies the attempt function and the classification of its
// results.
//
// One request is executed as
//
//	Fallback(static) ∘ Fallback(rung n) ∘ … ∘ Fallback(rung 1) ∘ target(primary)
//
// where a rung is another target, or the cachedResponse rung, which makes
// no attempt: it answers with what Call.Cached returns (the last good
// answer to the request, from memory) or, when that is nothing, hands the
// failure so far to the next rung. Each target (a provider and model) runs
//
//	Retry ∘ CircuitBreaker(provider, model) ∘ Timeout(first token) ∘ attempt
//
// so that a timeout counts against the breaker, an open breaker is not
// retried but falls through to the next rung, and each rung gets its own
// retries against its own breaker. Retries share one retry budget per
// policy. The total timeout is the deadline of the request's context, which
// also bounds the streaming of the answer after Execute returns.
//
// An answer the caller's Classify judges InvalidOutput (validation: not the
// structured output the request asked for) is retried when retry.retryOn
// names it and falls back like any failure, but never counts against a
// breaker. When every rung fails and some answer was invalid, the last
// invalid answer is the result, not an error: it is complete, and paid for.
//
// Admission (requests and tokens per minute, concurrency) happens before
// Execute, through Limits, because a stream holds its concurrency slot and
// is charged its token usage after Execute has returned.
//
// A policy in DryRun mode runs each target as
//
//	Retry ∘ observe(CircuitBreaker(provider, model)) ∘ Timeout(first token) ∘ attempt
//
// where observe sends the attempt whatever the breaker's state, tells the
// breaker the result of every attempt it would have admitted (so that it
// opens and closes as it would), and marks the request when it would not
// (Result.BreakerOpen); and admits requests with Limits.AdmitDryRun, which
// never waits or refuses but says which limit would have. Retries,
// timeouts and fallbacks act as in Enforce mode.
//
// Executors, breakers and limiters are built once per Set and reused by every
// request. A Set compiled from an updated policy takes over the breakers and
// limiters of the previous Set when their settings did not change, so a
// reload does not reset them.
package policy
