package report

import (
	"fmt"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
	"tollgate.dev/tollgate/bench/internal/stats"
)

// Row is one line of the summary table. A nil value is a cell that does
// not apply (the direct call has no process of its own to measure; a
// ratio of a non-positive number says nothing; the peer was not
// measured).
type Row struct {
	// Measurement says what the row measures.
	Measurement string `json:"measurement"`
	// Unit is the unit of the values.
	Unit string `json:"unit"`
	// Direct, ReverseProxy, Sidecar and Portkey are the values per
	// target.
	Direct       *float64 `json:"direct"`
	ReverseProxy *float64 `json:"reverseproxy"`
	Sidecar      *float64 `json:"sidecar"`
	Portkey      *float64 `json:"portkey,omitempty"`
	// SidecarOverDirect is Sidecar / Direct.
	SidecarOverDirect *float64 `json:"sidecar_over_direct"`
	// SidecarOverReverseProxy is Sidecar / ReverseProxy.
	SidecarOverReverseProxy *float64 `json:"sidecar_over_reverseproxy"`
	// SidecarOverPortkey is Sidecar / Portkey.
	SidecarOverPortkey *float64 `json:"sidecar_over_portkey,omitempty"`
}

// row builds a Row with its ratios.
func row(measurement, unit string, direct, rp, sidecar, portkey *float64) Row {
	return Row{
		Measurement: measurement, Unit: unit,
		Direct: direct, ReverseProxy: rp, Sidecar: sidecar, Portkey: portkey,
		SidecarOverDirect:       ratio(sidecar, direct),
		SidecarOverReverseProxy: ratio(sidecar, rp),
		SidecarOverPortkey:      ratio(sidecar, portkey),
	}
}

func val(v float64) *float64 { return &v }

// apply is f of p's value, or nil for a nil p: a value of the peer's,
// which has none when it was not measured.
func apply[T, U any](p *T, f func(T) U) *U {
	if p == nil {
		return nil
	}
	v := f(*p)
	return &v
}

// ratio is a/b when both are known and positive.
func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *a <= 0 || *b <= 0 {
		return nil
	}
	return val(*a / *b)
}

func pick[T any](t Trio[T], f func(T) float64) Trio[float64] {
	return Trio[float64]{Direct: f(t.Direct), ReverseProxy: f(t.ReverseProxy), Sidecar: f(t.Sidecar), Portkey: apply(t.Portkey, f)}
}

func trioRow(measurement, unit string, t Trio[float64]) Row {
	return row(measurement, unit, val(t.Direct), val(t.ReverseProxy), val(t.Sidecar), t.Portkey)
}

// addedRow is what each proxy adds to the direct value.
func addedRow(measurement string, t Trio[float64]) Row {
	minus := func(v float64) float64 { return v - t.Direct }
	return row(measurement, UnitMillis, nil, val(minus(t.ReverseProxy)), val(minus(t.Sidecar)), apply(t.Portkey, minus))
}

// proxyRow is a row of values of the proxies, which the direct call has
// none of.
func proxyRow(measurement, unit string, p Proxies[float64]) Row {
	return row(measurement, unit, nil, val(p.ReverseProxy), val(p.Sidecar), p.Portkey)
}

// memoryRow is a row of f of each proxy's memory, in MiB.
func memoryRow(measurement string, p Proxies[fleet.Memory], f func(fleet.Memory) int64) Row {
	mib := func(m fleet.Memory) float64 { return fleet.MiB(f(m)) }
	return proxyRow(measurement, UnitMiB, Proxies[float64]{ReverseProxy: mib(p.ReverseProxy), Sidecar: mib(p.Sidecar), Portkey: apply(p.Portkey, mib)})
}

func rss(m fleet.Memory) int64 { return m.RSS }
func hwm(m fleet.Memory) int64 { return m.HWM }

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
			proxyRow(fmt.Sprintf("proxy CPU per request @ %d req/s", l.Rate), UnitMicros, l.CPU),
		)
	}
	for _, a := range r.Answers {
		lat50 := pick(a.Results, func(x load.Result) float64 { return p50(x.Latency) })
		lat99 := pick(a.Results, func(x load.Result) float64 { return p99(x.Latency) })
		at := fmt.Sprintf("@ %d req/s, %s answer", a.Rate, Size(a.Bytes))
		rows = append(rows,
			addedRow("added p50 "+at, lat50),
			addedRow("added p99 "+at, lat99),
			proxyRow("proxy CPU per request "+at, UnitMicros, a.CPU),
		)
	}
	for _, t := range r.Throughput {
		rows = append(rows, trioRow(fmt.Sprintf("max req/s, %d concurrent, %g ms upstream", t.Concurrency, t.UpstreamLatency), UnitRequestsPerSec,
			pick(t.Results, func(x load.Result) float64 { return x.Rate })))
		rows = append(rows, proxyRow(fmt.Sprintf("proxy CPU per request at max req/s, %g ms upstream", t.UpstreamLatency), UnitMicros, t.CPU))
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
		proxyRow(fmt.Sprintf("%d streams: proxy CPU per stream", n), UnitMillis, r.Streams.CPU),
		memoryRow(fmt.Sprintf("%d streams: peak VmRSS (sampled)", n), r.Streams.Memory, rss),
		memoryRow(fmt.Sprintf("%d streams: VmHWM", n), r.Streams.Memory, hwm),
		memoryRow("idle VmRSS after the first request", r.Idle, rss),
	)
	return rows
}
