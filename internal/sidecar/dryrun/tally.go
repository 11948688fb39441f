// Package dryrun keeps the sidecar's account of what its policy, in DryRun
// mode, would have done: the requests it let through that Enforce would
// have refused or downgraded, counted by action for the current period
// (the budget's, or the UTC day). The counts feed /config, the rate-limited
// log line of each action, and the reports to the operator's budget ledger,
// which sums them over the policy's pods into its status.
package dryrun

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"sync"
	"time"

	"go.uber.org/zap"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// LogInterval is how often each action is logged at most: its first
// occurrence at once, then at most one line per interval with the count
// since the last line.
const LogInterval = time.Minute

// Tally counts the dry-run decisions of the loaded policy. It is safe for
// concurrent use.
type Tally struct {
	log *zap.Logger
	now func() time.Time
	// epoch identifies this process's counts: they live in memory, so a
	// restarted sidecar counts from zero under a new epoch, and the ledger
	// keeps what the old one reported.
	epoch string

	mu sync.Mutex // guards every field below
	// ref and name are the policy's namespace/name and name; "" while no
	// policy in DryRun mode is loaded.
	ref, name string
	period    proxyconfig.BudgetPeriod
	start     time.Time
	counts    map[proxyconfig.DryRunAction]int64
	// logged is when each action was last logged, and what it counted
	// since.
	logged map[proxyconfig.DryRunAction]*logState
}

type logState struct {
	at      time.Time
	pending int64
}

// New returns a Tally that logs to log; now is the clock (nil: time.Now).
func New(log *zap.Logger, now func() time.Time) *Tally {
	if now == nil {
		now = time.Now
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Tally{log: log, now: now, epoch: hex.EncodeToString(b[:]), counts: map[proxyconfig.DryRunAction]int64{}, logged: map[proxyconfig.DryRunAction]*logState{}}
}

// Configure takes in the policy now loaded (nil when none applies). The
// counts of the current period carry over a reload of the same policy with
// the same period; otherwise they start again from zero, and under a
// policy in Enforce mode nothing is counted.
func (t *Tally) Configure(p *proxyconfig.Policy) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ref, name, period := "", "", proxyconfig.BudgetPeriod("")
	if p != nil && p.DryRun() {
		ref, name, period = p.Ref(), p.Name, p.DryRunPeriod()
	}
	if ref == t.ref && period == t.period {
		return
	}
	t.ref, t.name, t.period = ref, name, period
	t.reset(t.now())
}

func (t *Tally) reset(now time.Time) {
	if t.period != "" {
		t.start = budget.PeriodStart(t.period, now)
	}
	t.counts = map[proxyconfig.DryRunAction]int64{}
	t.logged = map[proxyconfig.DryRunAction]*logState{}
}

// rollover starts a new period once now is past the current one.
func (t *Tally) rollover(now time.Time) {
	if t.period == "" {
		return
	}
	if start := budget.PeriodStart(t.period, now); start.After(t.start) {
		t.reset(now)
	}
}

// Record counts a finished request that Enforce would have acted on, and
// logs its action when it is due. Requests of another policy than the one
// loaded (in flight across a reload) are not counted.
func (t *Tally) Record(r *llmclient.Report) {
	if r.DryRun == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.Policy != t.ref || t.ref == "" {
		return
	}
	now := t.now()
	t.rollover(now)
	a := r.DryRun
	t.counts[a]++
	l := t.logged[a]
	if l == nil {
		l = &logState{}
		t.logged[a] = l
	}
	l.pending++
	if !l.at.IsZero() && now.Sub(l.at) < LogInterval {
		return
	}
	t.log.Warn("dry run: the policy let requests through that Enforce would have acted on",
		zap.String("policy", t.ref), zap.String("action", string(a)), zap.Int64("count", l.pending),
		zap.Int64("period_total", t.counts[a]), zap.Time("period_start", t.start))
	l.at, l.pending = now, 0
}

// Report returns the counts to report to the ledger for the policy named
// name, or nil when that is not the loaded policy in DryRun mode.
func (t *Tally) Report(name string) *ledgerapi.DryRunReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ref == "" || name != t.name {
		return nil
	}
	t.rollover(t.now())
	decisions := make(map[string]int64, len(t.counts))
	for a, n := range t.counts {
		decisions[string(a)] = n
	}
	return &ledgerapi.DryRunReport{Epoch: t.epoch, PeriodStart: t.start, Decisions: decisions}
}

// Counts returns the current period's counts by action; nil while no
// policy in DryRun mode is loaded.
func (t *Tally) Counts() map[proxyconfig.DryRunAction]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ref == "" {
		return nil
	}
	t.rollover(t.now())
	return maps.Clone(t.counts)
}

// View describes the tally for /config; nil while no policy in DryRun
// mode is loaded.
func (t *Tally) View() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ref == "" {
		return nil
	}
	t.rollover(t.now())
	decisions := map[string]int64{}
	for a, n := range t.counts {
		decisions[string(a)] = n
	}
	return map[string]any{
		"period":      string(t.period),
		"periodStart": t.start.UTC().Format(time.RFC3339),
		"periodEnd":   budget.PeriodEnd(t.period, t.start).UTC().Format(time.RFC3339),
		"decisions":   decisions,
		"note":        "requests Enforce would have refused or downgraded, by action; this sidecar's own, since it started or the period began",
	}
}
