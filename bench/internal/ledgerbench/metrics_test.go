package ledgerbench

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exposition is a /metrics page with the ledger's metrics after 10 syncs
// (one refused), as the operator serves it.
const exposition = `# HELP tollgate_ledger_syncs_total Sidecar syncs, by result.
# TYPE tollgate_ledger_syncs_total counter
tollgate_ledger_syncs_total{result="success"} 9
tollgate_ledger_syncs_total{result="unavailable"} 1
# HELP tollgate_ledger_sync_processing_seconds Time without the wait.
# TYPE tollgate_ledger_sync_processing_seconds histogram
tollgate_ledger_sync_processing_seconds_bucket{le="0.0001"} 0
tollgate_ledger_sync_processing_seconds_bucket{le="0.001"} 6
tollgate_ledger_sync_processing_seconds_bucket{le="0.01"} 9
tollgate_ledger_sync_processing_seconds_bucket{le="+Inf"} 10
tollgate_ledger_sync_processing_seconds_sum 0.05
tollgate_ledger_sync_processing_seconds_count 10
# HELP tollgate_ledger_status_writes_total Writes.
# TYPE tollgate_ledger_status_writes_total counter
tollgate_ledger_status_writes_total{result="success"} 4
tollgate_ledger_status_writes_total{result="error"} 1
# HELP rest_client_requests_total Requests.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"} 3
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="PUT"} 4
rest_client_requests_total{code="409",host="127.0.0.1:6443",method="PUT"} 1
`

func TestParseMetrics_ReadsTheLedgersCountersAndHistograms(t *testing.T) {
	m, err := parseMetrics(exposition)
	require.NoError(t, err)
	assert.InDelta(t, 9, m.SyncsOK, 0)
	assert.InDelta(t, 1, m.SyncsRefused, 0)
	assert.InDelta(t, 4, m.StatusWrites, 0)
	assert.InDelta(t, 1, m.StatusWriteErrors, 0)
	assert.Equal(t, map[string]float64{"POST": 3, "PUT": 5}, m.APIRequests, "summed over codes")
	assert.Equal(t, histogram{Bounds: []float64{0.0001, 0.001, 0.01}, Counts: []float64{0, 6, 9}, Count: 10, Sum: 0.05}, m.Processing)
	assert.Equal(t, histogram{}, m.SyncSeconds, "a metric not exposed reads as empty")
}

func TestParseMetrics_RefusesWhatIsNotTheTextFormat(t *testing.T) {
	_, err := parseMetrics("tollgate_ledger_syncs_total{result=\n")
	require.Error(t, err)
}

func TestHistogram_QuantileBoundIsTheUpperBoundOfItsBucket(t *testing.T) {
	h := histogram{Bounds: []float64{0.001, 0.01, 0.1}, Counts: []float64{50, 99, 100}, Count: 100}
	tests := map[string]struct {
		h    histogram
		q    float64
		want float64
	}{
		"the median in the first bucket":      {h: h, q: 0.5, want: 0.001},
		"p99 at a bucket's edge is that one":  {h: h, q: 0.99, want: 0.01},
		"p100 in the last bucket":             {h: h, q: 1, want: 0.1},
		"beyond the last bound is +Inf":       {h: histogram{Bounds: []float64{0.001}, Counts: []float64{90}, Count: 100}, q: 0.99, want: math.Inf(+1)},
		"no samples say nothing: 0":           {h: histogram{Bounds: []float64{0.001}, Counts: []float64{0}}, q: 0.99, want: 0},
		"just above an edge is the next one":  {h: h, q: 0.995, want: 0.1},
		"just below the first edge is itself": {h: h, q: 0.01, want: 0.001},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.h.quantileBound(tc.q))
		})
	}
}

func TestLedgerMetrics_SubIsTheWindowBetweenTwoReadings(t *testing.T) {
	m0, err := parseMetrics(exposition)
	require.NoError(t, err)
	m1 := m0
	m1.SyncsOK, m1.StatusWrites = 109, 14
	m1.APIRequests = map[string]float64{"POST": 3, "PUT": 25, "GET": 20}
	m1.Processing = histogram{Bounds: m0.Processing.Bounds, Counts: []float64{0, 96, 109}, Count: 110, Sum: 0.15}
	d := m1.sub(m0)
	assert.InDelta(t, 100, d.SyncsOK, 0)
	assert.InDelta(t, 10, d.StatusWrites, 0)
	assert.Equal(t, map[string]float64{"POST": 0, "PUT": 20, "GET": 20}, d.APIRequests)
	assert.Equal(t, []float64{0, 90, 100}, d.Processing.Counts)
	assert.InDelta(t, 0.001, d.Processing.mean(), 1e-12)
	assert.InDelta(t, 0.01, d.Processing.quantileBound(0.99), 0)
}

func TestAccount_SaysWhenTheP99IsBeyondTheLastBucket(t *testing.T) {
	m0, err := parseMetrics(exposition)
	require.NoError(t, err)
	m1 := m0
	m1.Processing = histogram{Bounds: m0.Processing.Bounds, Counts: []float64{0, 6, 9}, Count: 110, Sum: 1}
	var s Scenario
	account(&s, reading{metrics: m0}, reading{at: time.Unix(10, 0), metrics: m1})
	assert.True(t, s.Server.ProcessingP99Beyond)
	assert.InDelta(t, 10, s.Server.ProcessingP99BoundMs, 1e-9, "the last bound, 10 ms")
}
