package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// reconcileTotal counts reconciles of a namespace by result, next to
// controller-runtime's own controller_runtime_reconcile_* series.
var reconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "tollgate_operator_reconcile_total",
	Help: "Reconciles of a namespace's LLMPolicies into its bundle, by result (success or error).",
}, []string{"result"})

func init() {
	metrics.Registry.MustRegister(reconcileTotal)
}
