package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// reconcileTotal counts reconciles of a namespace by result, next to
// controller-runtime's own controller_runtime_reconcile_* series.
var reconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "tollgate_operator_reconcile_total",
	Help: "Reconciles of a namespace's LLMPolicies into its bundle, by result: success, conflict (a write met a newer version of the object; retried shortly) or error.",
}, []string{"result"})

func init() {
	metrics.Registry.MustRegister(reconcileTotal)
	// Every result is exported from the start, so that a rate() over
	// errors has a series before the first error.
	for _, result := range []string{"success", "conflict", "error"} {
		reconcileTotal.WithLabelValues(result)
	}
}
