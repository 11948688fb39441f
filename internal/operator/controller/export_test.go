package controller

import "github.com/prometheus/client_golang/prometheus"

// UninjectedGauge exposes the gauge of a namespace to tests.
func UninjectedGauge(ns string) prometheus.Gauge { return podsUninjected.WithLabelValues(ns) }
