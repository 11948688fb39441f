package report

import (
	"fmt"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
)

// The targets, as ratios to the plain ReverseProxy in the same run unless
// said otherwise: issue 14's (performance within 10% of a bare
// ReverseProxy), and the added-p99 bound of the first benchmark's issue.
const (
	// MaxAddedP99OverReverseProxy bounds the sidecar's added p99 latency
	// at each open-loop rate.
	MaxAddedP99OverReverseProxy = 1.5
	// MaxCPUOverReverseProxy bounds the sidecar's CPU time per request at
	// each open-loop rate and at max throughput.
	MaxCPUOverReverseProxy = 1.10
	// MinThroughputOverReverseProxy is the least of the sidecar's max
	// req/s, at each upstream latency.
	MinThroughputOverReverseProxy = 0.95
	// MaxAnswerCPUOverReverseProxy bounds the sidecar's CPU time per
	// request at every answer size: the ratio must not grow with the
	// size of the answer.
	MaxAnswerCPUOverReverseProxy = 1.15
	// MaxStreamsAddedTTFTOverReverseProxy bounds the sidecar's added time
	// to first event (p50) under the concurrent streams.
	MaxStreamsAddedTTFTOverReverseProxy = 1.2
	// MaxStreamsRSSOverReverseProxy bounds the sidecar's VmHWM under the
	// concurrent streams.
	MaxStreamsRSSOverReverseProxy = 1.1
	// MaxStreamsCPUOverReverseProxy bounds the sidecar's CPU time per
	// stream.
	MaxStreamsCPUOverReverseProxy = 1.1
	// MaxIdleRSSMiB bounds the sidecar's idle VmRSS, in MiB (not a ratio).
	MaxIdleRSSMiB = 10.0
)

// roundoff lets a value at a bound exactly meet it whatever the last bit
// of its arithmetic (1+1.2-1 > 1.2).
const roundoff = 1e-9

// atMost checks the sidecar's value sc against max times the
// ReverseProxy's rp, shown with format (e.g. "%.0f µs"); a value not
// measured meets nothing.
func atMost(name string, sc, rp, max float64, format string) Target {
	t := Target{Name: fmt.Sprintf("%s within %g× the ReverseProxy's", name, max)}
	if rp <= 0 || sc <= 0 {
		t.Value = "not measured"
		return t
	}
	t.Value = fmt.Sprintf(format+" vs "+format+" (%.2f×)", sc, rp, sc/rp)
	t.Met = sc <= max*rp*(1+roundoff)
	return t
}

// checkTargets compares the measurements with the targets.
func (r *Report) checkTargets() []Target {
	var out []Target
	for _, l := range r.Latency {
		rp := l.Results.ReverseProxy.Latency.P99 - l.Results.Direct.Latency.P99
		sc := l.Results.Sidecar.Latency.P99 - l.Results.Direct.Latency.P99
		t := Target{Name: fmt.Sprintf("added p99 @ %d req/s within %g× the ReverseProxy's", l.Rate, MaxAddedP99OverReverseProxy)}
		if rp > 0 {
			t.Value = fmt.Sprintf("%s vs %s (%.2f×)", Millis(sc), Millis(rp), sc/rp)
			t.Met = sc <= MaxAddedP99OverReverseProxy*rp
		} else {
			// The ReverseProxy added nothing measurable: noise hid its
			// cost, and only a sidecar that added nothing either meets it.
			t.Value = fmt.Sprintf("%s vs %s (no ratio: the ReverseProxy added nothing measurable)", Millis(sc), Millis(rp))
			t.Met = sc <= 0
		}
		out = append(out, t)
	}
	for _, l := range r.Latency {
		out = append(out, atMost(fmt.Sprintf("CPU per request @ %d req/s", l.Rate), l.CPU.Sidecar, l.CPU.ReverseProxy, MaxCPUOverReverseProxy, "%.0f µs"))
	}
	for _, tp := range r.Throughput {
		out = append(out, atMost(fmt.Sprintf("CPU per request at max req/s, %g ms upstream", tp.UpstreamLatency), tp.CPU.Sidecar, tp.CPU.ReverseProxy, MaxCPUOverReverseProxy, "%.0f µs"))
		rp, sc := tp.Results.ReverseProxy.Rate, tp.Results.Sidecar.Rate
		t := Target{Name: fmt.Sprintf("max req/s, %g ms upstream, at least %g× the ReverseProxy's", tp.UpstreamLatency, MinThroughputOverReverseProxy)}
		if rp > 0 && sc > 0 {
			t.Value = fmt.Sprintf("%.0f vs %.0f (%.2f×)", sc, rp, sc/rp)
			t.Met = sc >= MinThroughputOverReverseProxy*rp
		} else {
			t.Value = "not measured"
		}
		out = append(out, t)
	}
	for _, a := range r.Answers {
		out = append(out, atMost(fmt.Sprintf("CPU per request with a %s answer", Size(a.Bytes)), a.CPU.Sidecar, a.CPU.ReverseProxy, MaxAnswerCPUOverReverseProxy, "%.0f µs"))
	}
	n := r.Settings.Streams
	s := r.Streams.Results
	added := func(x load.StreamResult) float64 { return x.TTFT.P50 - s.Direct.TTFT.P50 }
	out = append(out,
		atMost(fmt.Sprintf("added TTFT p50 under %d streams", n), added(s.Sidecar), added(s.ReverseProxy), MaxStreamsAddedTTFTOverReverseProxy, "%.3f ms"),
		atMost(fmt.Sprintf("VmHWM under %d streams", n), fleet.MiB(r.Streams.Memory.Sidecar.HWM), fleet.MiB(r.Streams.Memory.ReverseProxy.HWM), MaxStreamsRSSOverReverseProxy, "%.1f MiB"),
		atMost(fmt.Sprintf("CPU per stream under %d streams", n), r.Streams.CPU.Sidecar, r.Streams.CPU.ReverseProxy, MaxStreamsCPUOverReverseProxy, "%.2f ms"),
	)
	idle := fleet.MiB(r.Idle.Sidecar.RSS)
	out = append(out, Target{
		Name:  fmt.Sprintf("idle VmRSS at most %g MiB", MaxIdleRSSMiB),
		Value: fmt.Sprintf("%.1f MiB", idle),
		Met:   r.Idle.Sidecar.RSS > 0 && idle <= MaxIdleRSSMiB,
	})
	return out
}

// notes points out failures, which the percentiles alone would hide, and
// what became of a peer that was asked for and not measured throughout.
func (r *Report) notes() []string {
	var out []string
	switch {
	case r.Peer.Skipped != "":
		out = append(out, "Portkey skipped: "+r.Peer.Skipped)
	case r.Peer.Lost != "":
		out = append(out, "Portkey lost: "+r.Peer.Lost+"; it has no values from there on")
	}
	failed := func(what string, res load.Result) {
		if res.Errors > 0 {
			out = append(out, fmt.Sprintf("%s: %d of %d requests failed, e.g. %s", what, res.Errors, res.Sent, res.FirstError))
		}
	}
	each := func(prefix string, t Trio[load.Result]) {
		failed(prefix+", direct", t.Direct)
		failed(prefix+", ReverseProxy", t.ReverseProxy)
		failed(prefix+", sidecar", t.Sidecar)
		if t.Portkey != nil {
			failed(prefix+", Portkey", *t.Portkey)
		}
	}
	for _, l := range r.Latency {
		each(fmt.Sprintf("%d req/s", l.Rate), l.Results)
	}
	for _, a := range r.Answers {
		each(fmt.Sprintf("%s answers", Size(a.Bytes)), a.Results)
	}
	for _, t := range r.Throughput {
		each(fmt.Sprintf("%d concurrent, %g ms upstream", t.Concurrency, t.UpstreamLatency), t.Results)
	}
	type named struct {
		name string
		res  load.StreamResult
	}
	res := r.Streams.Results
	streams := []named{{"direct", res.Direct}, {"ReverseProxy", res.ReverseProxy}, {"sidecar", res.Sidecar}}
	if res.Portkey != nil {
		streams = append(streams, named{"Portkey", *res.Portkey})
	}
	for _, st := range streams {
		name, s := st.name, st.res
		if s.Failed > 0 {
			out = append(out, fmt.Sprintf("streams, %s: %d of %d streams failed, e.g. %s", name, s.Failed, s.Streams, s.FirstError))
		}
		// Each turn opens Settings.Streams; Streams counts them over the
		// turns.
		if s.Streams > 0 && s.PeakOpen < r.Settings.Streams {
			out = append(out, fmt.Sprintf("streams, %s: at most %d of %d streams were open at once", name, s.PeakOpen, r.Settings.Streams))
		}
	}
	return out
}

// Finish derives the table, the target checks and the notes from the
// measurements.
func (r *Report) Finish() {
	r.Schema = Schema
	r.Table = r.buildTable()
	r.Targets = r.checkTargets()
	r.Notes = r.notes()
}
