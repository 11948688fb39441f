package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"tollgate.dev/tollgate/internal/sidecar/failures"
)

// failureRecords are the metrics of the failure records: what became of
// each record, and the disk's errors.
type failureRecords struct {
	results    *prometheus.CounterVec
	diskErrors prometheus.Counter
}

func newFailureRecords(reg prometheus.Registerer) failureRecords {
	f := failureRecords{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_failure_records_total",
			Help: "Failure records (of requests that failed or fell back) by result: disk (written to the records' directory), memory (the disk refused it: kept in memory only, lost at a restart), dropped (not kept: the writer was behind, or the record alone is over --failure-records-max-bytes).",
		}, []string{"result"}),
		diskErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_failure_records_disk_errors_total",
			Help: "Errors of the failure records' directory (a full or read-only disk, a directory that cannot be made or read); requests never fail for them.",
		}),
	}
	reg.MustRegister(f.results, f.diskErrors)
	for _, r := range failures.Results() {
		f.results.WithLabelValues(r)
	}
	return f
}

// FailureRecord counts a failure record by its result
// (failures.ResultDisk, ResultMemory, ResultDropped).
func (m *Sidecar) FailureRecord(result string) {
	m.failureRecords.results.WithLabelValues(result).Inc()
}

// FailureRecordDiskError counts an error of the failure records'
// directory.
func (m *Sidecar) FailureRecordDiskError() {
	m.failureRecords.diskErrors.Inc()
}
