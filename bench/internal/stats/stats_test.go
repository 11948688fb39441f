package stats

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentile_IsTheNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := map[string]struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		"no samples give zero":                     {sorted: nil, p: 50, want: 0},
		"one sample is every percentile":           {sorted: ms(7), p: 99, want: 7 * time.Millisecond},
		"the median of an odd count is the middle": {sorted: ms(1, 2, 3, 4, 5), p: 50, want: 3 * time.Millisecond},
		"the median of an even count is the lower": {sorted: ms(1, 2, 3, 4), p: 50, want: 2 * time.Millisecond},
		"p99 of 1..100 is 99":                      {sorted: hundred, p: 99, want: 99 * time.Millisecond},
		"p100 is the maximum":                      {sorted: hundred, p: 100, want: 100 * time.Millisecond},
		"p99 of ten samples is the largest":        {sorted: ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), p: 99, want: 10 * time.Millisecond},
		"a tiny percentile is the smallest sample": {sorted: ms(4, 5, 6), p: 0.01, want: 4 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, Percentile(tc.sorted, tc.p))
		})
	}
}

func TestSummarize_SortsACopyAndReportsMilliseconds(t *testing.T) {
	samples := ms(30, 10, 20, 40)
	s := Summarize(samples)
	assert.Equal(t, Summary{Count: 4, P50: 20, P90: 40, P99: 40, Max: 40, Mean: 25}, s)
	assert.Equal(t, ms(30, 10, 20, 40), samples, "the caller's samples keep their order")
}

func TestSummarize_OfNothingIsZero(t *testing.T) {
	assert.Equal(t, Summary{}, Summarize(nil))
}
