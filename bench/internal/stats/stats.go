// Package stats summarises latency samples into the percentiles the
// benchmark reports. Samples are kept whole and sorted, so percentiles are
// exact (nearest rank), not estimated from buckets.
package stats

import (
	"slices"
	"time"
)

// Summary is the distribution of a set of durations, in milliseconds so
// that the JSON reads without unit conversion.
type Summary struct {
	// Count is the number of samples.
	Count int `json:"count"`
	// P50 is the median, in milliseconds.
	P50 float64 `json:"p50_ms"`
	// P90 is the 90th percentile, in milliseconds.
	P90 float64 `json:"p90_ms"`
	// P99 is the 99th percentile, in milliseconds.
	P99 float64 `json:"p99_ms"`
	// Max is the largest sample, in milliseconds.
	Max float64 `json:"max_ms"`
	// Mean is the arithmetic mean, in milliseconds.
	Mean float64 `json:"mean_ms"`
}

// Summarize returns the distribution of samples; samples is not changed.
// No samples give the zero Summary.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return Summary{
		Count: len(sorted),
		P50:   Millis(Percentile(sorted, 50)),
		P90:   Millis(Percentile(sorted, 90)),
		P99:   Millis(Percentile(sorted, 99)),
		Max:   Millis(sorted[len(sorted)-1]),
		Mean:  Millis(sum / time.Duration(len(sorted))),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, which must be in ascending order: the smallest sample that at
// least p percent of the samples are less than or equal to.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// rank = ceil(p/100 * n), computed in integers to avoid float edges
	// such as 0.99*100 = 98.99999.
	n := len(sorted)
	hundredths := int64(p * 100)
	rank := int((hundredths*int64(n) + 9999) / 10000)
	rank = max(rank, 1)
	rank = min(rank, n)
	return sorted[rank-1]
}

// Millis converts d to fractional milliseconds.
func Millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
