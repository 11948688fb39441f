package report

import (
	"fmt"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
)

// The targets.
const (
	// MaxAddedP99OverReverseProxy bounds the sidecar's added p99 latency
	// as a multiple of the plain ReverseProxy's.
	MaxAddedP99OverReverseProxy = 1.5
	// MaxAnswerCPUOverReverseProxy bounds the sidecar's CPU time per
	// request as a multiple of the ReverseProxy's at every answer size:
	// the ratio must not grow with the size of the answer.
	MaxAnswerCPUOverReverseProxy = 1.15
	// MaxIdleRSSMiB bounds the sidecar's idle VmRSS.
	MaxIdleRSSMiB = 20.0
	// MaxStreamsRSSOverReverseProxy bounds the sidecar's VmHWM under the
	// concurrent streams as a multiple of the plain ReverseProxy's.
	MaxStreamsRSSOverReverseProxy = 1.5
)

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
	for _, a := range r.Answers {
		t := Target{Name: fmt.Sprintf("CPU per request with a %s answer within %g× the ReverseProxy's", Size(a.Bytes), MaxAnswerCPUOverReverseProxy)}
		if rp, sc := a.CPU.ReverseProxy, a.CPU.Sidecar; rp > 0 && sc > 0 {
			t.Value = fmt.Sprintf("%.0f µs vs %.0f µs (%.2f×)", sc, rp, sc/rp)
			t.Met = sc <= MaxAnswerCPUOverReverseProxy*rp
		} else {
			t.Value = "not measured"
		}
		out = append(out, t)
	}
	idle := fleet.MiB(r.Idle.Sidecar.RSS)
	out = append(out, Target{
		Name:  fmt.Sprintf("idle VmRSS under %g MiB", MaxIdleRSSMiB),
		Value: fmt.Sprintf("%.1f MiB", idle),
		Met:   r.Idle.Sidecar.RSS > 0 && idle < MaxIdleRSSMiB,
	})
	rpHWM, scHWM := r.Streams.Memory.ReverseProxy.HWM, r.Streams.Memory.Sidecar.HWM
	t := Target{Name: fmt.Sprintf("VmHWM under %d streams within %g× the ReverseProxy's", r.Settings.Streams, MaxStreamsRSSOverReverseProxy)}
	if rpHWM > 0 && scHWM > 0 {
		x := float64(scHWM) / float64(rpHWM)
		t.Value = fmt.Sprintf("%.1f MiB vs %.1f MiB (%.2f×)", fleet.MiB(scHWM), fleet.MiB(rpHWM), x)
		t.Met = x <= MaxStreamsRSSOverReverseProxy
	} else {
		t.Value = "not measured"
	}
	out = append(out, t)
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
