package promtext

import (
	"fmt"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sum returns the sum of the samples of the metric name in exposition, in
// the Prometheus text format, whose labels include labels, given as name,
// value pairs ("provider", "openai", "model", "gpt-4o"). A metric that is
// not in exposition, or has no matching series, sums to 0, as a counter
// that was never incremented is not exposed.
//
// name is a counter's, a gauge's or an untyped metric's, or a histogram's
// or summary's name with _count or _sum, as the samples are named on the
// wire.
func Sum(exposition, name string, labels ...string) (float64, error) {
	if len(labels)%2 != 0 {
		return 0, fmt.Errorf("sum %s: labels %q are not name, value pairs", name, labels)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		return 0, fmt.Errorf("sum %s: %w", name, err)
	}
	family, value, err := lookup(families, name)
	if err != nil || family == nil {
		return 0, err
	}
	sum := 0.0
	for _, m := range family.GetMetric() {
		if hasLabels(m, labels) {
			sum += value(m)
		}
	}
	return sum, nil
}

// lookup finds the family of the samples called name, and how to read the
// value of one of its samples; a nil family when there is none.
func lookup(families map[string]*dto.MetricFamily, name string) (*dto.MetricFamily, func(*dto.Metric) float64, error) {
	if f, ok := families[name]; ok {
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return f, func(m *dto.Metric) float64 { return m.GetCounter().GetValue() }, nil
		case dto.MetricType_GAUGE:
			return f, func(m *dto.Metric) float64 { return m.GetGauge().GetValue() }, nil
		case dto.MetricType_UNTYPED:
			return f, func(m *dto.Metric) float64 { return m.GetUntyped().GetValue() }, nil
		default:
			return nil, nil, fmt.Errorf("sum %s: it is a %s; sum %s_count or %s_sum", name, strings.ToLower(f.GetType().String()), name, name)
		}
	}
	// The parser files name_count and name_sum under the histogram or
	// summary name.
	for suffix, count := range map[string]bool{"_count": true, "_sum": false} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		f := families[base]
		switch {
		case f.GetType() == dto.MetricType_HISTOGRAM && count:
			return f, func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }, nil
		case f.GetType() == dto.MetricType_HISTOGRAM:
			return f, func(m *dto.Metric) float64 { return m.GetHistogram().GetSampleSum() }, nil
		case f.GetType() == dto.MetricType_SUMMARY && count:
			return f, func(m *dto.Metric) float64 { return float64(m.GetSummary().GetSampleCount()) }, nil
		case f.GetType() == dto.MetricType_SUMMARY:
			return f, func(m *dto.Metric) float64 { return m.GetSummary().GetSampleSum() }, nil
		}
	}
	return nil, nil, nil
}

// hasLabels reports whether m's labels include labels (name, value pairs).
func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
