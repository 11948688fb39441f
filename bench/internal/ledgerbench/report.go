package ledgerbench

import (
	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/report"
	"tollgate.dev/tollgate/bench/internal/stats"
)

// Schema is the version of the JSON layout; it changes when a field
// changes meaning.
const Schema = 1

// Report is one run of the ledger benchmark.
type Report struct {
	// Header is the Schema the report was written with, when the run
	// began and where it took place (nothing is pinned).
	report.Header
	// Settings are the run's parameters.
	Settings Settings `json:"settings"`
	// Scenarios are the measurements, one per policy count and client.
	Scenarios []Scenario `json:"scenarios"`
	// Table is the summary table, as printed: a column per scenario.
	Table []Row `json:"table"`
	// Targets are the checks against the bounds.
	Targets []report.Target `json:"targets"`
	// Notes point out what a reader of the table should know.
	Notes []string `json:"notes,omitempty"`
}

// Settings are a run's parameters.
type Settings struct {
	// Quick tells whether the run used -quick's short defaults.
	Quick bool `json:"quick"`
	// Pods is the number of simulated sidecars, one per pod.
	Pods int `json:"pods"`
	// Interval is how long a sidecar waits after an answer before it syncs
	// again, in seconds.
	Interval float64 `json:"interval_s"`
	// Commit is the operator's --ledger-commit-interval, in seconds.
	Commit float64 `json:"commit_interval_s"`
	// Warmup and Duration are the unmeasured and measured time of each
	// scenario, in seconds.
	Warmup   float64 `json:"warmup_s"`
	Duration float64 `json:"duration_s"`
	// RequestsPerInterval and RequestCost are the spend each sidecar
	// settles per interval.
	RequestsPerInterval int    `json:"requests_per_interval"`
	RequestCost         string `json:"request_cost_usd"`
	// Bundles tells whether every sidecar held a long poll of the bundle
	// open, as real sidecars do (Options.Bundles).
	Bundles bool `json:"bundles"`
}

// Scenario is one measurement: a number of policies and a kind of client.
type Scenario struct {
	// Name says which, e.g. "lean, 10 policies".
	Name string `json:"name"`
	// Client is ClientLean or ClientSidecar.
	Client string `json:"client"`
	// Policies and Pods are the policies and the pods spread over them.
	Policies int `json:"policies"`
	Pods     int `json:"pods"`
	// Seconds is the measured window's length.
	Seconds float64 `json:"seconds"`
	// Syncs counts the syncs sent in the window, and Results them by
	// result ("ok", or the refusal's code, "unreachable").
	Syncs   int            `json:"syncs"`
	Results map[string]int `json:"results"`
	// SyncsPerSecond is Syncs over Seconds.
	SyncsPerSecond float64 `json:"syncs_per_s"`
	// Latency is the sync latency the sidecars saw, answered syncs only;
	// LatencyHow says how it was taken.
	Latency    stats.Summary `json:"latency"`
	LatencyHow string        `json:"latency_how"`
	// Server is the ledger's own account of the window's syncs.
	Server Server `json:"server"`
	// Operator is the operator process's CPU time and memory.
	Operator Usage `json:"operator"`
	// APIServer and Etcd are the CPU time of the control plane's
	// processes: TokenReviews, status writes and watches.
	APIServer Usage `json:"kube_apiserver"`
	Etcd      Usage `json:"etcd"`
	// Sidecars is the CPU time of this process, the simulated sidecars.
	Sidecars Usage `json:"sidecars"`
	// StatusWrites are the writes of the policies' status.
	StatusWrites StatusWrites `json:"status_writes"`
	// StatusBytes is the size of the largest policy's status as JSON at the
	// end, and ObjectBytes that of the whole object (managedFields too).
	StatusBytes int `json:"status_bytes"`
	ObjectBytes int `json:"object_bytes"`
	// Check compares each policy's status.budget with what its sidecars
	// reported, once they stopped.
	Check Check `json:"check"`
	// Timeline is the window second by second.
	Timeline []Second `json:"timeline"`
}

// Server is what the operator's metrics say of the window's syncs.
type Server struct {
	// Syncs counts the syncs the ledger answered.
	Syncs float64 `json:"syncs"`
	// MeanMs is the mean time to answer a sync, the commit wait included.
	MeanMs float64 `json:"mean_ms"`
	// ProcessingMeanMs is the mean time without the wait for the status
	// write, and ProcessingP99BoundMs the upper bound of the histogram
	// bucket its 99th percentile falls in; when ProcessingP99Beyond, it
	// is beyond the last bucket, whose bound ProcessingP99BoundMs is.
	ProcessingMeanMs     float64 `json:"processing_mean_ms"`
	ProcessingP99BoundMs float64 `json:"processing_p99_bound_ms"`
	ProcessingP99Beyond  bool    `json:"processing_p99_beyond,omitempty"`
	// APIRequestsPerSecond are the operator's requests to the API server
	// by method: POST are TokenReviews (and Events), PUT status writes,
	// GET fresh reads of a policy before it is written.
	APIRequestsPerSecond map[string]float64 `json:"api_requests_per_s"`
}

// Usage is a process's use of the machine over the window.
type Usage struct {
	// CPUSeconds is the CPU time used, user and system.
	CPUSeconds float64 `json:"cpu_s"`
	// Cores is CPUSeconds over the window's length.
	Cores float64 `json:"cores"`
	// CPUSecondsPer1000Syncs is CPUSeconds per thousand syncs answered.
	CPUSecondsPer1000Syncs float64 `json:"cpu_s_per_1000_syncs"`
	// Memory is the highest VmRSS sampled in the window and VmHWM at its
	// end (operator only).
	Memory *fleet.Memory `json:"memory,omitempty"`
}

// StatusWrites are the writes of the policies' status in the window.
type StatusWrites struct {
	// Commits counts the ledger's successful commits
	// (tollgate_ledger_status_writes_total), Errors its failed ones.
	Commits float64 `json:"commits"`
	Errors  float64 `json:"errors"`
	// Watched counts the policies' new resourceVersions a watch saw, and
	// MostOfAPolicy those of the policy written most often.
	Watched       int `json:"watched"`
	MostOfAPolicy int `json:"most_of_a_policy"`
	// PerSecond is Watched over the window, all policies together, and
	// PerPolicyPerSecond the same per policy.
	PerSecond          float64 `json:"per_s"`
	PerPolicyPerSecond float64 `json:"per_policy_per_s"`
}

// Check compares what the sidecars reported with status.
type Check struct {
	// Match tells whether every policy's spent and requests equal what its
	// sidecars reported.
	Match bool `json:"match"`
	// Policies are the comparisons.
	Policies []PolicyCheck `json:"policies"`
	// SettledAfter is how long after the sidecars stopped status matched
	// (or the check gave up), in seconds.
	SettledAfter float64 `json:"settled_after_s"`
}

// PolicyCheck compares one policy's status with its sidecars' reports.
type PolicyCheck struct {
	Policy           string `json:"policy"`
	Reported         string `json:"reported_usd"`
	ReportedRequests int64  `json:"reported_requests"`
	Spent            string `json:"status_spent_usd"`
	Requests         int64  `json:"status_requests"`
}

// Second is one second of the window.
type Second struct {
	// At is the second's start, from the window's.
	At int `json:"at_s"`
	// Syncs counts the syncs sent in it; P99Ms and MaxMs are their
	// latencies.
	Syncs int     `json:"syncs"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}
