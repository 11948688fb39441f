package ledger

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// maxSpenders bounds the workloads listed in status; the smallest beyond it
// are summed into otherWorkloads.
const maxSpenders = 20

// otherWorkloads names the spend of workloads beyond maxSpenders.
const otherWorkloads = "(other workloads)"

// Snapshot is the book as LLMPolicy.status.budget holds it.
func (b *Book) Snapshot(now time.Time) *v1alpha1.BudgetStatus {
	b.rollover(now)
	end := metav1.NewTime(budget.PeriodEnd(b.settings.Period, b.cur.start))
	at := metav1.NewTime(now)
	st := &v1alpha1.BudgetStatus{
		PeriodStart: metav1.NewTime(b.cur.start),
		PeriodEnd:   &end,
		Spent:       b.cur.spent.String(),
		Remaining:   b.remaining().String(),
		State:       v1alpha1.BudgetState(b.State()),
		Requests:    b.cur.requests,
		TopSpenders: spenders(b.cur.spenders),
		UpdatedAt:   &at,
	}
	if b.cur.unverified.IsPositive() {
		st.Unverified = b.cur.unverified.String()
	}
	if b.last != nil {
		st.LastPeriod = &v1alpha1.BudgetPeriodTotal{Start: metav1.NewTime(b.last.start), Spent: b.last.spent.String(), Requests: b.last.requests}
	}
	uids := make([]string, 0, len(b.pods))
	for uid := range b.pods {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	if len(uids) > 0 {
		st.Ledger = &v1alpha1.LedgerStatus{}
	}
	for _, uid := range uids {
		a := b.pods[uid]
		st.Ledger.Reporters = append(st.Ledger.Reporters, v1alpha1.Reporter{
			PodUID: uid, Pod: a.pod, Workload: a.workload, Epoch: a.epoch,
			Seq: int64(a.seq), Allowance: a.allowance.String(),
		})
	}
	return st
}

// spenders lists spend by workload, largest first (then by name), folding
// what is beyond maxSpenders into one entry.
func spenders(m map[string]proxyconfig.USD) []v1alpha1.WorkloadSpend {
	names := make([]string, 0, len(m))
	for w := range m {
		names = append(names, w)
	}
	sort.Slice(names, func(i, j int) bool {
		if c := m[names[i]].Cmp(m[names[j]]); c != 0 {
			return c > 0
		}
		return names[i] < names[j]
	})
	var out []v1alpha1.WorkloadSpend
	var rest proxyconfig.USD
	for i, w := range names {
		if i >= maxSpenders-1 && len(names) > maxSpenders {
			rest = rest.Add(m[w])
			continue
		}
		out = append(out, v1alpha1.WorkloadSpend{Workload: w, Spent: m[w].String()})
	}
	if rest.IsPositive() {
		out = append(out, v1alpha1.WorkloadSpend{Workload: otherWorkloads, Spent: rest.String()})
	}
	return out
}

// Restore returns the book that st, a status the ledger wrote, describes,
// as of now. Every restored pod counts as having just synced: its lease
// starts again, so that a restart never takes back an allowance early.
// A status of an earlier period is rolled over. A status that does not
// parse is an error: the ledger must not start from zero over spend it
// cannot read.
func Restore(st *v1alpha1.BudgetStatus, s Settings, t Timing, now time.Time) (*Book, error) {
	b := NewBook(s, t, now)
	if st == nil || st.PeriodStart.IsZero() {
		return b, nil
	}
	cur, err := restorePeriod(st.PeriodStart.Time, st.Spent, st.Requests, st.Unverified, st.TopSpenders)
	if err != nil {
		return nil, fmt.Errorf("status.budget: %w", err)
	}
	b.cur = cur
	b.cur.short = st.State == v1alpha1.BudgetExhausted
	if lp := st.LastPeriod; lp != nil {
		last, err := restorePeriod(lp.Start.Time, lp.Spent, lp.Requests, "", nil)
		if err != nil {
			return nil, fmt.Errorf("status.budget.lastPeriod: %w", err)
		}
		b.last = &last
	}
	if st.Ledger != nil {
		for i, r := range st.Ledger.Reporters {
			allowance, err := ledgerapi.ParseAmount(r.Allowance)
			if err != nil {
				return nil, fmt.Errorf("status.budget.ledger.reporters[%d].allowance: %w", i, err)
			}
			if old := b.pods[r.PodUID]; old != nil { // listed twice: the API server's listType=map forbids it
				b.held = b.held.Sub(old.allowance)
			}
			b.pods[r.PodUID] = &account{pod: r.Pod, workload: r.Workload, epoch: r.Epoch, seq: uint64(max(r.Seq, 0)), allowance: allowance.USD, lastSync: now}
			b.held = b.held.Add(allowance.USD)
		}
	}
	// A status written before the period changed (the operator was down
	// across the boundary, or the policy's period was edited) rolls over.
	if budget.PeriodStart(s.Period, b.cur.start) != b.cur.start {
		b.startPeriod(budget.PeriodStart(s.Period, now))
	}
	b.rollover(now)
	return b, nil
}

func restorePeriod(start time.Time, spent string, requests int64, unverified string, top []v1alpha1.WorkloadSpend) (period, error) {
	p := newPeriod(start.UTC())
	amount := func(field, v string) (proxyconfig.USD, error) {
		if v == "" {
			return proxyconfig.USD{}, nil
		}
		a, err := ledgerapi.ParseAmount(v)
		if err != nil {
			return proxyconfig.USD{}, fmt.Errorf("%s: %w", field, err)
		}
		return a.USD, nil
	}
	var err error
	if p.spent, err = amount("spent", spent); err != nil {
		return p, err
	}
	if p.unverified, err = amount("unverified", unverified); err != nil {
		return p, err
	}
	p.requests = requests
	for i, w := range top {
		if p.spenders[w.Workload], err = amount("topSpenders["+strconv.Itoa(i)+"].spent", w.Spent); err != nil {
			return p, err
		}
	}
	return p, nil
}
