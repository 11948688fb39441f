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
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Defaults of Options.
const (
	DefaultWait     = 3 * time.Second
	DefaultInterval = time.Second
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
	// Wait is how long a request may wait for an allowance. Default
	// DefaultWait.
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
}

// Ledger is the sidecar's client of the budget ledger. Run drives it.
type Ledger struct {
	opts   Options
	client *client
	store  *store

	mu sync.Mutex // guards every field below; never held across a network call
	st *saved
	// policy is the policy the pod follows, and its budget.
	policy   string
	settings budget.Settings
	action   proxyconfig.LedgerUnreachableAction
	// view is the ledger's last answer for policy.
	view *view
	// reserved is what admitted requests hold until they settle.
	reserved proxyconfig.USD
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
}

// New opens the state in opts.StateDir and returns a Ledger.
func New(opts Options) (*Ledger, error) {
	if opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
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
	l.settings = budget.SettingsFrom(b)
	l.action = b.WhenLedgerUnreachable
	if l.action == "" {
		l.action = l.opts.Unreachable
	}
	return &Gate{l: l, policy: name}
}

// Gate is a budget.Gate drawing on the pod's allowance of one policy.
type Gate struct {
	l      *Ledger
	policy string
}

var _ budget.Gate = (*Gate)(nil)

// Reserve admits a request that may cost up to maxCost when the allowance
// covers it; else it asks the ledger for more and waits up to
// Options.Wait. Past that the budget counts as exhausted for this pod:
// the request is blocked or downgraded. While the ledger cannot be
// reached, a request the allowance does not cover follows the policy's
// whenLedgerUnreachable.
func (g *Gate) Reserve(maxCost proxyconfig.USD) (*budget.Reservation, budget.Decision) {
	l := g.l
	maxCost = proxyconfig.MaxUSD(maxCost, proxyconfig.USD{})
	deadline := l.opts.Now().Add(l.opts.Wait)
	for {
		l.mu.Lock()
		now := l.opts.Now()
		period := budget.PeriodStart(l.settings.Period, now)
		d := l.decision(g.policy, period)
		avail := l.availLocked(g.policy, period)
		switch {
		case avail.GreaterThanOrEqual(maxCost):
			d.Action = budget.Allow
			return l.admit(g.policy, period, maxCost, false, d), d
		case l.exhaustedLocked(g.policy, period):
			return l.exhausted(g.policy, period, maxCost, d)
		case !l.reachableLocked() || !now.Before(deadline) && l.failing > 0:
			if l.action == proxyconfig.LedgerAllow {
				d.Action, d.Unverified = budget.Allow, true
				return l.admit(g.policy, period, maxCost, true, d), d
			}
			d.Action, d.Unavailable = budget.Block, true
			l.mu.Unlock()
			return nil, d
		case !now.Before(deadline):
			// What remains is held by other pods' allowances, or the ledger
			// answers too slowly: for this pod, the budget is spent.
			return l.exhausted(g.policy, period, maxCost, d)
		}
		l.waiting = proxyconfig.MaxUSD(l.waiting, maxCost)
		l.poke()
		replied := l.replied
		l.mu.Unlock()
		select {
		case <-replied:
		case <-time.After(time.Until(deadline)):
		}
	}
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
func (l *Ledger) admit(policy string, period time.Time, maxCost proxyconfig.USD, unverified bool, d budget.Decision) *budget.Reservation {
	l.reserved = l.reserved.Add(maxCost)
	l.mu.Unlock()
	return budget.NewReservation(maxCost, func(actual proxyconfig.USD) { l.settle(policy, period, maxCost, actual, unverified) })
}

// exhausted decides a request the budget cannot cover, unlocking l.mu.
func (l *Ledger) exhausted(policy string, period time.Time, maxCost proxyconfig.USD, d budget.Decision) (*budget.Reservation, budget.Decision) {
	d.State = budget.StateExhausted
	if !l.exhaustedSeen.Equal(period) {
		l.exhaustedSeen, d.FirstExhausted = period, true
	}
	if l.settings.OnExhausted == proxyconfig.Downgrade && l.settings.DowngradeTo != nil {
		d.Action = budget.Downgrade
		to := *l.settings.DowngradeTo
		d.DowngradeTo = &to
		// A downgraded request is spend like any other: reserved and
		// reported, beyond the limit by design.
		return l.admit(policy, period, maxCost, false, d), d
	}
	d.Action = budget.Block
	l.mu.Unlock()
	return nil, d
}

// settle records what a request cost, in the period it was admitted in.
func (l *Ledger) settle(policy string, period time.Time, maxCost, actual proxyconfig.USD, unverified bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserved = proxyconfig.MaxUSD(l.reserved.Sub(maxCost), proxyconfig.USD{})
	e := journalEntry{Policy: policy, Start: period, Cost: ledgerapi.NewAmount(actual), Unverified: unverified}
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

// openSpent is the spend of period not yet reported.
func (l *Ledger) openSpent(policy string, period time.Time) proxyconfig.USD {
	var u proxyconfig.USD
	for _, p := range l.st.Open[policy] {
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
	return v != nil && v.policy == policy && v.periodStart.Equal(period) && v.state == budget.StateExhausted
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

// errStop ends the sync loop.
var errStop = errors.New("stopped")

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
		if err := l.syncOnce(ctx); err != nil && errors.Is(err, errStop) {
			return nil
		}
		timer.Reset(l.nextSync())
	}
}

// flush reports everything settled, trying every URL, for up to limit:
// a pod that goes away has no later chance. What it cannot report stays in
// the state directory, for the next start of the container.
func (l *Ledger) flush(limit time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for ctx.Err() == nil {
		if l.syncOnce(ctx) == nil && l.settled() {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	l.opts.Log.Warn("spend not reported before shutdown; it stays in the state directory for the next start", zap.String("dir", l.opts.StateDir))
}

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
	waiting := l.waiting
	if policy == l.policy && waiting.IsPositive() {
		short := waiting.Sub(l.availLocked(policy, budget.PeriodStart(l.settings.Period, l.opts.Now())))
		req.Need = ledgerapi.NewAmount(proxyconfig.MaxUSD(short, proxyconfig.USD{}))
	}
	l.mu.Unlock()

	reply, err := l.client.sync(ctx, req)

	l.mu.Lock()
	defer l.wake()
	defer l.mu.Unlock()
	now := l.opts.Now()
	if err != nil {
		return l.failedLocked(req, err, now)
	}
	if l.failing > 0 || l.lastOK.IsZero() {
		l.opts.Log.Info("budget ledger reached", zap.String("policy", policy), zap.String("allowance", reply.Allowance.String()))
	}
	l.failing, l.lastOK = 0, now
	if b := l.st.Unacked; b != nil && reply.Acked >= b.Seq {
		l.st.Unacked, l.st.UnackedPolicy = nil, ""
	}
	if policy == l.policy {
		l.view = &view{policy: policy, periodStart: reply.PeriodStart.UTC(), periodEnd: reply.PeriodEnd, allowance: reply.Allowance.USD,
			target: reply.Target.USD, acked: reply.Acked, state: budget.State(reply.State), spent: reply.Spent.USD, limit: reply.Limit.USD}
		if l.waiting.Equal(waiting) {
			// Nothing waits for more than was asked; a request that is still
			// short when it wakes asks again.
			l.waiting = proxyconfig.USD{}
		}
		l.releaseExcessLocked(now, waiting)
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
		l.opts.Log.Warn("budget ledger not reached; enforcing the allowance held, then spec.budget.whenLedgerUnreachable",
			zap.String("policy", req.Policy), zap.String("whenLedgerUnreachable", string(l.action)), zap.Error(err))
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
		ledgerapi.CodeBadRequest, ledgerapi.CodeTooLarge, ledgerapi.CodeOutOfOrder, ledgerapi.CodeNotLeader, ledgerapi.CodeUnavailable:
		return r.Code
	}
	return "error"
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
// budget does not sit in fragments too small for any request.
func (l *Ledger) releaseExcessLocked(now time.Time, waiting proxyconfig.USD) {
	v := l.view
	period := budget.PeriodStart(l.settings.Period, now)
	if !v.periodStart.Equal(period) {
		return
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
		return
	}
	e := journalEntry{Policy: l.policy, Start: period, Released: ledgerapi.NewAmount(excess)}
	if err := l.store.append(e); err != nil {
		return // not released: nothing is lost by keeping it
	}
	addSpend(l.st.Open, e)
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
	backoff := time.Second
	for ctx.Err() == nil {
		l.mu.Lock()
		known := l.bundleHash
		l.mu.Unlock()
		reply, changed, err := l.client.bundle(ctx, known)
		switch {
		case err != nil:
			var r *RefusedError
			if !errors.As(err, &r) || r.Status != http.StatusNotModified {
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				case <-l.bundleKick:
				}
				backoff = min(2*backoff, 30*time.Second)
			}
			continue
		case changed:
			backoff = time.Second
			l.mu.Lock()
			l.bundleHash = reply.Hash
			l.mu.Unlock()
			if len(reply.Bundle) > 0 && !strings.EqualFold(string(reply.Bundle), "null") {
				apply(reply.Bundle)
			}
		}
	}
}

// String is for logs.
func (l *Ledger) String() string { return fmt.Sprintf("ledger %v", l.opts.URLs) }
