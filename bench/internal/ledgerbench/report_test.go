package ledgerbench

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/report"
	"tollgate.dev/tollgate/bench/internal/stats"
)

// scenario is a measured scenario of n policies whose busiest policy was
// written most times in 60 s.
func scenario(name string, n, most int, match bool) Scenario {
	return Scenario{
		Name: name, Client: ClientLean, Policies: n, Pods: 1000, Seconds: 60, Syncs: 29000,
		Results: map[string]int{resultOK: 28990, "unavailable": 10}, SyncsPerSecond: 483,
		Latency:      stats.Summary{Count: 28990, P50: 1004, P99: 1030, Max: 1100},
		LatencyHow:   "timed",
		Server:       Server{Syncs: 29000, MeanMs: 1001, ProcessingMeanMs: 0.25, ProcessingP99BoundMs: 1, APIRequestsPerSecond: map[string]float64{"POST": 16.7}},
		Operator:     Usage{Cores: 0.3, CPUSecondsPer1000Syncs: 0.62, Memory: &fleet.Memory{RSS: 80 * 1024, HWM: 96 * 1024}},
		StatusWrites: StatusWrites{Watched: most * n, MostOfAPolicy: most, PerSecond: float64(most*n) / 60, PerPolicyPerSecond: float64(most) / 60},
		StatusBytes:  200 * 1024, ObjectBytes: 400 * 1024,
		Check: Check{Match: match, Policies: []PolicyCheck{{Policy: "p0", Reported: "12.5", Spent: "12.5", ReportedRequests: 10, Requests: 10}}},
	}
}

func sampleReport() *Report {
	r := &Report{
		Header:   report.Header{Machine: fleet.Machine{CPU: "AMD EPYC", Cores: 2, Go: "go1.26.8", Kernel: "linux 6.18", LoadAvg: "0.5 0.4 0.3"}},
		Settings: Settings{Pods: 1000, Interval: 1, Commit: 2, Warmup: 20, Duration: 60, RequestsPerInterval: 2, RequestCost: "0.000421", Bundles: true},
		Scenarios: []Scenario{
			scenario("lean, 1 policy", 1, 31, true),
			scenario("lean, 10 policies", 10, 32, false),
		},
	}
	r.Scenarios[1].Server.ProcessingP99Beyond = true
	r.Finish()
	return r
}

func TestFinish_ChecksTheWriteBoundPerPolicyAndTheSpend(t *testing.T) {
	r := sampleReport()
	require.Len(t, r.Targets, 4)
	assert.True(t, r.Targets[0].Met, "31 writes in 60 s at one per 2 s: within one more than 30: %s", r.Targets[0].Value)
	assert.True(t, r.Targets[1].Met)
	assert.False(t, r.Targets[2].Met, "32 writes of one policy are more than 31: %s", r.Targets[2].Value)
	assert.False(t, r.Targets[3].Met, "the spend did not match")
	assert.Contains(t, r.Targets[3].Value, "p0 12.5/12.5 USD")
	assert.Contains(t, r.Notes, "lean, 1 policy: 10 of 29000 syncs got unavailable")
}

func TestWriteMarkdown_PrintsAColumnPerScenario(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&b))
	md := b.String()
	assert.Contains(t, md, "load average 0.5 0.4 0.3")
	assert.Contains(t, md, "| Measurement | lean, 1 policy | lean, 10 policies |")
	assert.Contains(t, md, "| sync latency p99 (sidecar's view) | 1030 ms | 1030 ms |")
	assert.Contains(t, md, "| ledger: time per sync without the commit wait, p99 | ≤ 1.00 ms | > 1.00 ms |", "beyond the last bucket")
	assert.Contains(t, md, "| operator CPU per 1000 syncs | 0.620 s | 0.620 s |")
	assert.Contains(t, md, "| operator VmHWM | 96.0 MiB | 96.0 MiB |")
	assert.Contains(t, md, "| status.budget.spent = what the sidecars reported | yes | no |")
	assert.Contains(t, md, "--ledger-commit-interval=2s")
	for _, row := range r.Table {
		assert.Contains(t, md, "| "+row.Measurement+" |")
	}
}

// The file itself, its directory and its layout, are report.WriteJSON's
// and tested there; what is the ledger's is what its report says in JSON.
func TestReport_KeepsTheTableAndTheScenariosThroughJSON(t *testing.T) {
	r := sampleReport()
	data, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"cpu_s_per_1000_syncs"`)
	var back Report
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, r.Table, back.Table)
	assert.Equal(t, r.Scenarios, back.Scenarios)
}
