package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Result is the outcome of one admission, the value of the result label of
// tollgate_webhook_admissions_total.
type Result string

// Results of an admission.
const (
	// ResultInjected means the sidecar was added.
	ResultInjected Result = "injected"
	// ResultSkippedNotWanted means neither the pod nor its namespace opts
	// in, or the pod opts out (see inject.Wanted).
	ResultSkippedNotWanted Result = "skipped_not_wanted"
	// ResultSkippedAlreadyInjected means the pod already has the sidecar.
	ResultSkippedAlreadyInjected Result = "skipped_already_injected"
	// ResultError means something failed and the pod was admitted
	// unchanged.
	ResultError Result = "error"
)

// admissions counts admissions by result. It lives on controller-runtime's
// registry, which the operator's manager serves on its metrics endpoint.
var admissions = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "tollgate_webhook_admissions_total",
	Help: "Pods admitted by the sidecar-injection webhook, by result: injected, skipped_not_wanted, skipped_already_injected or error (admitted unchanged).",
}, []string{"result"})

func init() {
	metrics.Registry.MustRegister(admissions)
	// Every result is exported from the start, so that a rate() over
	// errors works before the first error.
	for _, r := range []Result{ResultInjected, ResultSkippedNotWanted, ResultSkippedAlreadyInjected, ResultError} {
		admissions.WithLabelValues(string(r))
	}
}
