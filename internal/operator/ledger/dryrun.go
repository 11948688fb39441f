package ledger

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Tally sums what the sidecars of one policy in DryRun mode report they
// would have done in the current period. Sidecars report their process's
// totals, not increments, so Tally keeps each pod's latest report and
// sums them: a report sent again changes nothing, a lost one is made up
// by the next. The totals of a pod whose sidecar restarted (a new epoch)
// or that is gone are kept in retired. Like Book, it is a pure function of
// the calls made on it, with the clock passed in; the caller serialises
// calls.
type Tally struct {
	period proxyconfig.BudgetPeriod
	start  time.Time
	pods   map[string]*reporter
	// retired holds the counts of the period no pod reports any more.
	retired map[string]int64
	// version counts changes; the committer persists up to a version.
	version uint64
}

// reporter is one pod's latest dry-run report.
type reporter struct {
	pod      string
	epoch    string
	counts   map[string]int64
	lastSeen time.Time
}

// NewTally returns an empty tally of the period of now.
func NewTally(period proxyconfig.BudgetPeriod, now time.Time) *Tally {
	return &Tally{period: period, start: budget.PeriodStart(period, now), pods: map[string]*reporter{}, retired: map[string]int64{}}
}

// Version counts the tally's changes.
func (t *Tally) Version() uint64 { return t.version }

// PeriodStart and PeriodEnd bound the current period.
func (t *Tally) PeriodStart() time.Time { return t.start }
func (t *Tally) PeriodEnd() time.Time   { return budget.PeriodEnd(t.period, t.start) }

// SetPeriod applies a policy edit that changes the period: the counts
// start again from zero at the new period's boundary.
func (t *Tally) SetPeriod(p proxyconfig.BudgetPeriod, now time.Time) {
	if p == t.period {
		return
	}
	t.period = p
	t.startPeriod(budget.PeriodStart(p, now))
}

func (t *Tally) rollover(now time.Time) {
	if start := budget.PeriodStart(t.period, now); start.After(t.start) {
		t.startPeriod(start)
	}
}

func (t *Tally) startPeriod(start time.Time) {
	t.start = start
	t.pods = map[string]*reporter{}
	t.retired = map[string]int64{}
	t.version++
}

// CheckDryRunReport refuses a report whose fields cannot be meant.
func CheckDryRunReport(r *ledgerapi.DryRunReport) error {
	if r.Epoch == "" || len(r.Epoch) > 64 {
		return fmt.Errorf("dryRun.epoch must be 1 to 64 characters")
	}
	if r.PeriodStart.IsZero() {
		return fmt.Errorf("dryRun.periodStart is missing")
	}
	for action, n := range r.Decisions {
		if !proxyconfig.ValidDryRunAction(action) {
			return fmt.Errorf("dryRun.decisions: %q is not an action; the actions are %s", truncate(action, 64), actionList())
		}
		if n < 0 {
			return fmt.Errorf("dryRun.decisions[%s] is negative", action)
		}
	}
	return nil
}

func actionList() string {
	var names []string
	for _, a := range proxyconfig.DryRunActions() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Report takes in the latest report of the pod of id. A report of another
// period than the current one is ignored: of an earlier one, it comes too
// late; of a later one (the sidecar's clock is ahead), it is sent again
// once the ledger's clock gets there. Counts of one epoch only grow: a
// lower count than the one held is a report overtaken by a later one. A
// pod new to a tally that follows v1alpha1.MaxReporters pods is refused
// with ErrFull, as Book.Sync refuses it.
func (t *Tally) Report(id Identity, r *ledgerapi.DryRunReport, now time.Time) error {
	t.rollover(now)
	a := t.pods[id.PodUID]
	if a == nil {
		if len(t.pods) >= v1alpha1.MaxReporters {
			return ErrFull{Pods: len(t.pods)} // the pod sends its counts again, later
		}
		a = &reporter{pod: id.Pod, epoch: r.Epoch, counts: map[string]int64{}}
		t.pods[id.PodUID] = a
		t.version++
	}
	a.lastSeen = now
	if !r.PeriodStart.Equal(t.start) {
		return nil
	}
	if a.epoch != r.Epoch {
		// The sidecar restarted and counts from zero: what the old process
		// counted stays in the period's totals.
		addCounts(t.retired, a.counts)
		a.epoch, a.counts = r.Epoch, map[string]int64{}
		t.version++
	}
	for action, n := range r.Decisions {
		if n > a.counts[action] {
			a.counts[action] = n
			t.version++
		}
	}
	return nil
}

// Expire folds the counts of every pod that is gone and has not reported
// for lease into the period's retired counts, and forgets the pod. It
// reports whether anything changed.
func (t *Tally) Expire(now time.Time, lease time.Duration, alive func(uid, pod string) bool) bool {
	t.rollover(now)
	changed := false
	for uid, a := range t.pods {
		if now.Sub(a.lastSeen) > lease && !alive(uid, a.pod) {
			addCounts(t.retired, a.counts)
			delete(t.pods, uid)
			changed = true
		}
	}
	if changed {
		t.version++
	}
	return changed
}

// Totals are the period's counts by action, summed over every pod.
func (t *Tally) Totals() map[string]int64 {
	out := maps.Clone(t.retired)
	for _, a := range t.pods {
		addCounts(out, a.counts)
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// periodMoved reports whether the clock moved the tally into a new period.
func (t *Tally) periodMoved(now time.Time) bool {
	return budget.PeriodStart(t.period, now).After(t.start)
}

// Snapshot is the tally as LLMPolicy.status.dryRun holds it.
func (t *Tally) Snapshot(now time.Time) *v1alpha1.DryRunStatus {
	t.rollover(now)
	end := metav1.NewTime(t.PeriodEnd())
	at := metav1.NewTime(now)
	st := &v1alpha1.DryRunStatus{PeriodStart: metav1.NewTime(t.start), PeriodEnd: &end, Decisions: t.Totals(), UpdatedAt: &at}
	uids := make([]string, 0, len(t.pods))
	for uid := range t.pods {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	for _, uid := range uids {
		a := t.pods[uid]
		st.Reporters = append(st.Reporters, v1alpha1.DryRunReporter{PodUID: uid, Pod: a.pod, Epoch: a.epoch, Decisions: maps.Clone(a.counts)})
	}
	return st
}

// RestoreTally returns the tally st, a status the ledger wrote, describes,
// as of now: what its pods reported, and the rest of its totals as
// retired. Every restored pod counts as just seen. A status of an earlier
// period starts the current one afresh.
func RestoreTally(st *v1alpha1.DryRunStatus, period proxyconfig.BudgetPeriod, now time.Time) *Tally {
	t := NewTally(period, now)
	if st == nil || !st.PeriodStart.Time.UTC().Equal(t.start) {
		return t
	}
	t.retired = maps.Clone(st.Decisions)
	if t.retired == nil {
		t.retired = map[string]int64{}
	}
	for _, r := range st.Reporters {
		counts := maps.Clone(r.Decisions)
		if counts == nil {
			counts = map[string]int64{}
		}
		t.pods[r.PodUID] = &reporter{pod: r.Pod, epoch: r.Epoch, counts: counts, lastSeen: now}
		for action, n := range counts {
			t.retired[action] = max(0, t.retired[action]-n)
		}
	}
	return t
}

func addCounts(into, from map[string]int64) {
	for k, v := range from {
		into[k] += v
	}
}

// dryRunCondition is the DryRun condition of a policy whose tally has
// totals, for the period from start.
func dryRunCondition(p *v1alpha1.LLMPolicy, totals map[string]int64, start time.Time, period proxyconfig.BudgetPeriod) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionDryRun, ObservedGeneration: p.Generation}
	when := fmt.Sprintf("in the %s period from %s", period, start.UTC().Format("2006-01-02"))
	if len(totals) == 0 {
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonNothingToDo
		c.Message = "DryRun: Enforce would have refused or downgraded no request " + when
		return c
	}
	var parts []string
	var total int64
	for _, a := range proxyconfig.DryRunActions() {
		if n := totals[string(a)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", a, n))
			total += n
		}
	}
	c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonWouldHaveActed
	c.Message = fmt.Sprintf("DryRun: Enforce would have acted on %d request(s) %s: %s; nothing was refused or downgraded. Set spec.mode: Enforce to enforce the policy",
		total, when, strings.Join(parts, ", "))
	return c
}
