package ledgerbench

import (
	"fmt"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The operator's metrics the benchmark reads.
const (
	metricSyncs         = "tollgate_ledger_syncs_total"
	metricSyncSeconds   = "tollgate_ledger_sync_duration_seconds"
	metricProcessing    = "tollgate_ledger_sync_processing_seconds"
	metricStatusWrites  = "tollgate_ledger_status_writes_total"
	metricRESTRequests  = "rest_client_requests_total"
	metricGoGCCPUSecond = "go_cpu_classes_gc_total_cpu_seconds_total"
)

// ledgerMetrics are the operator's counters at one moment; sub makes them
// the counts of a window.
type ledgerMetrics struct {
	// SyncsOK and SyncsRefused count answered and refused syncs.
	SyncsOK, SyncsRefused float64
	// SyncSeconds is the time to answer syncs, commit wait included;
	// Processing the same without the wait.
	SyncSeconds, Processing histogram
	// StatusWrites and StatusWriteErrors count the ledger's commits of a
	// policy's status (a commit that finds the status unchanged counts,
	// without an update).
	StatusWrites, StatusWriteErrors float64
	// APIRequests counts the operator's requests to the API server by
	// method: POST are TokenReviews (and Events), PUT status updates, GET
	// fresh reads.
	APIRequests map[string]float64
	// GCCPU is the CPU time the Go garbage collector used, in seconds.
	GCCPU float64
}

// histogram is a Prometheus histogram: cumulative bucket counts by upper
// bound (ascending, +Inf left out), the sample count and sum.
type histogram struct {
	Bounds []float64
	Counts []float64
	Count  float64
	Sum    float64
}

// parseMetrics reads the ledger's metrics from an exposition in the text
// format. Metrics not exposed yet (nothing counted) read as zero.
func parseMetrics(exposition string) (ledgerMetrics, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		return ledgerMetrics{}, fmt.Errorf("parse the operator's metrics: %w", err)
	}
	m := ledgerMetrics{APIRequests: map[string]float64{}}
	for _, s := range families[metricSyncs].GetMetric() {
		if label(s, "result") == "success" {
			m.SyncsOK += s.GetCounter().GetValue()
		} else {
			m.SyncsRefused += s.GetCounter().GetValue()
		}
	}
	for _, s := range families[metricStatusWrites].GetMetric() {
		if label(s, "result") == "success" {
			m.StatusWrites += s.GetCounter().GetValue()
		} else {
			m.StatusWriteErrors += s.GetCounter().GetValue()
		}
	}
	for _, s := range families[metricRESTRequests].GetMetric() {
		m.APIRequests[label(s, "method")] += s.GetCounter().GetValue()
	}
	for _, s := range families[metricGoGCCPUSecond].GetMetric() {
		m.GCCPU += s.GetCounter().GetValue()
	}
	m.SyncSeconds = histogramOf(families[metricSyncSeconds])
	m.Processing = histogramOf(families[metricProcessing])
	return m, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// histogramOf reads the first series of a histogram family; nil reads as
// empty.
func histogramOf(f *dto.MetricFamily) histogram {
	if f == nil || len(f.GetMetric()) == 0 {
		return histogram{}
	}
	h := f.GetMetric()[0].GetHistogram()
	out := histogram{Count: float64(h.GetSampleCount()), Sum: h.GetSampleSum()}
	for _, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), +1) {
			continue
		}
		out.Bounds = append(out.Bounds, b.GetUpperBound())
		out.Counts = append(out.Counts, float64(b.GetCumulativeCount()))
	}
	return out
}

// sub is h less an earlier reading of the same histogram.
func (h histogram) sub(before histogram) histogram {
	out := histogram{Bounds: h.Bounds, Count: h.Count - before.Count, Sum: h.Sum - before.Sum, Counts: make([]float64, len(h.Counts))}
	for i := range h.Counts {
		out.Counts[i] = h.Counts[i]
		if i < len(before.Counts) {
			out.Counts[i] -= before.Counts[i]
		}
	}
	return out
}

// mean is the mean sample, 0 without samples.
func (h histogram) mean() float64 {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / h.Count
}

// quantileBound is the upper bound of the bucket that holds the q-th
// quantile (0 < q <= 1): the most a histogram can say of it. It is +Inf
// when the quantile lies beyond the last bound, and 0 without samples.
func (h histogram) quantileBound(q float64) float64 {
	if h.Count == 0 {
		return 0
	}
	rank := q * h.Count
	i := sort.Search(len(h.Counts), func(i int) bool { return h.Counts[i] >= rank })
	if i == len(h.Counts) {
		return math.Inf(+1)
	}
	return h.Bounds[i]
}

// sub is m less an earlier reading m0: the counts of the window between.
func (m ledgerMetrics) sub(m0 ledgerMetrics) ledgerMetrics {
	out := ledgerMetrics{
		SyncsOK: m.SyncsOK - m0.SyncsOK, SyncsRefused: m.SyncsRefused - m0.SyncsRefused,
		SyncSeconds: m.SyncSeconds.sub(m0.SyncSeconds), Processing: m.Processing.sub(m0.Processing),
		StatusWrites: m.StatusWrites - m0.StatusWrites, StatusWriteErrors: m.StatusWriteErrors - m0.StatusWriteErrors,
		APIRequests: map[string]float64{}, GCCPU: m.GCCPU - m0.GCCPU,
	}
	for method, n := range m.APIRequests {
		out.APIRequests[method] = n - m0.APIRequests[method]
	}
	return out
}
