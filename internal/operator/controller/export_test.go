package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// UninjectedGauge exposes the gauge of a namespace to tests.
func UninjectedGauge(ns string) prometheus.Gauge { return podsUninjected.WithLabelValues(ns) }

// Reconciles is the number of reconciles so far, whatever their result.
func Reconciles() float64 {
	return testutil.ToFloat64(reconcileTotal.WithLabelValues("success")) + testutil.ToFloat64(reconcileTotal.WithLabelValues("error"))
}

// StripSecret exposes the Secret cache transform to tests.
var StripSecret = stripSecret
