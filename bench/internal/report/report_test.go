package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
	"tollgate.dev/tollgate/bench/internal/stats"
)

func latency(p50, p99 float64) load.Result {
	return load.Result{Latency: stats.Summary{Count: 100, P50: p50, P99: p99}, Sent: 100, OK: 100}
}

// sample is a report with one rate whose p99s are direct 1 ms,
// ReverseProxy 1+rpAdded, sidecar 1+scAdded.
func sample(rpAdded, scAdded float64) *Report {
	r := &Report{
		Settings: Settings{Streams: 1000, StallGap: 500, Rates: []int{500}, Rounds: 3, StreamRounds: 2},
		Latency: []LatencyRun{{Rate: 500, Results: Trio[load.Result]{
			Direct: latency(0.5, 1), ReverseProxy: latency(0.6, 1+rpAdded), Sidecar: latency(0.7, 1+scAdded),
		}, CPU: Proxies[float64]{ReverseProxy: 100, Sidecar: 150}}},
		Throughput: []ThroughputRun{{UpstreamLatency: 20, Concurrency: 64, Results: Trio[load.Result]{
			Direct: load.Result{Rate: 3000}, ReverseProxy: load.Result{Rate: 2900}, Sidecar: load.Result{Rate: 2800},
		}}},
		Streams: StreamsRun{
			Results: Trio[load.StreamResult]{
				Direct:       load.StreamResult{Streams: 1000, Completed: 1000, PeakOpen: 1000, TTFT: stats.Summary{P50: 1, P99: 2}},
				ReverseProxy: load.StreamResult{Streams: 1000, Completed: 1000, PeakOpen: 1000, TTFT: stats.Summary{P50: 2, P99: 4}},
				Sidecar:      load.StreamResult{Streams: 1000, Completed: 990, Failed: 10, FirstError: "boom", PeakOpen: 1000, TTFT: stats.Summary{P50: 3, P99: 6}},
			},
			Memory: Proxies[fleet.Memory]{ReverseProxy: fleet.Memory{RSS: 60 * 1024, HWM: 64 * 1024}, Sidecar: fleet.Memory{RSS: 80 * 1024, HWM: 96 * 1024}},
		},
		Idle: Proxies[fleet.Memory]{ReverseProxy: fleet.Memory{RSS: 8 * 1024}, Sidecar: fleet.Memory{RSS: 15 * 1024}},
	}
	r.Finish()
	return r
}

func find(t *testing.T, rows []Row, measurement string) Row {
	t.Helper()
	for _, r := range rows {
		if r.Measurement == measurement {
			return r
		}
	}
	require.Failf(t, "no row", "%q", measurement)
	return Row{}
}

func TestFinish_AddedLatencyIsTheProxyMinusDirectAndItsRatioIsSidecarOverReverseProxy(t *testing.T) {
	r := sample(0.2, 0.25)
	row := find(t, r.Table, "added p99 @ 500 req/s")
	assert.Nil(t, row.Direct)
	assert.InDelta(t, 0.2, *row.ReverseProxy, 1e-9)
	assert.InDelta(t, 0.25, *row.Sidecar, 1e-9)
	assert.InDelta(t, 1.25, *row.SidecarOverReverseProxy, 1e-9)
	assert.Nil(t, row.SidecarOverDirect)

	raw := find(t, r.Table, "latency p50 @ 500 req/s")
	assert.InDelta(t, 0.7/0.5, *raw.SidecarOverDirect, 1e-9)
	assert.InDelta(t, 0.7/0.6, *raw.SidecarOverReverseProxy, 1e-9)

	tp := find(t, r.Table, "max req/s, 64 concurrent, 20 ms upstream")
	assert.InDelta(t, 2800.0/3000, *tp.SidecarOverDirect, 1e-9)

	hwm := find(t, r.Table, "1000 streams: VmHWM")
	assert.InDelta(t, 96.0, *hwm.Sidecar, 1e-9)
	assert.InDelta(t, 1.5, *hwm.SidecarOverReverseProxy, 1e-9)
}

// target is r's target named name.
func target(t *testing.T, r *Report, name string) Target {
	t.Helper()
	for _, tg := range r.Targets {
		if tg.Name == name {
			return tg
		}
	}
	require.Failf(t, "no target", "%q in %+v", name, r.Targets)
	return Target{}
}

func TestFinish_ChecksTheAddedP99(t *testing.T) {
	tests := map[string]struct {
		rpAdded, scAdded float64
		wantMet          bool
	}{
		"a sidecar adding 1.4× the ReverseProxy's p99 meets it":   {rpAdded: 0.2, scAdded: 0.28, wantMet: true},
		"a sidecar adding twice the ReverseProxy's p99 misses it": {rpAdded: 0.2, scAdded: 0.4, wantMet: false},
		"a sidecar adding nothing meets it whatever the noise":    {rpAdded: -0.1, scAdded: -0.2, wantMet: true},
		"no ratio to a ReverseProxy that added nothing":           {rpAdded: -0.1, scAdded: 0.1, wantMet: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sample(tc.rpAdded, tc.scAdded)
			got := target(t, r, "added p99 @ 500 req/s within 1.5× the ReverseProxy's")
			assert.Equal(t, tc.wantMet, got.Met, got.Value)
		})
	}
}

func TestFinish_ChecksIssue14sTargets(t *testing.T) {
	r := sample(0.2, 0.2)
	r.Throughput[0].CPU = Proxies[float64]{ReverseProxy: 100, Sidecar: 110}
	r.Streams.CPU = Proxies[float64]{ReverseProxy: 2, Sidecar: 2.3}
	r.Finish()
	require.Len(t, r.Targets, 8, "%+v", r.Targets)
	tests := []struct {
		name, value string
		met         bool
	}{
		{"CPU per request @ 500 req/s within 1.1× the ReverseProxy's", "150 µs vs 100 µs (1.50×)", false},
		{"CPU per request at max req/s, 20 ms upstream within 1.1× the ReverseProxy's", "110 µs vs 100 µs (1.10×)", true},
		{"max req/s, 20 ms upstream, at least 0.95× the ReverseProxy's", "2800 vs 2900 (0.97×)", true},
		// direct 1 ms, ReverseProxy 2 ms, sidecar 3 ms: 2 ms added vs 1 ms.
		{"added TTFT p50 under 1000 streams within 1.2× the ReverseProxy's", "2.000 ms vs 1.000 ms (2.00×)", false},
		{"VmHWM under 1000 streams within 1.1× the ReverseProxy's", "96.0 MiB vs 64.0 MiB (1.50×)", false},
		{"CPU per stream under 1000 streams within 1.1× the ReverseProxy's", "2.30 ms vs 2.00 ms (1.15×)", false},
		{"idle VmRSS at most 10 MiB", "15.0 MiB", false},
	}
	for _, tc := range tests {
		got := target(t, r, tc.name)
		assert.Equal(t, tc.value, got.Value, tc.name)
		assert.Equal(t, tc.met, got.Met, tc.name)
	}

	// At the bounds exactly, each is met.
	r.Latency[0].CPU.Sidecar = 110
	r.Throughput[0].Results.Sidecar.Rate = 0.95 * 2900
	r.Streams.Results.Sidecar.TTFT.P50 = 1 + 1.2
	r.Streams.Memory.Sidecar.HWM = 64 * 1024 * 11 / 10
	r.Streams.CPU.Sidecar = 2.2
	r.Idle.Sidecar.RSS = 10 * 1024
	r.Finish()
	for _, tg := range r.Targets {
		if tg.Name != "added p99 @ 500 req/s within 1.5× the ReverseProxy's" {
			assert.True(t, tg.Met, "%s: %s", tg.Name, tg.Value)
		}
	}
}

func TestFinish_AThroughputWithoutCPUTimesIsNotMeasuredNotMet(t *testing.T) {
	r := sample(0.2, 0.2)
	got := target(t, r, "CPU per request at max req/s, 20 ms upstream within 1.1× the ReverseProxy's")
	assert.Equal(t, "not measured", got.Value)
	assert.False(t, got.Met)
	row := find(t, r.Table, "proxy CPU per request at max req/s, 20 ms upstream")
	assert.Nil(t, row.SidecarOverReverseProxy, "no ratio of nothing")
}

func TestFinish_AnswerSizesGetRowsAndACPUTargetEach(t *testing.T) {
	r := sample(0.2, 0.2)
	r.Answers = []AnswerRun{
		{Bytes: 2, Rate: 500, Results: r.Latency[0].Results, CPU: Proxies[float64]{ReverseProxy: 100, Sidecar: 110}},
		{Bytes: 64 << 10, Rate: 500, Results: r.Latency[0].Results, CPU: Proxies[float64]{ReverseProxy: 200, Sidecar: 240}},
	}
	r.Finish()
	cpu := find(t, r.Table, "proxy CPU per request @ 500 req/s, 64 KiB answer")
	assert.InDelta(t, 1.2, *cpu.SidecarOverReverseProxy, 1e-9)
	find(t, r.Table, "added p99 @ 500 req/s, 2 B answer")
	small := target(t, r, "CPU per request with a 2 B answer within 1.15× the ReverseProxy's")
	assert.True(t, small.Met, small.Value)
	large := target(t, r, "CPU per request with a 64 KiB answer within 1.15× the ReverseProxy's")
	assert.False(t, large.Met, "1.2× is over 1.15×: %s", large.Value)
	assert.Equal(t, "240 µs vs 200 µs (1.20×)", large.Value)
}

func TestSize_NamesAnswersAsTheTablesDo(t *testing.T) {
	assert.Equal(t, "2 B", Size(2))
	assert.Equal(t, "8 KiB", Size(8<<10))
	assert.Equal(t, "1.5 MiB", Size(3<<19))
}

func TestFinish_NotesFailuresThePercentilesHide(t *testing.T) {
	r := sample(0.2, 0.2)
	require.Len(t, r.Notes, 1)
	assert.Contains(t, r.Notes[0], "streams, sidecar: 10 of 1000 streams failed, e.g. boom")
}

func TestFinish_NotesStreamsThatWereNotAllOpenAtOnceInATurn(t *testing.T) {
	r := sample(0.2, 0.2)
	r.Streams.Results.Direct.Streams = 2000 // two turns of 1000, each all open at once
	r.Streams.Results.ReverseProxy.Streams, r.Streams.Results.ReverseProxy.PeakOpen = 2000, 700
	r.Finish()
	require.Len(t, r.Notes, 2, "%q", r.Notes)
	assert.Equal(t, "streams, ReverseProxy: at most 700 of 1000 streams were open at once", r.Notes[0])
}

func TestWriteMarkdown_PrintsEveryRowWithDashesForWhatDoesNotApply(t *testing.T) {
	r := sample(0.2, 0.25)
	r.Machine = fleet.Machine{CPU: "AMD EPYC", Cores: 2, Go: "go1.26.8", Kernel: "linux 6.1", LoadAvg: "0.5 0.4 0.3", Pinned: true}
	var b bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&b))
	md := b.String()
	assert.Contains(t, md, "Machine: AMD EPYC, 2 cores, go1.26.8, linux 6.1")
	assert.Contains(t, md, "pinned to CPU 1")
	assert.Contains(t, md, "| added p99 @ 500 req/s | — | 0.200 ms | 0.250 ms | — | 1.25× |")
	assert.Contains(t, md, "| idle VmRSS after the first request | — | 8.0 MiB | 15.0 MiB | — | 1.88× |")
	assert.Contains(t, md, "| proxy CPU per request @ 500 req/s | — | 100 µs | 150 µs | — | 1.50× |")
	assert.Contains(t, md, "- streams, sidecar: 10 of 1000 streams failed")
}

func TestWriteJSON_CreatesTheDirectoryAndRoundTrips(t *testing.T) {
	r := sample(0.2, 0.25)
	path := filepath.Join(t.TempDir(), "bench", "results", "latest.json")
	require.NoError(t, r.WriteJSON(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var back Report
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, r.Table, back.Table)
	assert.Equal(t, r.Targets, back.Targets)
	assert.Contains(t, string(data), `"sidecar_over_reverseproxy"`)
}
