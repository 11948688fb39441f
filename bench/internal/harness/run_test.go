package harness

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/report"
)

// tinyRun is a run of a few seconds: every phase, against the real
// binaries, with too little load for its numbers to mean anything. The
// test checks that everything was measured, never how fast.
func tinyRun() Options {
	o := Defaults()
	o.Quick = true
	o.Warmup = 50 * time.Millisecond
	o.Duration = 300 * time.Millisecond
	o.Rates = []int{50, 100}
	o.AnswerSizes = []int{2, 64 << 10}
	o.AnswerRate = 50
	o.Rounds = 2
	o.Concurrency = 4
	o.UpstreamLatencies = []time.Duration{0, 5 * time.Millisecond}
	o.Streams = 20
	o.StreamRounds = 2
	o.StreamChunks = 5
	o.ChunkDelay = 10 * time.Millisecond
	o.Ramp = 100 * time.Millisecond
	o.IdleSettle = 100 * time.Millisecond
	o.TurnSettle = 20 * time.Millisecond
	o.Timeout = 20 * time.Second
	o.Out = ""
	o.Peer = report.PeerNone // the tests never need npm: see standIn
	return o
}

func TestRun_MeasuresEveryPhaseAgainstTheRealBinariesAndWritesWellFormedJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sidecar, the mock and the ReverseProxy")
	}
	o := tinyRun()
	var progress bytes.Buffer
	rep, err := Run(t.Context(), o, &progress)
	require.NoError(t, err, "progress:\n%s", progress.String())

	path := filepath.Join(t.TempDir(), "results", "latest.json")
	require.NoError(t, rep.WriteJSON(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, json.Valid(data), "the report is JSON")
	var got report.Report
	require.NoError(t, json.Unmarshal(data, &got))

	assert.Equal(t, report.Schema, got.Schema)
	assert.NotEmpty(t, got.Machine.CPU)
	assert.Positive(t, got.Machine.Cores)
	assert.True(t, strings.HasPrefix(got.Machine.Go, "go"), got.Machine.Go)
	assert.NotEmpty(t, got.Machine.Kernel)
	assert.Contains(t, got.Settings.Policy, "kind: LLMPolicy")

	require.Len(t, got.Latency, len(o.Rates))
	for i, l := range got.Latency {
		assert.Equal(t, o.Rates[i], l.Rate)
		for _, r := range named(l.Results) {
			perTurn := o.Duration / time.Duration(o.Rounds)
			want := o.Rounds * int(float64(o.Rates[i])*perTurn.Seconds())
			assert.Equal(t, want, r.v.Sent, "%d req/s %s: every scheduled request, over both turns", l.Rate, r.name)
			assert.Equal(t, r.v.Sent, r.v.OK, "%d req/s %s: %s", l.Rate, r.name, r.v.FirstError)
			assert.Positive(t, r.v.Latency.P99, "%d req/s %s", l.Rate, r.name)
			assert.GreaterOrEqual(t, r.v.Latency.P99, r.v.Latency.P50)
		}
		assert.GreaterOrEqual(t, l.CPU.ReverseProxy, 0.0)
		assert.GreaterOrEqual(t, l.CPU.Sidecar, 0.0)
	}

	require.Len(t, got.Answers, len(o.AnswerSizes))
	for i, a := range got.Answers {
		assert.Equal(t, o.AnswerSizes[i], a.Bytes)
		for _, r := range named(a.Results) {
			assert.Positive(t, r.v.Sent, "%d B %s", a.Bytes, r.name)
			assert.Equal(t, r.v.Sent, r.v.OK, "%d B %s: %s", a.Bytes, r.name, r.v.FirstError)
		}
		// CPU time is read in clock ticks (10 ms): the few small requests
		// of a tiny run may take none, as in the latency runs above.
		assert.GreaterOrEqual(t, a.CPU.ReverseProxy, 0.0, "%d B", a.Bytes)
		assert.GreaterOrEqual(t, a.CPU.Sidecar, 0.0, "%d B", a.Bytes)
	}

	require.Len(t, got.Throughput, len(o.UpstreamLatencies))
	for _, tp := range got.Throughput {
		for _, r := range named(tp.Results) {
			assert.Positive(t, r.v.Rate, "%g ms upstream %s", tp.UpstreamLatency, r.name)
			assert.Zero(t, r.v.Errors, "%g ms upstream %s: %s", tp.UpstreamLatency, r.name, r.v.FirstError)
		}
	}

	for _, r := range named(got.Streams.Results) {
		s := r.v
		assert.Equal(t, o.Streams*o.StreamRounds, s.Streams, r.name)
		assert.Equal(t, s.Streams, s.Completed, "%s: %s", r.name, s.FirstError)
		assert.Equal(t, s.Streams, s.TTFT.Count, r.name)
		// role chunk, content deltas, finish chunk, usage chunk, [DONE]
		assert.EqualValues(t, s.Streams*(o.StreamChunks+4), s.Events, r.name)
	}
	for name, p := range map[string]report.Proxies[fleet.Memory]{"streams": got.Streams.Memory, "idle": got.Idle} {
		assert.Positive(t, p.ReverseProxy.RSS, name)
		assert.Positive(t, p.Sidecar.RSS, name)
		assert.Positive(t, p.Sidecar.HWM, name)
	}

	assert.Len(t, got.Table, 5*len(o.Rates)+3*len(o.AnswerSizes)+2*len(o.UpstreamLatencies)+10,
		"per rate 5 rows, per answer size 3, per upstream latency 2, streams 9, idle 1")
	for _, tp := range got.Throughput {
		assert.Positive(t, tp.CPU.Sidecar+tp.CPU.ReverseProxy, "%g ms upstream: CPU per request measured", tp.UpstreamLatency)
	}
	assert.Len(t, got.Targets, targetCount(o))
	var md bytes.Buffer
	require.NoError(t, got.WriteMarkdown(&md))
	for _, row := range got.Table {
		assert.Contains(t, md.String(), "| "+row.Measurement+" |")
	}
	assert.Contains(t, md.String(), got.Machine.CPU)
	assert.Contains(t, progress.String(), "streams")
}

// targetCount is how many targets a run with options o checks: per rate
// the added p99 and the CPU per request, per upstream latency the CPU per
// request and the max req/s, per answer size the CPU per request, three
// under the streams, and the idle memory.
func targetCount(o Options) int {
	return 2*len(o.Rates) + 2*len(o.UpstreamLatencies) + len(o.AnswerSizes) + 3 + 1
}
