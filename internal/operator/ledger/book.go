package ledger

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Settings is a policy's budget as the ledger enforces it.
type Settings struct {
	// Period is how often spend resets.
	Period proxyconfig.BudgetPeriod
	// Limit is the most the policy's pods may spend per period.
	Limit proxyconfig.USD
	// SoftLimitPercent is the share of Limit past which the state is
	// SoftLimit.
	SoftLimitPercent int
}

// Timing is how long allowances last and how often sidecars sync.
type Timing struct {
	// Lease is how long an allowance stays a pod's without a sync.
	Lease time.Duration
	// Sync is how soon a sidecar syncs again at the latest.
	Sync time.Duration
}

// Book is the ledger of one policy's budget: the spend of the current and
// the previous period, and what each reporting pod was acknowledged and
// holds. It is a pure function of the calls made on it, with the clock
// passed in; the caller serialises calls.
//
// The invariant it keeps: the allowances it holds out for the current
// period never sum to more than what remains of the limit, so no request
// admitted against an allowance overshoots the limit by more than its
// cost beyond its reservation.
type Book struct {
	settings Settings
	timing   Timing

	cur  period
	last *period
	// pods are the reporting pods, by UID.
	pods map[string]*account
	// held is the sum of the pods' allowances, kept with every change
	// (setAllowance, startPeriod, Expire, Restore): every sync asks what is
	// free, and summing a thousand pods' decimals each time cost a
	// thousand allocations under the policy's lock.
	held proxyconfig.USD
	// version counts changes; the committer persists up to a version.
	version uint64
}

// period is the spend of one budget period.
type period struct {
	start      time.Time
	spent      proxyconfig.USD
	requests   int64
	unverified proxyconfig.USD
	// spenders is spend by workload.
	spenders map[string]proxyconfig.USD
	// needHint is the largest allowance a waiting request asked for this
	// period: the size of a request. Once an even share of what remains is
	// smaller, shares are useless fragments, and pods hold only what their
	// waiting requests need.
	needHint proxyconfig.USD
	// short is set once a request needed more than what remains of the
	// limit: the budget is exhausted for requests of that size although
	// spend has not reached the limit (it never does when requests cost
	// what they reserve).
	short bool
}

// account is one pod's standing.
type account struct {
	pod, workload string
	// epoch and seq identify the last batch applied: a new epoch (the
	// sidecar lost its state) starts a new sequence.
	epoch string
	seq   uint64
	// allowance is what the pod may still spend in the current period.
	allowance proxyconfig.USD
	// lastSync is when the pod last synced (or the book was restored).
	lastSync time.Time
	// rate is the pod's recent spend in USD per second, smoothed. It only
	// sizes allowances; money is never computed with it.
	rate float64
	// lastReport is when the pod last reported spend.
	lastReport time.Time
	// short is what the pod's last sync asked for, for a waiting request,
	// and was not granted: nothing was free enough.
	short proxyconfig.USD
}

// Allowance sizing.
const (
	// horizon is how much of its recent spending a pod's allowance covers,
	// so that a pod syncs well before it runs out.
	horizon = 10 * time.Second
	// floorPercent is the percent of what remains a pod holds at least
	// (within its fair share), so that a new or quiet pod's first requests
	// need no sync.
	floorPercent = 1
)

// Identity is who calls, as the token says.
type Identity struct {
	// PodUID and Pod name the caller's pod.
	PodUID, Pod string
	// Workload is the pod's workload, e.g. Deployment/chat.
	Workload string
}

// NewBook returns an empty book for settings, its period the one of now.
func NewBook(s Settings, t Timing, now time.Time) *Book {
	return &Book{settings: s, timing: t, cur: newPeriod(budget.PeriodStart(s.Period, now)), pods: map[string]*account{}}
}

func newPeriod(start time.Time) period {
	return period{start: start, spenders: map[string]proxyconfig.USD{}}
}

// Version counts the book's changes.
func (b *Book) Version() uint64 { return b.version }

// SetSettings applies a policy edit. A change of period restarts the
// accounting at the new period's boundary, as budget.Local does; a change
// of limit keeps the spend and the allowances held (an allowance cannot be
// taken back: a lower limit may be overshot by what pods hold).
func (b *Book) SetSettings(s Settings, now time.Time) {
	if s == b.settings {
		return
	}
	old := b.settings
	b.settings = s
	b.version++
	if s.Period != old.Period {
		b.startPeriod(budget.PeriodStart(s.Period, now))
	}
	if !s.Limit.Equal(old.Limit) {
		b.cur.short = false // a new limit: requests are judged afresh
	}
}

// rollover starts a new period once now is past the current one. A clock
// that steps back does not reopen an earlier period.
func (b *Book) rollover(now time.Time) {
	if start := budget.PeriodStart(b.settings.Period, now); start.After(b.cur.start) {
		b.startPeriod(start)
	}
}

func (b *Book) startPeriod(start time.Time) {
	last := b.cur
	b.last = &last
	b.cur = newPeriod(start)
	for _, a := range b.pods {
		a.allowance = proxyconfig.USD{} // allowances are per period
	}
	b.held = proxyconfig.USD{}
	b.version++
}

// setAllowance sets a's allowance to v, keeping the sum held.
func (b *Book) setAllowance(a *account, v proxyconfig.USD) {
	b.held = b.held.Sub(a.allowance).Add(v)
	a.allowance = v
}

// ErrOutOfOrder is returned by Sync for a batch that skips sequence
// numbers of the same epoch.
type ErrOutOfOrder struct{ Have, Got uint64 }

func (e ErrOutOfOrder) Error() string {
	return "batch " + itoa(e.Got) + " follows batch " + itoa(e.Have) + ": batches must be sent in order, one at a time"
}

// ErrFull is returned by Sync for a pod new to a book that already holds
// v1alpha1.MaxReporters pods: the status that makes the book durable
// cannot list another, and a status the API server refuses would stop
// every pod's sync, not just this one's.
type ErrFull struct{ Pods int }

func (e ErrFull) Error() string {
	return "the budget ledger already follows " + itoa(uint64(e.Pods)) + " pods under this policy, as many as its status can list; this pod is taken in once others are gone (split the pods among more LLMPolicies to run more at once)"
}

// Sync applies req from the pod of id: its batch, once, and then grants
// the pod an allowance. It returns the reply; the caller sends it once the
// book is persisted up to Version.
func (b *Book) Sync(id Identity, req ledgerapi.SyncRequest, epoch string, now time.Time) (ledgerapi.SyncReply, error) {
	b.rollover(now)
	a := b.pods[id.PodUID]
	if a == nil {
		if len(b.pods) >= v1alpha1.MaxReporters {
			return ledgerapi.SyncReply{}, ErrFull{Pods: len(b.pods)}
		}
		a = &account{pod: id.Pod, workload: id.Workload, epoch: epoch}
		b.pods[id.PodUID] = a
		b.version++
	}
	if id.Workload != "" && a.workload != id.Workload {
		a.workload = id.Workload
	}
	if batch := req.Batch; batch != nil {
		if epoch != a.epoch {
			// A sidecar that lost its state starts over at 1: its old
			// batches were all acknowledged or are gone with it.
			a.epoch, a.seq = epoch, 0
			b.version++
		}
		switch {
		case batch.Seq <= a.seq:
			// A batch applied before, sent again: acknowledged, not counted.
		case a.seq != 0 && batch.Seq != a.seq+1:
			return ledgerapi.SyncReply{}, ErrOutOfOrder{Have: a.seq, Got: batch.Seq}
		default:
			b.apply(a, batch.Periods)
			a.seq = batch.Seq
			b.version++
			a.observe(totalCur(batch.Periods, b.cur.start), now, b.timing.Sync)
		}
	}
	b.grant(a, req.Need.USD, now)
	a.lastSync = now
	return b.reply(a), nil
}

// apply adds a batch's spend: into the period each entry names when it is
// the current or the last one; spend of a period the book no longer holds
// (a sidecar far behind) into the last one, and spend dated after the
// current period's start (a sidecar whose clock rolled over first) into
// the current one.
func (b *Book) apply(a *account, periods []ledgerapi.PeriodSpend) {
	for _, ps := range periods {
		p := &b.cur
		if !ps.Start.Equal(b.cur.start) && ps.Start.Before(b.cur.start) && b.last != nil {
			p = b.last
		}
		p.spent = p.spent.Add(ps.Spent.USD)
		p.requests += ps.Requests
		p.unverified = p.unverified.Add(ps.Unverified.USD)
		if a.workload != "" {
			p.spenders[a.workload] = p.spenders[a.workload].Add(ps.Spent.USD)
		}
		if p == &b.cur {
			// Spend beyond the allowance (a request that cost more than its
			// reservation, or unverified spend) leaves nothing held.
			b.setAllowance(a, proxyconfig.MaxUSD(a.allowance.Sub(ps.Spent.USD).Sub(ps.Released.USD), proxyconfig.USD{}))
		}
	}
}

// observe updates a's spending rate with spent, reported at now.
func (a *account) observe(spent proxyconfig.USD, now time.Time, interval time.Duration) {
	dt := interval
	if !a.lastReport.IsZero() {
		dt = max(now.Sub(a.lastReport), interval)
	}
	a.lastReport = now
	inst := spent.Float64() / dt.Seconds()
	if a.rate == 0 {
		a.rate = inst
		return
	}
	a.rate = 0.7*a.rate + 0.3*inst
}

// totalCur is the spend of the period starting at start in periods.
func totalCur(periods []ledgerapi.PeriodSpend, start time.Time) proxyconfig.USD {
	var u proxyconfig.USD
	for _, p := range periods {
		if !p.Start.Before(start) {
			u = u.Add(p.Spent.USD)
		}
	}
	return u
}

// grant tops up a's allowance to its target, or to what a waiting request
// needs, out of what no pod holds: all that the request needs, or nothing
// of it.
func (b *Book) grant(a *account, need proxyconfig.USD, now time.Time) {
	a.short = proxyconfig.USD{}
	if need.IsPositive() {
		wanted := a.allowance.Add(need)
		defer func() { a.short = proxyconfig.MaxUSD(wanted.Sub(a.allowance), proxyconfig.USD{}) }()
	}
	if need.IsPositive() && a.allowance.Add(need).GreaterThan(b.cur.needHint) {
		// The pod is short of need with its allowance: a request costs about
		// both together.
		b.cur.needHint = a.allowance.Add(need)
	}
	if need.IsPositive() && a.allowance.Add(need).GreaterThan(b.remaining()) && !b.cur.short {
		// Not even every other pod's allowance given back would cover it.
		b.cur.short = true
		b.version++
	}
	free := b.free()
	if !free.IsPositive() {
		return
	}
	target := b.target(a, now)
	want := proxyconfig.MaxUSD(target, a.allowance.Add(need))
	if need.GreaterThan(free) {
		// A part of what the waiting request needs would be a fragment it
		// cannot use, which its sidecar would give back: and were several
		// pods each granted such a part, none would have enough. What is
		// free stays free until it covers a whole request.
		want = target
	}
	if more := want.Sub(a.allowance); more.IsPositive() {
		b.setAllowance(a, a.allowance.Add(proxyconfig.MinUSD(more, free)))
		b.version++
	}
}

// remaining is what is left of the limit this period.
func (b *Book) remaining() proxyconfig.USD {
	return proxyconfig.MaxUSD(b.settings.Limit.Sub(b.cur.spent), proxyconfig.USD{})
}

// free is what remains and no pod holds.
func (b *Book) free() proxyconfig.USD {
	return b.remaining().Sub(b.held)
}

// target is the allowance a should hold: what it spends over horizon at
// its recent rate, at least floorPercent of what remains, and at most an
// even share of what remains among the active pods and one more, so that
// a newcomer finds some free and allowances shrink as the budget runs
// out.
func (b *Book) target(a *account, now time.Time) proxyconfig.USD {
	active := 1
	for _, p := range b.pods {
		if now.Sub(p.lastSync) <= b.timing.Lease {
			active++
		}
	}
	remaining := b.remaining().Decimal()
	share := remaining.Div(decimal.NewFromInt(int64(active)))
	if share.LessThan(b.cur.needHint.Decimal()) {
		// Near the end, a share would not admit a request: allowances go to
		// waiting requests only, and the rest is given back.
		return proxyconfig.USD{}
	}
	want := decimal.NewFromFloat(a.rate * horizon.Seconds())
	want = decimal.Max(want, remaining.Mul(decimal.NewFromInt(floorPercent)).Shift(-2))
	// Round down to the amount precision, so that targets never sum to
	// more than what remains.
	return proxyconfig.USDFromDecimal(decimal.Min(want, share).RoundFloor(ledgerapi.AmountPlaces))
}

func (b *Book) reply(a *account) ledgerapi.SyncReply {
	return ledgerapi.SyncReply{
		Acked:        a.seq,
		PeriodStart:  b.cur.start,
		PeriodEnd:    budget.PeriodEnd(b.settings.Period, b.cur.start),
		Allowance:    ledgerapi.NewAmount(a.allowance),
		Target:       ledgerapi.NewAmount(b.target(a, a.lastSync)),
		LeaseSeconds: int64(b.timing.Lease / time.Second),
		SyncSeconds:  int64(b.timing.Sync / time.Second),
		State:        string(b.State()),
		Spent:        ledgerapi.NewAmount(b.cur.spent),
		Limit:        ledgerapi.NewAmount(b.settings.Limit),
	}
}

// State is where the current period's spend stands: Exhausted once spend
// reached the limit, or what remains is less than a request needed.
func (b *Book) State() budget.State {
	switch {
	case b.cur.spent.GreaterThanOrEqual(b.settings.Limit), b.cur.short:
		return budget.StateExhausted
	case b.cur.spent.GreaterThanOrEqual(b.settings.Limit.Percent(b.settings.SoftLimitPercent)):
		return budget.StateSoftLimit
	}
	return budget.StateOk
}

// Expire gives the allowance of every pod that is gone and has not synced
// for its lease back to the pool, and forgets the pod. A pod that is alive
// but silent keeps what it holds: it may be spending it while it cannot
// reach the ledger. It reports whether anything changed.
func (b *Book) Expire(now time.Time, alive func(uid, pod string) bool) bool {
	b.rollover(now)
	changed := false
	for uid, a := range b.pods {
		if now.Sub(a.lastSync) > b.timing.Lease && !alive(uid, a.pod) {
			b.held = b.held.Sub(a.allowance)
			delete(b.pods, uid)
			changed = true
		}
	}
	if changed {
		b.version++
	}
	return changed
}

// Silent returns the pods that hold an allowance and have not synced for
// longer than their lease, and what they hold.
func (b *Book) Silent(now time.Time) (pods []string, held proxyconfig.USD) {
	for _, a := range b.pods {
		if now.Sub(a.lastSync) > b.timing.Lease && a.allowance.IsPositive() {
			pods = append(pods, a.pod)
			held = held.Add(a.allowance)
		}
	}
	sort.Strings(pods)
	return pods, held
}

func itoa(n uint64) string {
	return decimal.NewFromUint64(n).String()
}
