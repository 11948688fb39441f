package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// actionBudget is the action of the budget's Events.
const actionBudget = "Budget"

// commit writes e's book and tally into the policy's status when they
// changed, sets the budget and DryRun conditions, emits an Event on each
// transition into a problem, and wakes the syncs that waited for the write.
func (l *Ledger) commit(ctx context.Context, key types.NamespacedName, e *entry) error {
	var current v1alpha1.LLMPolicy
	if err := l.opts.Client.Get(ctx, key, &current); err != nil {
		return err
	}
	if !tracked(&current) {
		return errUntracked
	}
	var settings Settings
	if current.Spec.Budget != nil {
		var err error
		if settings, err = settingsOf(&current); err != nil {
			return err
		}
	}
	now := l.opts.Now()
	alive := func(uid, pod string) bool { return l.podAlive(ctx, key.Namespace, uid, pod) }
	e.mu.Lock()
	if !e.fits(&current) {
		e.mu.Unlock()
		return errUntracked // the next sync restores an entry that fits
	}
	var (
		version, tallyVersion uint64
		silent                []string
		silentHeld            proxyconfig.USD
		snap                  *v1alpha1.BudgetStatus
		dry                   *v1alpha1.DryRunStatus
		limit                 proxyconfig.USD
		changed               bool
	)
	if b := e.book; b != nil {
		b.SetSettings(settings, now)
		b.Expire(now, alive)
		e.touch() // a raised limit or a gone pod frees allowance
		version = b.Version()
		silent, silentHeld = b.Silent(now)
		changed = version != e.committed || b.periodMoved(now) || len(silent) != e.silent
	}
	if t := e.tally; t != nil {
		t.SetPeriod(dryRunPeriod(&current), now)
		t.Expire(now, l.opts.Lease, alive)
		tallyVersion = t.Version()
		changed = changed || tallyVersion != e.tallyCommitted || t.periodMoved(now)
	}
	if !changed {
		e.mu.Unlock()
		return nil
	}
	if e.book != nil {
		snap = e.book.Snapshot(now)
		limit = e.book.settings.Limit
	}
	if e.tally != nil {
		dry = e.tally.Snapshot(now)
	}
	e.lastWrite = time.Now()
	e.mu.Unlock()

	var written *v1alpha1.LLMPolicy
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var p v1alpha1.LLMPolicy
		if err := l.opts.APIReader.Get(ctx, key, &p); err != nil {
			return err
		}
		before := p.Status.DeepCopy()
		if snap != nil {
			p.Status.Budget = snap
			setBudgetConditions(&p, snap, silent, silentHeld)
		}
		if dry != nil {
			p.Status.DryRun = dry
			c := dryRunCondition(&p, dry.Decisions, dry.PeriodStart.Time, dryRunPeriod(&p))
			meta.SetStatusCondition(&p.Status.Conditions, c)
		}
		if equality.Semantic.DeepEqual(before, &p.Status) {
			written = &p
			return nil
		}
		if err := l.opts.Client.Status().Update(ctx, &p); err != nil {
			return err
		}
		written = &p
		return nil
	})
	statusWrites.WithLabelValues(result(err)).Inc()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.lastErr = err
		return fmt.Errorf("write the status of LLMPolicy %s: %w", key, err)
	}
	e.lastErr = nil
	e.committed = max(e.committed, version)
	e.tallyCommitted = max(e.tallyCommitted, tallyVersion)
	e.silent = len(silent)
	close(e.written)
	e.written = make(chan struct{})
	if snap != nil {
		observe(key, snap, limit)
	}
	l.notify(written, e)
	return nil
}

// errUntracked is returned by commit for a policy the entry no longer
// fits: its budget or its dry run was added or removed, or both are gone.
// The entry is dropped.
var errUntracked = errors.New("the policy's budget or mode changed")

// periodMoved reports whether the clock moved the book into a new period,
// which status must show even without a sync.
func (b *Book) periodMoved(now time.Time) bool {
	return budget.PeriodStart(b.settings.Period, now).After(b.cur.start)
}

// setBudgetConditions sets the conditions the ledger owns from the budget
// status it writes.
func setBudgetConditions(p *v1alpha1.LLMPolicy, st *v1alpha1.BudgetStatus, silent []string, silentHeld proxyconfig.USD) {
	period := fmt.Sprintf("%s period from %s", budgetPeriod(p), st.PeriodStart.UTC().Format("2006-01-02"))
	limit := p.Spec.Budget.Limit
	soft := metav1.Condition{Type: v1alpha1.ConditionBudgetSoftLimit, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonBelowSoftLimit,
		Message: fmt.Sprintf("spent %s of %s USD in the %s", st.Spent, limit, period)}
	if st.State == v1alpha1.BudgetSoftLimit || st.State == v1alpha1.BudgetExhausted {
		soft.Status, soft.Reason = metav1.ConditionTrue, v1alpha1.ReasonSoftLimitReached
		soft.Message = fmt.Sprintf("spent %s of %s USD in the %s: past the soft limit of %d%%", st.Spent, limit, period, softPercent(p))
	}
	exhausted := metav1.Condition{Type: v1alpha1.ConditionBudgetExhausted, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonWithinLimit,
		Message: fmt.Sprintf("%s USD remain in the %s", st.Remaining, period)}
	if st.State == v1alpha1.BudgetExhausted {
		exhausted.Status, exhausted.Reason = metav1.ConditionTrue, v1alpha1.ReasonLimitReached
		action := "sidecars block requests with tollgate_budget_exhausted"
		if p.Spec.Budget.OnExhausted == v1alpha1.ExhaustedDowngrade && p.Spec.Budget.DowngradeTo != nil {
			action = "sidecars downgrade requests to " + p.Spec.Budget.DowngradeTo.Provider + "/" + p.Spec.Budget.DowngradeTo.Model
		}
		// The sidecars' refusals say the same (llmclient's exhaustedWhy).
		why := fmt.Sprintf("spent %s of %s USD in the %s: the limit is reached", st.Spent, limit, period)
		if remaining, err := ledgerapi.ParseAmount(st.Remaining); err == nil && remaining.IsPositive() {
			why = fmt.Sprintf("spent %s of %s USD in the %s, and what remains, %s USD, is less than a request needs", st.Spent, limit, period, st.Remaining)
		}
		exhausted.Message = fmt.Sprintf("%s; %s until %s", why, action, st.PeriodEnd.UTC().Format("2006-01-02T15:04:05Z"))
	}
	unverified := metav1.Condition{Type: v1alpha1.ConditionBudgetUnverified, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonVerified,
		Message: "every pod reports its spend"}
	switch {
	case len(silent) > 0:
		unverified.Status, unverified.Reason = metav1.ConditionTrue, v1alpha1.ReasonReportsMissing
		unverified.Message = fmt.Sprintf("%d pod(s) hold %s USD of allowance and have not reported within their lease (%s); their spend is not verified until they reach the ledger again", len(silent), silentHeld, names(silent))
	case st.Unverified != "":
		unverified.Status, unverified.Reason = metav1.ConditionTrue, v1alpha1.ReasonSpentUnverified
		unverified.Message = fmt.Sprintf("%s USD of this period's spend was admitted while sidecars could not reach the ledger (whenLedgerUnreachable: Allow)", st.Unverified)
	}
	for _, c := range []metav1.Condition{soft, exhausted, unverified} {
		c.ObservedGeneration = p.Generation
		meta.SetStatusCondition(&p.Status.Conditions, c)
	}
}

// notify emits a Warning Event on each transition of a budget condition to
// True: once per period for the soft and the hard limit, since a new
// period starts them False.
func (l *Ledger) notify(p *v1alpha1.LLMPolicy, e *entry) {
	if p == nil || l.opts.Recorder == nil {
		return
	}
	for _, t := range []string{v1alpha1.ConditionBudgetSoftLimit, v1alpha1.ConditionBudgetExhausted, v1alpha1.ConditionBudgetUnverified} {
		c := meta.FindStatusCondition(p.Status.Conditions, t)
		if c == nil {
			continue
		}
		before := e.conditions[t]
		e.conditions[t] = string(c.Status)
		if c.Status == metav1.ConditionTrue && before != string(metav1.ConditionTrue) {
			l.opts.Recorder.Eventf(p, nil, corev1.EventTypeWarning, c.Reason, actionBudget, "%s", c.Message)
		}
	}
}

// conditionsOf is the status of p's budget conditions.
func conditionsOf(p *v1alpha1.LLMPolicy) map[string]string {
	out := map[string]string{}
	for _, c := range p.Status.Conditions {
		out[c.Type] = string(c.Status)
	}
	return out
}

func budgetPeriod(p *v1alpha1.LLMPolicy) string {
	if p.Spec.Budget.Period == "" {
		return string(v1alpha1.BudgetMonthly)
	}
	return string(p.Spec.Budget.Period)
}

func softPercent(p *v1alpha1.LLMPolicy) int32 {
	if p.Spec.Budget.SoftLimitPercent == 0 {
		return 80
	}
	return p.Spec.Budget.SoftLimitPercent
}

// names lists up to five names.
func names(n []string) string {
	if len(n) > 5 {
		return strings.Join(n[:5], ", ") + fmt.Sprintf(" and %d more", len(n)-5)
	}
	return strings.Join(n, ", ")
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "success"
}
