// Package ledger is the sidecar's side of the namespace-wide budget: it
// admits requests against an allowance leased from the operator's budget
// ledger, with no network call while the allowance lasts, reports settled
// spend in batches (at most one unacknowledged, resent until acknowledged,
// kept on disk), and fetches the namespace's bundle when it changes.
//
// Its Gate is a budget.Gate, so the Transport enforces a shared budget
// exactly as it enforces a local one.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"go.uber.org/zap"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// DefaultInterval is the default of Options.Interval.
const DefaultInterval = time.Second

// The ledger's timing until it says (SyncReply.SyncSeconds and
// CommitMillis): the operator's defaults.
const (
	assumedSync   = time.Second
	assumedCommit = 2 * time.Second
)

// Options configure a Ledger.
type Options struct {
	// URLs are the ledger's addresses: its Service, or each operator
	// replica's where there is no Service (tests).
	URLs []string
	// CAFile holds the CA certificates the ledger's certificate is checked
	// against.
	CAFile string
	// TokenFile is the pod's projected ServiceAccount token (audience
	// ledgerapi.Audience), read at every request.
	TokenFile string
	// StateDir keeps unacknowledged spend across container restarts.
	StateDir string
	// PodUID is the pod's UID (the downward API's metadata.uid).
	PodUID string
	// Unreachable is what to do, once the allowance is spent, while the
	// ledger cannot be reached, for policies that do not say.
	Unreachable proxyconfig.LedgerUnreachableAction
	// Wait is how long a request may wait for an allowance. Default: what
	// the ledger takes at most to answer a sync that asks for one, twice
	// over — how long it waits for another pod to give some back
	// (SyncReply.SyncSeconds), two of its status writes (CommitMillis; a
	// ledger that does not expedite the write a request waits on answers
	// only with the next one), and Interval — 6s at the defaults.
	Wait time.Duration
	// Interval is how often spend is reported at most, unless the
	// allowance runs low. Default DefaultInterval.
	Interval time.Duration
	// Log is the logger.
	Log *zap.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Observe, when set, is told of each sync's result ("success" or the
	// refusal's code, "unreachable") and the allowance held after it.
	Observe func(result string, allowance proxyconfig.USD)
	// OnUnverified, when set, is told of spend admitted without an
	// allowance.
	OnUnverified func(proxyconfig.USD)
	// DryRun, when set, returns the dry-run counts to report for the
	// policy named, or nil when it is not in DryRun mode. Syncs carry
	// them; under a policy without a budget (FollowDryRun) a sync is made
	// for them alone, when they changed.
	DryRun func(policy string) *ledgerapi.DryRunReport
}

// Ledger is the sidecar's client of the budget ledger. Run drives it.
type Ledger struct {
	opts   Options
	client *client
	store  *store

	mu sync.Mutex // guards every field below; never held across a network call
	st *saved
	// policy is the policy the pod follows, and its budget. budgeted is
	// false for a policy followed for its dry-run counts only.
	policy   string
	budgeted bool
	settings budget.Settings
	action   proxyconfig.LedgerUnreachableAction
	// dryRunSent is the last dry-run report the ledger took in; a policy
	// without a budget syncs again once its counts differ.
	dryRunSent *ledgerapi.DryRunReport
	// view is the ledger's last answer for policy.
	view *view
	// reserved is what admitted requests hold until they settle.
	reserved proxyconfig.USD
	// lastID is the ID of the last admitted request (its journal entries'
	// ID); IDs start again at each start, when no request is in flight.
	lastID uint64
	// waiting is the largest reservation of the requests waiting for an
	// allowance.
	waiting proxyconfig.USD
	// lastOK is when a sync last succeeded; failing counts syncs that
	// failed since.
	lastOK  time.Time
	failing int
	// replied is closed and replaced after every sync, waking waiters.
	replied chan struct{}
	kick    chan struct{}
	// inflight is the sync in flight, if any.
	inflight *inflight
	// budgetSeq counts the changes of the budget's settings: a view the
	// ledger answered before the last one is stale.
	budgetSeq uint64
	// reported remembers the crossings logged, per period start.
	softSeen, exhaustedSeen time.Time
	bundleHash              string
	bundleKick              chan struct{}
}

// view is what the ledger last said about the pod's allowance.
type view struct {
	policy      string
	periodStart time.Time
	periodEnd   time.Time
	allowance   proxyconfig.USD
	target      proxyconfig.USD
	acked       uint64
	state       budget.State
	spent       proxyconfig.USD
	limit       proxyconfig.USD
	// sync is how long the ledger waits for allowance to come free for a
	// sync that asks for some, and commit how often it writes status (zero:
	// it did not say).
	sync, commit time.Duration
	// stale is set when the budget's settings changed since the ledger
	// answered: its state is the old settings', and a request is not
	// refused on it.
	stale bool
}

// inflight is a sync in flight. A sync that cannot bring back what is now
// needed (a request waits on an allowance it does not ask for, or the
// budget changed since it was sent) is superseded: cancelled, and sent
// again at once. The ledger applies its batch once, however often it is
// sent, and the allowance it answers is the pod's whole allowance, so a
// lost answer loses nothing.
type inflight struct {
	cancel     context.CancelFunc
	need       bool
	budgetSeq  uint64
	superseded bool
}

// supersedeLocked asks the sync loop to sync now, and cancels the sync in
// flight, if any, when it cannot bring back what is needed. Called with
// l.mu held.
func (l *Ledger) supersedeLocked() {
	l.poke()
	f := l.inflight
	if f != nil && !f.superseded && (!f.need && l.waiting.IsPositive() || f.budgetSeq != l.budgetSeq) {
		f.superseded = true
		f.cancel()
	}
}

// New opens the state in opts.StateDir and returns a Ledger.
func New(opts Options) (*Ledger, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Unreachable == "" {
		opts.Unreachable = proxyconfig.LedgerBlock
	}
	if opts.PodUID == "" {
		return nil, errors.New("the budget ledger needs the pod's UID: set --pod-uid or $POD_UID (the injector sets it from the downward API)")
	}
	c, err := newClient(opts.URLs, opts.CAFile, opts.TokenFile)
	if err != nil {
		return nil, err
	}
	s, st, err := openStore(opts.StateDir)
	if s == nil {
		return nil, err
	}
	if err != nil {
		opts.Log.Error("budget ledger state lost; starting a new one", zap.Error(err))
	}
	if n := len(st.abandoned); n > 0 {
		var charged proxyconfig.USD
		for _, e := range st.abandoned {
			charged = charged.Add(e.Cost.USD)
		}
		opts.Log.Warn("requests were in flight when the sidecar stopped: each is charged what it reserved, since what it cost is unknown",
			zap.Int("requests", n), zap.String("chargedUSD", charged.String()))
	}
	l := &Ledger{opts: opts, client: c, store: s, st: st, replied: make(chan struct{}), kick: make(chan struct{}, 1), bundleKick: make(chan struct{}, 1)}
	if h := st.Held; h != nil {
		// Until the ledger answers, the allowance held before the restart
		// is what may be spent.
		l.view = &view{policy: h.Policy, periodStart: h.PeriodStart, allowance: h.Allowance.USD, acked: h.Acked, state: budget.StateOk}
	}
	return l, nil
}

// Gate returns the gate of policy name with budget b, and makes it the
// policy the pod follows.
func (l *Ledger) Gate(name string, b proxyconfig.Budget) budget.Gate {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.policy != name {
		l.policy = name
		if l.view != nil && l.view.policy != name {
			l.view = nil
		}
		l.poke()
	}
	if settings := budget.SettingsFrom(b); !sameBudget(settings, l.settings) {
		// A new limit, period, ...: what the ledger said is the old
		// settings'. Ask it now, and refuse nothing on its old word.
		l.budgetSeq++
		if l.view != nil {
			l.view.stale = true
		}
		l.supersedeLocked()
	}
	l.budgeted = true
	l.settings = budget.SettingsFrom(b)
	l.action = b.WhenLedgerUnreachable
	if l.action == "" {
		l.action = l.opts.Unreachable
	}
	return &Gate{l: l, policy: name}
}

// FollowDryRun makes policy name, which has no budget and is in DryRun
// mode, the policy the pod follows: the sidecar syncs with the ledger to
// report its dry-run counts (Options.DryRun), when they change, and for
// nothing else. Spend not yet reported for an earlier policy is still
// reported.
func (l *Ledger) FollowDryRun(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.policy != name {
		l.policy = name
		l.view = nil
		l.dryRunSent = nil
		l.poke()
	}
	l.budgeted = false
}

// sameBudget reports whether a and b are the same budget to the ledger:
// the settings its state depends on.
func sameBudget(a, b budget.Settings) bool {
	return a.Period == b.Period && a.Limit.Equal(b.Limit) && a.SoftLimitPercent == b.SoftLimitPercent
}

// Gate is a budget.Gate drawing on the pod's allowance of one policy.
type Gate struct {
	l      *Ledger
	policy string
}

var _ budget.Gate = (*Gate)(nil)

// Reserve admits a request that may cost up to maxCost when the allowance
// covers it; else it asks the ledger for more and waits up to
// Options.Wait. Past that, if the ledger answered meanwhile, the budget
// counts as exhausted for this pod, for now: the request is blocked or
// downgraded. While the ledger cannot be reached, or did not answer
// within the wait, a request the allowance does not cover follows the
// policy's whenLedgerUnreachable.
func (g *Gate) Reserve(maxCost proxyconfig.USD) (*budget.Reservation, budget.Decision) {
	l := g.l
	maxCost = proxyconfig.MaxUSD(maxCost, proxyconfig.USD{})
	start := l.opts.Now()
	for {
		l.mu.Lock()
		now := l.opts.Now()
		// Again each time: the ledger's answer says its intervals.
		deadline := start.Add(l.waitLocked())
		period := budget.PeriodStart(l.settings.Period, now)
		d := l.decision(g.policy, period)
		avail := l.availLocked(g.policy, period)
		switch {
		case avail.GreaterThanOrEqual(maxCost):
			d.Action = budget.Allow
			return l.admit(g.policy, period, maxCost, false, d), d
		case l.exhaustedLocked(g.policy, period):
			return l.exhausted(g.policy, period, maxCost, d, false)
		case !l.reachableLocked() || !now.Before(deadline) && (l.failing > 0 || l.lastOK.Before(start)):
			if l.action == proxyconfig.LedgerAllow {
				d.Action, d.Unverified = budget.Allow, true
				return l.admit(g.policy, period, maxCost, true, d), d
			}
			d.Action, d.Unavailable = budget.Block, true
			l.mu.Unlock()
			return nil, d
		case !now.Before(deadline):
			// The ledger answered, and what remains is held by requests in
			// flight and other pods' allowances: for this pod, the budget is
			// spent, for now.
			return l.exhausted(g.policy, period, maxCost, d, true)
		}
		l.waiting = proxyconfig.MaxUSD(l.waiting, maxCost)
		l.supersedeLocked() // ask at once, not after the sync in flight
		replied := l.replied
		l.mu.Unlock()
		select {
		case <-replied:
		case <-time.After(deadline.Sub(now)):
		}
	}
}

// ReserveDryRun decides like Reserve, for a policy in DryRun mode, and
// admits the request whatever it decides, without waiting: a request the
// allowance does not cover asks the ledger for more (as Reserve does) and
// goes ahead at once, so what Reserve would have decided after its wait is
// not known. The decision is Reserve's as far as the pod can tell without
// waiting: Block or Downgrade once the ledger said the budget is spent,
// Unavailable or Unverified while the ledger cannot be reached (the spend
// is reported as unverified then), else Allow. The spend is reported like
// any other, beyond the pod's allowance when it must be.
func (g *Gate) ReserveDryRun(maxCost proxyconfig.USD) (*budget.Reservation, budget.Decision) {
	l := g.l
	maxCost = proxyconfig.MaxUSD(maxCost, proxyconfig.USD{})
	l.mu.Lock()
	period := budget.PeriodStart(l.settings.Period, l.opts.Now())
	d := l.decision(g.policy, period)
	switch {
	case l.availLocked(g.policy, period).GreaterThanOrEqual(maxCost):
		d.Action = budget.Allow
		return l.admit(g.policy, period, maxCost, false, d), d
	case l.exhaustedLocked(g.policy, period):
		d = l.exhaustedDecision(g.policy, period, d, false)
		return l.admit(g.policy, period, maxCost, false, d), d
	case !l.reachableLocked():
		if l.action == proxyconfig.LedgerAllow {
			d.Action, d.Unverified = budget.Allow, true
		} else {
			d.Action, d.Unavailable = budget.Block, true
		}
		return l.admit(g.policy, period, maxCost, true, d), d
	}
	l.waiting = proxyconfig.MaxUSD(l.waiting, maxCost)
	l.supersedeLocked() // ask at once, as Reserve does
	d.Action = budget.Allow
	return l.admit(g.policy, period, maxCost, false, d), d
}

// waitLocked is how long a request may wait for an allowance (see
// Options.Wait). Called with l.mu held.
func (l *Ledger) waitLocked() time.Duration {
	if l.opts.Wait > 0 {
		return l.opts.Wait
	}
	sync, commit := assumedSync, assumedCommit
	if v := l.view; v != nil && v.commit > 0 {
		sync, commit = v.sync, v.commit
	}
	return sync + 2*commit + l.opts.Interval
}

// decision is the part of a decision the ledger's view says. Called with
// l.mu held.
func (l *Ledger) decision(policy string, period time.Time) budget.Decision {
	d := budget.Decision{State: budget.StateOk, PeriodStart: period, ResetAt: budget.PeriodEnd(l.settings.Period, period), Limit: l.settings.Limit}
	if v := l.view; v != nil && v.policy == policy && v.periodStart.Equal(period) {
		d.State, d.Spent, d.Reserved = v.state, v.spent.Add(l.openSpent(policy, period)), l.reserved
		if v.state == budget.StateExhausted {
			d.State = budget.StateSoftLimit // exhausted is decided by exhausted()
		}
	}
	if d.State != budget.StateOk && !l.softSeen.Equal(period) {
		l.softSeen, d.FirstSoftCrossing = period, true
	}
	return d
}

// admit reserves maxCost and returns the reservation, unlocking l.mu.
// The admission is journaled before the request is sent, so that a
// sidecar killed before it settles charges the reservation on restart.
func (l *Ledger) admit(policy string, period time.Time, maxCost proxyconfig.USD, unverified bool, d budget.Decision) *budget.Reservation {
	l.reserved = l.reserved.Add(maxCost)
	l.lastID++
	id := l.lastID
	e := journalEntry{Policy: policy, Start: period, Cost: ledgerapi.NewAmount(maxCost), Unverified: unverified, ID: id, Admitted: true}
	if err := l.store.append(e); err != nil {
		l.opts.Log.Error("admission not journaled: were the sidecar killed before this request settles, its spend would be lost", zap.Error(err))
	}
	if l.st.InFlight == nil {
		l.st.InFlight = map[uint64]journalEntry{}
	}
	l.st.InFlight[id] = e
	l.mu.Unlock()
	return budget.NewReservation(maxCost, func(actual proxyconfig.USD) { l.settle(id, policy, period, maxCost, actual, unverified) })
}

// exhausted decides a request the budget cannot cover, unlocking l.mu.
// held says that what remains is held elsewhere (other pods' allowances,
// requests in flight) rather than spent or too little for a request.
func (l *Ledger) exhausted(policy string, period time.Time, maxCost proxyconfig.USD, d budget.Decision, held bool) (*budget.Reservation, budget.Decision) {
	d = l.exhaustedDecision(policy, period, d, held)
	if d.Action == budget.Downgrade {
		// A downgraded request is spend like any other: reserved and
		// reported, beyond the limit by design.
		return l.admit(policy, period, maxCost, false, d), d
	}
	l.mu.Unlock()
	return nil, d
}

// exhaustedDecision completes the decision on a request the budget cannot
// cover: the budget's onExhausted action. Called with l.mu held.
func (l *Ledger) exhaustedDecision(policy string, period time.Time, d budget.Decision, held bool) budget.Decision {
	d.State = budget.StateExhausted
	d.Held = held && d.Spent.LessThan(d.Limit)
	if d.Held {
		d.Available = proxyconfig.MaxUSD(l.availLocked(policy, period), proxyconfig.USD{})
	}
	// What is held comes free: that is no exhaustion to log as lasting
	// until the period ends.
	if !d.Held && !l.exhaustedSeen.Equal(period) {
		l.exhaustedSeen, d.FirstExhausted = period, true
	}
	if l.settings.OnExhausted == proxyconfig.Downgrade && l.settings.DowngradeTo != nil {
		d.Action = budget.Downgrade
		to := *l.settings.DowngradeTo
		d.DowngradeTo = &to
		return d
	}
	d.Action = budget.Block
	return d
}

// settle records what a request cost, in the period it was admitted in.
func (l *Ledger) settle(id uint64, policy string, period time.Time, maxCost, actual proxyconfig.USD, unverified bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserved = proxyconfig.MaxUSD(l.reserved.Sub(maxCost), proxyconfig.USD{})
	delete(l.st.InFlight, id)
	e := journalEntry{Policy: policy, Start: period, Cost: ledgerapi.NewAmount(actual), Unverified: unverified, ID: id}
	if err := l.store.append(e); err != nil {
		l.opts.Log.Error("spend not journaled: a crash before the next batch would lose it", zap.Error(err))
	}
	addSpend(l.st.Open, e)
	if unverified && l.opts.OnUnverified != nil {
		l.opts.OnUnverified(actual)
	}
	if l.lowLocked(policy, period) {
		l.poke()
	}
	if policy == l.policy && l.view != nil && l.releaseExcessLocked(l.opts.Now(), l.waiting) {
		l.poke() // another pod may wait for it
	}
}

// availLocked is what the pod may still admit in period: the allowance the
// ledger granted, minus what it spent and released since (in the batch not
// acknowledged and in the open spend) and what admitted requests reserve.
func (l *Ledger) availLocked(policy string, period time.Time) proxyconfig.USD {
	v := l.view
	if v == nil || v.policy != policy || !v.periodStart.Equal(period) {
		return proxyconfig.USD{}
	}
	a := v.allowance
	if b := l.st.Unacked; b != nil && l.st.UnackedPolicy == policy && b.Seq > v.acked {
		a = a.Sub(usedIn(b.Periods, period))
	}
	a = a.Sub(usedIn(l.st.Open[policy], period))
	return a.Sub(l.reserved)
}

// usedIn is the spend and releases of period in periods.
func usedIn(periods []ledgerapi.PeriodSpend, period time.Time) proxyconfig.USD {
	var u proxyconfig.USD
	for _, p := range periods {
		if p.Start.Equal(period) {
			u = u.Add(p.Spent.USD).Add(p.Released.USD)
		}
	}
	return u
}

// openSpent is the spend of period the ledger's last answer does not
// count: in the batch it did not acknowledge, and not yet reported.
func (l *Ledger) openSpent(policy string, period time.Time) proxyconfig.USD {
	var u proxyconfig.USD
	periods := l.st.Open[policy]
	if b := l.st.Unacked; b != nil && l.st.UnackedPolicy == policy && (l.view == nil || b.Seq > l.view.acked) {
		periods = append(slices.Clip(periods), b.Periods...)
	}
	for _, p := range periods {
		if p.Start.Equal(period) {
			u = u.Add(p.Spent.USD)
		}
	}
	return u
}

// exhaustedLocked reports whether the ledger said the period's budget is
// spent, and no allowance is left to spend.
func (l *Ledger) exhaustedLocked(policy string, period time.Time) bool {
	v := l.view
	return v != nil && v.policy == policy && v.periodStart.Equal(period) && v.state == budget.StateExhausted && !v.stale
}

// lowLocked reports whether the allowance ran below a quarter of its
// target: time to report and top up before a request must wait.
func (l *Ledger) lowLocked(policy string, period time.Time) bool {
	v := l.view
	if v == nil {
		return true
	}
	return l.availLocked(policy, period).LessThan(v.target.Percent(25))
}

// unreachableAfter is how many syncs in a row must fail before the ledger
// counts as unreachable.
const unreachableAfter = 3

// reachableLocked reports whether the ledger is taken to be reachable: it
// is, until unreachableAfter syncs in a row failed.
func (l *Ledger) reachableLocked() bool {
	return l.failing < unreachableAfter
}

// poke asks the sync loop to sync now. Called with l.mu held.
func (l *Ledger) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Status is the spend of the current period as the pod sees it.
func (g *Gate) Status() budget.Status {
	l := g.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	period := budget.PeriodStart(l.settings.Period, now)
	st := budget.Status{PeriodStart: period, ResetAt: budget.PeriodEnd(l.settings.Period, period), Limit: l.settings.Limit, Reserved: l.reserved, State: budget.StateOk}
	if v := l.view; v != nil && v.policy == g.policy && v.periodStart.Equal(period) {
		st.Spent = v.spent.Add(l.openSpent(g.policy, period))
		st.State = v.state
	}
	st.Remaining = proxyconfig.MaxUSD(st.Limit.Sub(st.Spent), proxyconfig.USD{})
	return st
}

// View describes the ledger's standing for /config and logs.
func (l *Ledger) View() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	out := map[string]any{"mode": "ledger", "urls": l.opts.URLs, "reachable": l.reachableLocked(), "epoch": l.st.Epoch, "seq": l.st.Seq}
	if !l.lastOK.IsZero() {
		out["lastSync"] = l.lastOK.UTC().Format(time.RFC3339Nano)
	}
	if l.view != nil {
		period := budget.PeriodStart(l.settings.Period, now)
		out["policy"], out["state"] = l.view.policy, string(l.view.state)
		out["allowance"] = l.availLocked(l.policy, period).String()
	}
	if l.st.Unacked != nil {
		out["unacknowledgedBatch"] = l.st.Unacked.Seq
	}
	return out
}

// Run reports spend and keeps the allowance topped up until ctx ends, then
// reports what is left once more (with a short deadline).
func (l *Ledger) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			// Give back the allowance no request holds, so that a pod that
			// goes away returns its share at once rather than at its lease's
			// end, and report it with what is left.
			l.releaseAll()
			l.flush(5 * time.Second)
			l.store.close()
			return nil
		case <-l.kick:
		case <-timer.C:
		}
		_ = l.syncOnce(ctx) // a failure is logged and observed there, and retried at nextSync
		timer.Reset(l.nextSync())
	}
}

// flush reports everything settled, trying every URL, for up to limit:
// a pod that goes away has no later chance. What it cannot report stays in
// the state directory, for the next start of the container.
func (l *Ledger) flush(limit time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	settled, err := failsafe.With(flushRetry).WithContext(ctx).Get(func() (bool, error) {
		if err := l.syncOnce(ctx); err != nil {
			return false, err
		}
		return l.settled(), nil
	})
	if err == nil && settled {
		return
	}
	l.opts.Log.Warn("spend not reported before shutdown; it stays in the state directory for the next start", zap.String("dir", l.opts.StateDir), zap.Error(err))
}

// flushRetry syncs again every flushRetryDelay until nothing waits to be
// reported (or the flush's context ends).
var flushRetry = retrypolicy.NewBuilder[bool]().
	HandleIf(func(settled bool, err error) bool { return err != nil || !settled }).
	WithMaxRetries(-1).
	WithDelay(flushRetryDelay).
	ReturnLastFailure().
	Build()

const flushRetryDelay = 100 * time.Millisecond

// settled reports whether no spend waits to be reported.
func (l *Ledger) settled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st.Unacked != nil {
		return false
	}
	for _, periods := range l.st.Open {
		if len(periods) > 0 {
			return false
		}
	}
	return true
}

// nextSync is how long to wait before the next sync: the interval, or
// sooner while a batch waits for its acknowledgement after a failure.
func (l *Ledger) nextSync() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing > 0 {
		return min(time.Duration(l.failing)*l.opts.Interval, 10*time.Second)
	}
	return l.opts.Interval
}

// syncOnce seals the open spend into a batch when none is unacknowledged,
// sends the batch (or nothing, to renew the allowance), and takes in the
// answer.
func (l *Ledger) syncOnce(ctx context.Context) error {
	l.mu.Lock()
	if l.st.Unacked == nil {
		l.sealLocked()
	}
	policy := l.policy
	if l.st.Unacked != nil {
		policy = l.st.UnackedPolicy
	}
	if policy == "" {
		l.mu.Unlock()
		return nil
	}
	req := ledgerapi.SyncRequest{PodUID: l.opts.PodUID, Epoch: l.st.Epoch, Policy: policy, Batch: l.st.Unacked}
	if l.opts.DryRun != nil {
		req.DryRun = l.opts.DryRun(policy)
	}
	if policy == l.policy && !l.budgeted && req.Batch == nil && (req.DryRun == nil || sameReport(req.DryRun, l.dryRunSent)) {
		// A policy followed for its dry-run counts: nothing new to say.
		l.mu.Unlock()
		return nil
	}
	waiting := l.waiting
	if policy == l.policy && waiting.IsPositive() {
		short := waiting.Sub(l.availLocked(policy, budget.PeriodStart(l.settings.Period, l.opts.Now())))
		req.Need = ledgerapi.NewAmount(proxyconfig.MaxUSD(short, proxyconfig.USD{}))
	}
	syncCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &inflight{cancel: cancel, need: req.Need.IsPositive(), budgetSeq: l.budgetSeq}
	l.inflight = f
	l.mu.Unlock()

	reply, err := l.client.sync(syncCtx, req)

	l.mu.Lock()
	defer l.wake()
	defer l.mu.Unlock()
	l.inflight = nil
	now := l.opts.Now()
	switch {
	case err != nil && f.superseded:
		return nil // sent again at once (poked), with what is needed now
	case err != nil && ctx.Err() != nil:
		return nil // stopped: Run reports what is left, on a context of its own
	case err != nil:
		return l.failedLocked(req, err, now)
	}
	if l.failing > 0 || l.lastOK.IsZero() {
		l.opts.Log.Info("budget ledger reached", zap.String("policy", policy), zap.String("allowance", reply.Allowance.String()))
	}
	l.failing, l.lastOK = 0, now
	if b := l.st.Unacked; b != nil && reply.Acked >= b.Seq {
		l.st.Unacked, l.st.UnackedPolicy = nil, ""
	}
	if req.DryRun != nil && policy == l.policy && reply.PeriodStart.Equal(req.DryRun.PeriodStart) {
		// Taken in for the period it counts; a report of another period
		// (the clocks disagree at a boundary) is sent again.
		l.dryRunSent = req.DryRun
	}
	if policy == l.policy && l.budgeted {
		l.view = &view{policy: policy, periodStart: reply.PeriodStart.UTC(), periodEnd: reply.PeriodEnd, allowance: reply.Allowance.USD,
			target: reply.Target.USD, acked: reply.Acked, state: budget.State(reply.State), spent: reply.Spent.USD, limit: reply.Limit.USD,
			sync: time.Duration(reply.SyncSeconds) * time.Second, commit: time.Duration(reply.CommitMillis) * time.Millisecond,
			stale: f.budgetSeq != l.budgetSeq}
		if l.view.stale {
			l.poke() // the budget changed while this sync was in flight
		}
		if l.waiting.Equal(waiting) {
			// Nothing waits for more than was asked; a request that is still
			// short when it wakes asks again.
			l.waiting = proxyconfig.USD{}
		}
		if l.releaseExcessLocked(now, waiting) {
			l.poke() // give it back now: another pod may wait for it
		}
		l.st.Held = &held{Policy: policy, PeriodStart: l.view.periodStart, Allowance: reply.Allowance, Acked: reply.Acked}
	}
	if err := l.store.save(l.st); err != nil {
		l.opts.Log.Error("budget ledger state not saved", zap.Error(err))
	}
	if reply.BundleHash != "" && reply.BundleHash != l.bundleHash {
		select {
		case l.bundleKick <- struct{}{}:
		default:
		}
	}
	if l.opts.Observe != nil {
		l.opts.Observe("success", l.availLocked(l.policy, budget.PeriodStart(l.settings.Period, now)))
	}
	return nil
}

// failedLocked takes in a sync that failed. A batch the ledger refuses for
// good (its policy is gone or no longer selects the pod) cannot ever be
// reported: it is dropped, loudly.
func (l *Ledger) failedLocked(req ledgerapi.SyncRequest, err error, now time.Time) error {
	var r *RefusedError
	if errors.As(err, &r) && !retryable(err) {
		if req.Batch != nil && (r.Code == ledgerapi.CodeForbidden || r.Code == ledgerapi.CodeUnknownPolicy || r.Code == ledgerapi.CodeNoBudget) {
			l.opts.Log.Error("spend dropped: the budget ledger refuses it for good", zap.String("policy", req.Policy),
				zap.Uint64("batch", req.Batch.Seq), zap.String("spent", totalSpent(req.Batch.Periods).String()), zap.Error(err))
			l.st.Unacked, l.st.UnackedPolicy = nil, ""
			_ = l.store.save(l.st)
		} else if r.Code != ledgerapi.CodeUnauthenticated {
			l.opts.Log.Error("the budget ledger refused a sync", zap.String("policy", req.Policy), zap.Error(err))
		}
	}
	if l.failing == 0 {
		msg := "budget ledger not reached; enforcing the allowance held, then spec.budget.whenLedgerUnreachable"
		if r != nil && r.Code == ledgerapi.CodeFull {
			// Reached, and refused until another pod of the policy is gone.
			msg = "the budget ledger follows as many pods of this policy as it can; this pod asks again until a place is free, " +
				"and meanwhile enforces the allowance held, then spec.budget.whenLedgerUnreachable"
		}
		l.opts.Log.Warn(msg, zap.String("policy", req.Policy), zap.String("whenLedgerUnreachable", string(l.action)), zap.Error(err))
	}
	l.failing++
	if l.opts.Observe != nil {
		l.opts.Observe(resultOf(r), l.availLocked(l.policy, budget.PeriodStart(l.settings.Period, now)))
	}
	return err
}

// resultOf names a failed sync for metrics: the ledger's code when it is
// one of the protocol's, so that label values stay a fixed set.
func resultOf(r *RefusedError) string {
	if r == nil {
		return "unreachable"
	}
	switch r.Code {
	case ledgerapi.CodeUnauthenticated, ledgerapi.CodeForbidden, ledgerapi.CodeUnknownPolicy, ledgerapi.CodeNoBudget,
		ledgerapi.CodeBadRequest, ledgerapi.CodeTooLarge, ledgerapi.CodeOutOfOrder, ledgerapi.CodeNotLeader, ledgerapi.CodeUnavailable,
		ledgerapi.CodeFull:
		return r.Code
	}
	return "error"
}

// sameReport reports whether a and b say the same: the same epoch,
// period and counts.
func sameReport(a, b *ledgerapi.DryRunReport) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Epoch == b.Epoch && a.PeriodStart.Equal(b.PeriodStart) && maps.Equal(a.Decisions, b.Decisions)
}

// sealLocked moves the open spend of one policy (the pod's, else any) into
// a new batch.
func (l *Ledger) sealLocked() {
	policy := ""
	if len(l.st.Open[l.policy]) > 0 {
		policy = l.policy
	} else {
		for p, periods := range l.st.Open {
			if len(periods) > 0 {
				policy = p
				break
			}
		}
	}
	if policy == "" {
		return
	}
	l.st.Seq++
	l.st.Unacked = &ledgerapi.Batch{Seq: l.st.Seq, Periods: l.st.Open[policy]}
	l.st.UnackedPolicy = policy
	delete(l.st.Open, policy)
	if err := l.store.save(l.st); err != nil {
		l.opts.Log.Error("budget ledger state not saved", zap.Error(err))
	}
}

// releaseExcessLocked gives back what the pod holds unspent above twice
// its target (and above what its waiting requests asked for, when it came),
// so that allowances follow where the spending is, and the last of a
// budget does not sit in fragments too small for any request. It reports
// whether it gave anything back, which the next sync reports.
func (l *Ledger) releaseExcessLocked(now time.Time, waiting proxyconfig.USD) bool {
	v := l.view
	period := budget.PeriodStart(l.settings.Period, now)
	if !v.periodStart.Equal(period) {
		return false
	}
	avail := l.availLocked(l.policy, period)
	keep := v.target.Add(v.target)
	if avail.GreaterThanOrEqual(waiting) {
		// What was asked for came: it is for the waiting request.
		keep = proxyconfig.MaxUSD(keep, waiting)
	}
	// Otherwise what the pod holds is a fragment its waiting request cannot
	// use; given back, it may make up another pod's.
	excess := avail.Sub(keep)
	if !excess.IsPositive() {
		return false
	}
	e := journalEntry{Policy: l.policy, Start: period, Released: ledgerapi.NewAmount(excess)}
	if err := l.store.append(e); err != nil {
		return false // not released: nothing is lost by keeping it
	}
	addSpend(l.st.Open, e)
	return true
}

// releaseAll gives back all of the allowance that no admitted request
// holds.
func (l *Ledger) releaseAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.view == nil || l.view.policy != l.policy {
		return
	}
	period := budget.PeriodStart(l.settings.Period, l.opts.Now())
	avail := l.availLocked(l.policy, period)
	if !l.view.periodStart.Equal(period) || !avail.IsPositive() {
		return
	}
	e := journalEntry{Policy: l.policy, Start: period, Released: ledgerapi.NewAmount(avail)}
	if l.store.append(e) == nil {
		addSpend(l.st.Open, e)
	}
}

// wake wakes the requests waiting for a sync.
func (l *Ledger) wake() {
	l.mu.Lock()
	close(l.replied)
	l.replied = make(chan struct{})
	l.mu.Unlock()
}

func totalSpent(periods []ledgerapi.PeriodSpend) proxyconfig.USD {
	var u proxyconfig.USD
	for _, p := range periods {
		u = u.Add(p.Spent.USD)
	}
	return u
}

// RunBundles fetches the namespace's bundle whenever the ledger says it
// changed (or a long poll returns a new one) and hands it to apply, until
// ctx ends.
func (l *Ledger) RunBundles(ctx context.Context, apply func([]byte)) {
	for ctx.Err() == nil {
		l.mu.Lock()
		known := l.bundleHash
		l.mu.Unlock()
		kctx, cancel := l.untilBundleKick(ctx)
		reply, err := failsafe.With(bundleRetry).WithContext(kctx).GetWithExecution(func(exec failsafe.Execution[*ledgerapi.BundleReply]) (*ledgerapi.BundleReply, error) {
			return l.client.bundle(exec.Context(), known)
		})
		cancel()
		if err != nil || reply == nil {
			continue // ctx ended, a kick, or a long poll that ended with no news
		}
		l.mu.Lock()
		l.bundleHash = reply.Hash
		l.mu.Unlock()
		if len(reply.Bundle) > 0 && !strings.EqualFold(string(reply.Bundle), "null") {
			apply(reply.Bundle)
		}
	}
}

// bundleRetry waits between failed bundle fetches (the ledger unreachable
// or refusing): 1 s, doubling up to 30 s, for as long as it takes.
var bundleRetry = retrypolicy.NewBuilder[*ledgerapi.BundleReply]().
	WithMaxRetries(-1).
	WithBackoff(time.Second, 30*time.Second).
	ReturnLastFailure().
	Build()

// untilBundleKick returns a context that ends with ctx, when cancel is
// called, or when a sync reply names a bundle other than the one held
// (bundleKick): the fetch then starts again at once, without waiting out a
// backoff the ledger's answer has made moot. A kick taken just as a fetch
// succeeds is not lost: the next long poll names the hash it holds, and the
// ledger answers a different one at once.
func (l *Ledger) untilBundleKick(ctx context.Context) (context.Context, context.CancelFunc) {
	kctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-l.bundleKick:
			cancel()
		case <-kctx.Done():
		}
	}()
	return kctx, cancel
}

// String is for logs.
func (l *Ledger) String() string { return fmt.Sprintf("ledger %v", l.opts.URLs) }
