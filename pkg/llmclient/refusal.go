package llmclient

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"tollgate.dev/tollgate/pkg/provider"
)

// Codes of the refusals Tollgate makes itself. They are stable: apps and
// alerts may match on them. Each comes with an x-tollgate-reason header.
const (
	CodeUnknownProvider     = "tollgate_unknown_provider"
	CodeBadRequest          = "tollgate_bad_request"
	CodeModelNotAllowed     = "tollgate_model_not_allowed"
	CodeRateLimited         = "tollgate_rate_limited"
	CodeBudgetExhausted     = "tollgate_budget_exhausted"
	CodeCircuitOpen         = "tollgate_circuit_open"
	CodeTimeout             = "tollgate_timeout"
	CodeUpstreamUnavailable = "tollgate_upstream_unavailable"
	CodeRetryBudget         = "tollgate_retry_budget_exhausted"
	CodeNoPolicy            = "tollgate_no_policy"
	CodeModelUnpriced       = "tollgate_model_unpriced"
	CodeBudgetUnavailable   = "tollgate_budget_unavailable"
	// CodeOverloaded refuses a request whose body found no room in the
	// buffer budget (see BufferBudget) within the total timeout.
	CodeOverloaded = "tollgate_overloaded"
)

// RefusalCodes returns every refusal code, in the order above: what
// Report.Refusal may be.
func RefusalCodes() []string {
	return []string{
		CodeUnknownProvider, CodeBadRequest, CodeModelNotAllowed, CodeRateLimited, CodeBudgetExhausted,
		CodeCircuitOpen, CodeTimeout, CodeUpstreamUnavailable, CodeRetryBudget, CodeNoPolicy,
		CodeModelUnpriced, CodeBudgetUnavailable, CodeOverloaded,
	}
}

// Headers Tollgate adds to answers.
const (
	HeaderPolicy   = "X-Tollgate-Policy"
	HeaderReason   = "X-Tollgate-Reason"
	HeaderFallback = "X-Tollgate-Fallback"
	HeaderAttempts = "X-Tollgate-Attempts"
	HeaderRequest  = "X-Request-Id"
)

// Values of HeaderFallback besides a rung's provider/model.
const (
	// FallbackStatic marks the policy's static response.
	FallbackStatic = "static"
	// FallbackCache marks the cachedResponse rung's answer: the last good
	// answer to the same request, from the sidecar's memory.
	FallbackCache = "cache"
)

// refusal is one of Tollgate's own answers.
type refusal struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
}

// response renders r in the provider's error shape for req.
func (r refusal) response(a provider.Adapter, req provider.Request, policyRef string) *http.Response {
	body := a.ErrorBody(req, r.status, r.code, r.message)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set(HeaderReason, r.code)
	if policyRef != "" {
		h.Set(HeaderPolicy, policyRef)
	}
	if r.retryAfter > 0 {
		// Whole seconds, rounded up: SDKs read delay-seconds.
		h.Set("Retry-After", strconv.Itoa(int((r.retryAfter+time.Second-1)/time.Second)))
	}
	return &http.Response{
		StatusCode:    r.status,
		Status:        strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}
