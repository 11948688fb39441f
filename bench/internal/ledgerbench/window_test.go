package ledgerbench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarize_CountsWhatWasSentInTheWindowAndTimesTheAnswers(t *testing.T) {
	from := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return from.Add(time.Duration(ms) * time.Millisecond) }
	samples := []sample{
		{at: at(-1), took: time.Hour},                     // before the window
		{at: at(100), took: 1000 * time.Millisecond},      // second 0
		{at: at(900), took: 2000 * time.Millisecond},      // second 0
		{at: at(1500), took: 500 * time.Millisecond},      // second 1
		{at: at(1600), result: "unavailable"},             // second 1, refused
		{at: at(2000), took: time.Hour},                   // at the end: outside
		{at: at(1999), took: 1500 * time.Millisecond},     // second 1
		{at: at(1700), result: "unreachable", took: 20e9}, // refused: no latency
	}
	results, latency, timeline := summarize(samples, from, at(2000))
	assert.Equal(t, map[string]int{resultOK: 4, "unavailable": 1, "unreachable": 1}, results)
	assert.Equal(t, 4, latency.Count, "answered syncs only")
	assert.InDelta(t, 1000, latency.P50, 1e-9)
	assert.InDelta(t, 2000, latency.Max, 1e-9)
	require.Len(t, timeline, 2)
	assert.Equal(t, Second{At: 0, Syncs: 2, P99Ms: 2000, MaxMs: 2000}, timeline[0])
	assert.Equal(t, Second{At: 1, Syncs: 4, P99Ms: 1500, MaxMs: 1500}, timeline[1])
}

func TestAccount_DividesTheWindowsCountsByItsLength(t *testing.T) {
	m0, err := parseMetrics(exposition)
	require.NoError(t, err)
	m1 := m0
	m1.SyncsOK = m0.SyncsOK + 1000
	m1.APIRequests = map[string]float64{"POST": 23, "PUT": 5}
	t0 := time.Now()
	r0 := reading{at: t0, operator: 3 * time.Second, apiserver: time.Second, metrics: m0}
	r1 := reading{at: t0.Add(10 * time.Second), operator: 8 * time.Second, apiserver: 3 * time.Second, metrics: m1}
	var s Scenario
	account(&s, r0, r1)
	assert.InDelta(t, 1000, s.Server.Syncs, 0)
	assert.InDelta(t, 0.5, s.Operator.Cores, 1e-9)
	assert.InDelta(t, 5, s.Operator.CPUSecondsPer1000Syncs, 1e-9)
	assert.InDelta(t, 0.2, s.APIServer.Cores, 1e-9)
	assert.InDelta(t, 2, s.Server.APIRequestsPerSecond["POST"], 1e-9)
}

func TestForEach_CallsEveryIndexOnceAndStopsAtTheFirstError(t *testing.T) {
	var calls [100]atomic.Int32
	require.NoError(t, forEach(context.Background(), 100, 8, func(i int) error { calls[i].Add(1); return nil }))
	for i := range calls {
		assert.EqualValues(t, 1, calls[i].Load(), "index %d", i)
	}
	boom := errors.New("boom")
	var n atomic.Int32
	err := forEach(context.Background(), 1000, 4, func(i int) error {
		n.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, err, boom)
	assert.Less(t, n.Load(), int32(1000), "calls not started are skipped")
}
