package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
	"tollgate.dev/tollgate/bench/internal/stats"
)

// withPortkey is sample with the peer measured: p99 at 500 req/s 3 ms
// (2 ms added), 400 µs CPU per request, 2000 req/s, 50 MiB idle.
func withPortkey(rpAdded, scAdded float64) *Report {
	r := sample(rpAdded, scAdded)
	r.Peer = Peer{Name: PeerPortkey, About: "@portkey-ai/gateway 1.15.2 on node v20.20.2"}
	r.Latency[0].Results.Portkey = ptr(latency(1.5, 3))
	r.Latency[0].CPU.Portkey = ptr(400.0)
	r.Throughput[0].Results.Portkey = &load.Result{Rate: 2000}
	r.Streams.Results.Portkey = &load.StreamResult{Streams: 1000, Completed: 1000, PeakOpen: 1000, TTFT: stats.Summary{P50: 30, P99: 60}}
	r.Streams.CPU.Portkey = ptr(2.0)
	r.Streams.Memory.Portkey = &fleet.Memory{RSS: 150 * 1024, HWM: 192 * 1024}
	r.Idle.Portkey = &fleet.Memory{RSS: 50 * 1024}
	r.Finish()
	return r
}

func ptr[T any](v T) *T { return &v }

func markdown(t *testing.T, r *Report) string {
	t.Helper()
	r.Machine = fleet.Machine{CPU: "AMD EPYC", Cores: 2, Go: "go1.26.8", Kernel: "linux 6.1", LoadAvg: "0.5 0.4 0.3", Pinned: true}
	var b bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&b))
	return b.String()
}

func TestFinish_ThePeerGetsAValueAndASidecarOverPortkeyRatioInEveryRow(t *testing.T) {
	r := withPortkey(0.2, 0.25)
	added := find(t, r.Table, "added p99 @ 500 req/s")
	assert.InDelta(t, 2.0, *added.Portkey, 1e-9)
	assert.InDelta(t, 0.125, *added.SidecarOverPortkey, 1e-9)
	assert.InDelta(t, 1.25, *added.SidecarOverReverseProxy, 1e-9, "the ReverseProxy's ratio as without the peer")

	cpu := find(t, r.Table, "proxy CPU per request @ 500 req/s")
	assert.InDelta(t, 400.0, *cpu.Portkey, 1e-9)
	assert.InDelta(t, 150.0/400, *cpu.SidecarOverPortkey, 1e-9)

	tp := find(t, r.Table, "max req/s, 64 concurrent, 20 ms upstream")
	assert.InDelta(t, 1.4, *tp.SidecarOverPortkey, 1e-9)

	idle := find(t, r.Table, "idle VmRSS after the first request")
	assert.InDelta(t, 50.0, *idle.Portkey, 1e-9)
	assert.InDelta(t, 0.3, *idle.SidecarOverPortkey, 1e-9)

	hwm := find(t, r.Table, "1000 streams: VmHWM")
	assert.InDelta(t, 192.0, *hwm.Portkey, 1e-9)

	failed := find(t, r.Table, "1000 streams: failed")
	assert.InDelta(t, 0.0, *failed.Portkey, 1e-9)
	assert.Nil(t, failed.SidecarOverPortkey, "no ratio to nothing")
}

func TestFinish_TheTargetsStayTheSidecarsAgainstTheReverseProxy(t *testing.T) {
	with, without := withPortkey(0.2, 0.25), sample(0.2, 0.25)
	assert.Equal(t, without.Targets, with.Targets)
}

func TestFinish_WithoutThePeerRowsHaveNoPeerValues(t *testing.T) {
	r := sample(0.2, 0.25)
	for _, row := range r.Table {
		assert.Nil(t, row.Portkey, row.Measurement)
		assert.Nil(t, row.SidecarOverPortkey, row.Measurement)
	}
}

func TestWriteMarkdown_WithThePeerAddsAPortkeyColumnAndItsRatio(t *testing.T) {
	md := markdown(t, withPortkey(0.2, 0.25))
	assert.Contains(t, md, "| Measurement | direct | ReverseProxy | sidecar | Portkey | sidecar / direct | sidecar / ReverseProxy | sidecar / Portkey |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
	assert.Contains(t, md, "| added p99 @ 500 req/s | — | 0.200 ms | 0.250 ms | 2.00 ms | — | 1.25× | 0.12× |")
	assert.Contains(t, md, "| proxy CPU per request @ 500 req/s | — | 100 µs | 150 µs | 400 µs | — | 1.50× | 0.38× |")
	assert.Contains(t, md, "| idle VmRSS after the first request | — | 8.0 MiB | 15.0 MiB | 50.0 MiB | — | 1.88× | 0.30× |")
	assert.Contains(t, md, "sidecar, ReverseProxy and Portkey pinned to CPU 1")
	assert.Contains(t, md, "Portkey is @portkey-ai/gateway 1.15.2 on node v20.20.2, headless")
	assert.Contains(t, md, "| Target | Measured (sidecar vs ReverseProxy) | Met |")
}

func TestWriteMarkdown_WithoutThePeerPrintsTheThreeTargetsOnly(t *testing.T) {
	for name, peer := range map[string]Peer{
		"none asked":      {Name: PeerNone},
		"an older report": {},
	} {
		t.Run(name, func(t *testing.T) {
			r := sample(0.2, 0.25)
			r.Peer = peer
			r.Finish()
			md := markdown(t, r)
			assert.Contains(t, md, "| Measurement | direct | ReverseProxy | sidecar | sidecar / direct | sidecar / ReverseProxy |\n|---|--:|--:|--:|--:|--:|\n")
			assert.Contains(t, md, "| added p99 @ 500 req/s | — | 0.200 ms | 0.250 ms | — | 1.25× |")
			assert.Contains(t, md, "sidecar and ReverseProxy pinned to CPU 1")
			assert.NotContains(t, md, "Portkey")
		})
	}
}

func TestWriteMarkdown_APeerSkippedIsANoteAndNoColumn(t *testing.T) {
	r := sample(0.2, 0.25)
	r.Peer = Peer{Name: PeerPortkey, Skipped: "npm not found on PATH"}
	r.Finish()
	assert.Equal(t, "Portkey skipped: npm not found on PATH", r.Notes[0])
	md := markdown(t, r)
	assert.Contains(t, md, "| Measurement | direct | ReverseProxy | sidecar | sidecar / direct | sidecar / ReverseProxy |\n")
	assert.Contains(t, md, "- Portkey skipped: npm not found on PATH\n")
}

func TestWriteMarkdown_APeerLostKeepsItsColumnWithDashesFromThereOn(t *testing.T) {
	r := withPortkey(0.2, 0.25)
	r.Peer.Lost = "streams: portkey exited while the benchmark ran"
	r.Streams.Results.Portkey, r.Streams.CPU.Portkey, r.Streams.Memory.Portkey = nil, nil, nil
	r.Finish()
	md := markdown(t, r)
	assert.Contains(t, md, "| added p99 @ 500 req/s | — | 0.200 ms | 0.250 ms | 2.00 ms | — | 1.25× | 0.12× |", "what it measured before")
	assert.Contains(t, md, "| 1000 streams: VmHWM | — | 64.0 MiB | 96.0 MiB | — | — | 1.50× | — |")
	assert.Contains(t, md, "- Portkey lost: streams: portkey exited while the benchmark ran; it has no values from there on\n")
}

func TestFinish_NotesThePeersFailuresAsTheOthers(t *testing.T) {
	r := withPortkey(0.2, 0.25)
	r.Latency[0].Results.Portkey.Errors, r.Latency[0].Results.Portkey.FirstError = 7, "status 500 from portkey"
	r.Streams.Results.Portkey.Failed, r.Streams.Results.Portkey.FirstError = 3, "read stream: EOF"
	r.Finish()
	assert.Contains(t, r.Notes, "500 req/s, Portkey: 7 of 100 requests failed, e.g. status 500 from portkey")
	assert.Contains(t, r.Notes, "streams, Portkey: 3 of 1000 streams failed, e.g. read stream: EOF")
}

func TestWriteJSON_HoldsThePeersValuesOnlyWhenItWasMeasured(t *testing.T) {
	encode := func(r *Report) string {
		data, err := json.Marshal(r)
		require.NoError(t, err)
		return string(data)
	}
	without := encode(sample(0.2, 0.25))
	assert.NotContains(t, without, `"portkey"`)
	assert.NotContains(t, without, `"sidecar_over_portkey"`)

	with := withPortkey(0.2, 0.25)
	data := encode(with)
	assert.Contains(t, data, `"peer":{"name":"portkey","about":"@portkey-ai/gateway 1.15.2 on node v20.20.2"}`)
	assert.Contains(t, data, `"sidecar_over_portkey"`)
	var back Report
	require.NoError(t, json.Unmarshal([]byte(data), &back))
	assert.Equal(t, with.Table, back.Table)
	assert.Equal(t, with.Idle, back.Idle)
	assert.Equal(t, with.Peer, back.Peer)
}
