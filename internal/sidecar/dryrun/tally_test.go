package dryrun

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func dryRunPolicy() *proxyconfig.Policy {
	return &proxyconfig.Policy{Name: "chat", Namespace: "team-a", Mode: proxyconfig.ModeDryRun}
}

func newTally(t *testing.T) (*Tally, *clock, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	c := &clock{now: time.Date(2026, 5, 14, 12, 0, 0, 0, time.UTC)}
	tl := New(zap.New(core), c.Now)
	tl.Configure(dryRunPolicy())
	return tl, c, logs
}

func would(a proxyconfig.DryRunAction) *llmclient.Report {
	return &llmclient.Report{Policy: "team-a/chat", DryRun: a}
}

func TestTally_LogsEachActionAtOnceThenAtMostOncePerInterval(t *testing.T) {
	tl, c, logs := newTally(t)
	for range 50 {
		tl.Record(would(proxyconfig.DryRunRateLimited))
	}
	tl.Record(would(proxyconfig.DryRunBudgetExhausted))
	require.Equal(t, 2, logs.Len(), "the first of each action is logged, not every request")

	c.Add(LogInterval)
	tl.Record(would(proxyconfig.DryRunRateLimited))
	lines := logs.FilterField(zap.String("action", "rate_limited")).All()
	require.Len(t, lines, 2)
	assert.Equal(t, int64(50), lines[1].ContextMap()["count"], "the line counts what happened since the last one")
	assert.Equal(t, int64(51), lines[1].ContextMap()["period_total"])
	assert.Equal(t, map[proxyconfig.DryRunAction]int64{proxyconfig.DryRunRateLimited: 51, proxyconfig.DryRunBudgetExhausted: 1}, tl.Counts())
}

func TestTally_CountsTheCurrentPeriodOnly(t *testing.T) {
	tl, c, _ := newTally(t)
	tl.Record(would(proxyconfig.DryRunCircuitOpen))
	r := tl.Report("chat")
	require.NotNil(t, r)
	assert.Equal(t, time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC), r.PeriodStart, "no budget: the UTC day")
	assert.Equal(t, map[string]int64{"circuit_open": 1}, r.Decisions)

	c.Add(12 * time.Hour)
	r = tl.Report("chat")
	assert.Equal(t, time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC), r.PeriodStart)
	assert.Empty(t, r.Decisions, "a new day starts from zero")
	assert.Nil(t, tl.Report("other"), "another policy has no counts here")
}

func TestTally_KeepsCountsOverAReloadOfTheSamePolicyOnly(t *testing.T) {
	tl, _, _ := newTally(t)
	tl.Record(would(proxyconfig.DryRunRateLimited))
	tl.Configure(dryRunPolicy())
	assert.Equal(t, int64(1), tl.Counts()[proxyconfig.DryRunRateLimited], "an edit of the same policy keeps them")

	budgeted := dryRunPolicy()
	budgeted.Budget = &proxyconfig.Budget{Period: proxyconfig.Monthly}
	tl.Configure(budgeted)
	assert.Empty(t, tl.Counts(), "a new period (the budget's month) starts from zero")

	enforce := dryRunPolicy()
	enforce.Mode = ""
	tl.Configure(enforce)
	tl.Record(would(proxyconfig.DryRunRateLimited))
	assert.Nil(t, tl.Counts(), "Enforce counts nothing")
	assert.Nil(t, tl.Report("chat"))
	assert.Nil(t, tl.View())
}
