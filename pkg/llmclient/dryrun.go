package llmclient

import (
	"net/http"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// HeaderDryRun, on an answer under a policy in DryRun mode, names what
// Enforce would have done instead of letting the request through (a
// proxyconfig.DryRunAction such as rate_limited).
const HeaderDryRun = "X-Tollgate-Dry-Run"

// wouldHave records that check a would have acted on the request, unless
// an earlier check would have: Enforce stops at the first refusal, so a
// request counts once, under the action Enforce would have taken.
func (r *Report) wouldHave(a proxyconfig.DryRunAction) {
	if r.DryRun == "" {
		r.DryRun = a
	}
}

func (r *Report) setDryRunHeader(h http.Header) {
	if r.DryRun != "" {
		h.Set(HeaderDryRun, string(r.DryRun))
	}
}

// admitDryRun runs the rate limits of a policy in DryRun mode. A request
// an earlier check would have refused is not shown to the limiters at all,
// as Enforce would not have: their counts stay what Enforce's would be.
func (t *Transport) admitDryRun(rep *Report, estimate int64) *policy.Admission {
	var limits *policy.Limits // nil admits without limits
	if rep.DryRun == "" {
		limits = t.set.Limits()
	}
	admission, would := limits.AdmitDryRun(estimate)
	if would != nil {
		rep.wouldHave(proxyconfig.DryRunRateLimited)
	}
	return admission
}
