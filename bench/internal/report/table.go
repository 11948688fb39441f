package report

import (
	"fmt"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
	"tollgate.dev/tollgate/bench/internal/stats"
)

// Row is one line of the summary table. A nil value is a cell that does
// not apply (the direct call has no process of its own to measure; a
// ratio of a non-positive number says nothing).
type Row struct {
	// Measurement says what the row measures.
	Measurement string `json:"measurement"`
	// Unit is the unit of the three values.
	Unit string `json:"unit"`
	// Direct, ReverseProxy and Sidecar are the values per target.
	Direct       *float64 `json:"direct"`
	ReverseProxy *float64 `json:"reverseproxy"`
	Sidecar      *float64 `json:"sidecar"`
	// SidecarOverDirect is Sidecar / Direct.
	SidecarOverDirect *float64 `json:"sidecar_over_direct"`
	// SidecarOverReverseProxy is Sidecar / ReverseProxy.
	SidecarOverReverseProxy *float64 `json:"sidecar_over_reverseproxy"`
}

// row builds a Row with its ratios.
func row(measurement, unit string, direct, rp, sidecar *float64) Row {
	return Row{
		Measurement: measurement, Unit: unit,
		Direct: direct, ReverseProxy: rp, Sidecar: sidecar,
		SidecarOverDirect:       ratio(sidecar, direct),
		SidecarOverReverseProxy: ratio(sidecar, rp),
	}
}

func val(v float64) *float64 { return &v }

// ratio is a/b when both are known and positive.
func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *a <= 0 || *b <= 0 {
		return nil
	}
	return val(*a / *b)
}

// added is what each proxy adds to the direct value.
func added(t Trio[float64]) (rp, sidecar *float64) {
	return val(t.ReverseProxy - t.Direct), val(t.Sidecar - t.Direct)
}

func pick[T any](t Trio[T], f func(T) float64) Trio[float64] {
	return Trio[float64]{Direct: f(t.Direct), ReverseProxy: f(t.ReverseProxy), Sidecar: f(t.Sidecar)}
}

func trioRow(measurement, unit string, t Trio[float64]) Row {
	return row(measurement, unit, val(t.Direct), val(t.ReverseProxy), val(t.Sidecar))
}

func addedRow(measurement string, t Trio[float64]) Row {
	rp, sc := added(t)
	return row(measurement, UnitMillis, nil, rp, sc)
}

func proxiesRow(measurement string, p Proxies[int64]) Row {
	return row(measurement, UnitMiB, nil, val(fleet.MiB(p.ReverseProxy)), val(fleet.MiB(p.Sidecar)))
}

func p50(s stats.Summary) float64 { return s.P50 }
func p99(s stats.Summary) float64 { return s.P99 }

// Size shows a size in bytes as the tables name answers: 2 B, 8 KiB,
// 1.5 MiB.
func Size(bytes int) string {
	switch {
	case bytes >= 1<<20:
		return fmt.Sprintf("%g MiB", float64(bytes)/(1<<20))
	case bytes >= 1<<10:
		return fmt.Sprintf("%g KiB", float64(bytes)/(1<<10))
	}
	return fmt.Sprintf("%d B", bytes)
}

// buildTable derives the summary table from the measurements.
func (r *Report) buildTable() []Row {
	var rows []Row
	for _, l := range r.Latency {
		lat50 := pick(l.Results, func(x load.Result) float64 { return p50(x.Latency) })
		lat99 := pick(l.Results, func(x load.Result) float64 { return p99(x.Latency) })
		rows = append(rows,
			trioRow(fmt.Sprintf("latency p50 @ %d req/s", l.Rate), UnitMillis, lat50),
			trioRow(fmt.Sprintf("latency p99 @ %d req/s", l.Rate), UnitMillis, lat99),
			addedRow(fmt.Sprintf("added p50 @ %d req/s", l.Rate), lat50),
			addedRow(fmt.Sprintf("added p99 @ %d req/s", l.Rate), lat99),
			row(fmt.Sprintf("proxy CPU per request @ %d req/s", l.Rate), UnitMicros, nil, val(l.CPU.ReverseProxy), val(l.CPU.Sidecar)),
		)
	}
	for _, a := range r.Answers {
		lat50 := pick(a.Results, func(x load.Result) float64 { return p50(x.Latency) })
		lat99 := pick(a.Results, func(x load.Result) float64 { return p99(x.Latency) })
		at := fmt.Sprintf("@ %d req/s, %s answer", a.Rate, Size(a.Bytes))
		rows = append(rows,
			addedRow("added p50 "+at, lat50),
			addedRow("added p99 "+at, lat99),
			row("proxy CPU per request "+at, UnitMicros, nil, val(a.CPU.ReverseProxy), val(a.CPU.Sidecar)),
		)
	}
	for _, t := range r.Throughput {
		rows = append(rows, trioRow(fmt.Sprintf("max req/s, %d concurrent, %g ms upstream", t.Concurrency, t.UpstreamLatency), UnitRequestsPerSec,
			pick(t.Results, func(x load.Result) float64 { return x.Rate })))
	}
	s := r.Streams.Results
	n := r.Settings.Streams
	ttft50 := pick(s, func(x load.StreamResult) float64 { return p50(x.TTFT) })
	ttft99 := pick(s, func(x load.StreamResult) float64 { return p99(x.TTFT) })
	rows = append(rows,
		trioRow(fmt.Sprintf("%d streams: TTFT p50", n), UnitMillis, ttft50),
		trioRow(fmt.Sprintf("%d streams: TTFT p99", n), UnitMillis, ttft99),
		addedRow(fmt.Sprintf("%d streams: added TTFT p50", n), ttft50),
		addedRow(fmt.Sprintf("%d streams: added TTFT p99", n), ttft99),
		trioRow(fmt.Sprintf("%d streams: stalls (gaps > %g ms)", n, r.Settings.StallGap), UnitCount,
			pick(s, func(x load.StreamResult) float64 { return float64(x.Stalls) })),
		trioRow(fmt.Sprintf("%d streams: failed", n), UnitCount,
			pick(s, func(x load.StreamResult) float64 { return float64(x.Failed) })),
		row(fmt.Sprintf("%d streams: proxy CPU per stream", n), UnitMillis, nil, val(r.Streams.CPU.ReverseProxy), val(r.Streams.CPU.Sidecar)),
		proxiesRow(fmt.Sprintf("%d streams: peak VmRSS (sampled)", n), Proxies[int64]{r.Streams.Memory.ReverseProxy.RSS, r.Streams.Memory.Sidecar.RSS}),
		proxiesRow(fmt.Sprintf("%d streams: VmHWM", n), Proxies[int64]{r.Streams.Memory.ReverseProxy.HWM, r.Streams.Memory.Sidecar.HWM}),
		proxiesRow("idle VmRSS after the first request", Proxies[int64]{r.Idle.ReverseProxy.RSS, r.Idle.Sidecar.RSS}),
	)
	return rows
}
