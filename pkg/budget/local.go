package budget

import (
	"sync"
	"time"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

var _ Gate = (*Local)(nil)

// Local is a Gate that keeps the spend of one budget in this process: the
// sidecar's gate while no ledger shares spend across pods. Spend lives in
// memory and starts at zero when the process does. It is safe for
// concurrent use.
type Local struct {
	now func() time.Time

	// mu guards every field below. It is held only for arithmetic, never
	// while a request runs.
	mu       sync.Mutex
	settings Settings
	// periodStart is the start of the current period, in UTC. It only moves
	// forward with the clock, except when Update changes the period.
	periodStart time.Time
	// spent is the cost settled in the current period.
	spent proxyconfig.USD
	// reserved is the sum of the maximum costs of reservations not yet
	// settled, whichever period they were made in: they settle into the
	// current one.
	reserved proxyconfig.USD
	// softReported and exhaustedReported record that a decision of the
	// current period carried FirstSoftCrossing or FirstExhausted.
	softReported, exhaustedReported bool
}

// NewLocal returns a gate enforcing s from the start of the current period
// with nothing spent. now is the clock; nil means time.Now.
func NewLocal(s Settings, now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{now: now, settings: s, periodStart: PeriodStart(s.Period, now())}
}

// Reserve decides on a request that may cost up to maxCost USD (a negative
// maxCost counts as zero). It admits the request when what remains of the
// limit, less the reservations in flight, covers maxCost, so concurrent
// requests cannot all slip through on the same remaining budget and spend
// overshoots the limit only by what requests cost beyond their maximum.
// Otherwise it blocks or, with onExhausted Downgrade, admits and reserves
// as usual for the cheaper model: spend keeps counting after the limit.
func (l *Local) Reserve(maxCost proxyconfig.USD) (*Reservation, Decision) {
	return l.reserve(maxCost, false)
}

// ReserveDryRun decides like Reserve and admits the request whatever the
// decision: a request Reserve would block still reserves and settles, so
// the spend of a DryRun policy is its apps' real spend, and the state it
// is decided in follows it past the limit.
func (l *Local) ReserveDryRun(maxCost proxyconfig.USD) (*Reservation, Decision) {
	return l.reserve(maxCost, true)
}

func (l *Local) reserve(maxCost proxyconfig.USD, dryRun bool) (*Reservation, Decision) {
	maxCost = proxyconfig.MaxUSD(maxCost, proxyconfig.USD{})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollover(l.now())

	d := Decision{
		State:       l.decisionState(),
		PeriodStart: l.periodStart,
		ResetAt:     PeriodEnd(l.settings.Period, l.periodStart),
		Spent:       l.spent,
		Reserved:    l.reserved,
		Limit:       l.settings.Limit,
	}
	if d.State != StateExhausted && l.spent.Add(l.reserved).Add(maxCost).GreaterThan(l.settings.Limit) {
		// What remains does not cover this request: exhausted for it,
		// though a smaller one may pass.
		d.State = StateExhausted
	}
	if d.State != StateOk && !l.softReported {
		l.softReported, d.FirstSoftCrossing = true, true
	}
	if d.State == StateExhausted && !l.exhaustedReported {
		l.exhaustedReported, d.FirstExhausted = true, true
	}
	// Exhausted where the request would fit but for the reservations in
	// flight: they hold the rest, and may give some back.
	d.Held = d.State == StateExhausted && l.spent.Add(maxCost).LessThanOrEqual(l.settings.Limit)
	switch {
	case d.State != StateExhausted:
		d.Action = Allow
	case l.settings.OnExhausted == proxyconfig.Downgrade:
		d.Action = Downgrade
		to := *l.settings.DowngradeTo
		d.DowngradeTo = &to
	default:
		d.Action = Block
		if !dryRun {
			return nil, d
		}
	}
	l.reserved = l.reserved.Add(maxCost)
	return NewReservation(maxCost, func(actual proxyconfig.USD) { l.settle(maxCost, actual) }), d
}

// settle ends a reservation of maxCost that cost actual. The cost counts in
// the period current when it settles, even if the request began in the
// previous one: that period's spend has already been reset and reported.
func (l *Local) settle(maxCost, actual proxyconfig.USD) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollover(l.now())
	l.reserved = l.reserved.Sub(maxCost)
	l.spent = l.spent.Add(actual)
}

// Status is the spend of the current period.
func (l *Local) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollover(l.now())
	st := l.spentState()
	return Status{
		PeriodStart: l.periodStart,
		ResetAt:     PeriodEnd(l.settings.Period, l.periodStart),
		Spent:       l.spent,
		Reserved:    l.reserved,
		Remaining:   proxyconfig.MaxUSD(l.settings.Limit.Sub(l.spent), proxyconfig.USD{}),
		Limit:       l.settings.Limit,
		State:       st,
	}
}

// Settings is what the gate enforces.
func (l *Local) Settings() Settings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.settings
}

// Update replaces the settings in place, for a reloaded policy. Spend and
// reservations carry over, whatever the new limit: a raised limit admits
// requests again, a lowered one may exhaust the budget at once. A change of
// period restarts the accounting: the new period starts at its own boundary
// with nothing spent, because spend of a period of another length cannot be
// split; reservations in flight carry over. When the limit or soft
// percentage changes and spend falls back below a threshold it had crossed,
// the next crossing is reported again.
func (l *Local) Update(s Settings) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.rollover(now)
	old := l.settings
	l.settings = s
	if s.Period != old.Period {
		l.startPeriod(PeriodStart(s.Period, now))
		return
	}
	if !s.Limit.Equal(old.Limit) || s.SoftLimitPercent != old.SoftLimitPercent {
		state := l.decisionState()
		l.softReported = l.softReported && state != StateOk
		l.exhaustedReported = l.exhaustedReported && state == StateExhausted
	}
}

// rollover starts a new period when now is past the current one. A clock
// that steps back does not reopen an earlier period: that would hand out
// its budget a second time.
func (l *Local) rollover(now time.Time) {
	if start := PeriodStart(l.settings.Period, now); start.After(l.periodStart) {
		l.startPeriod(start)
	}
}

func (l *Local) startPeriod(start time.Time) {
	l.periodStart = start
	l.spent = proxyconfig.USD{}
	l.softReported, l.exhaustedReported = false, false
}

// decisionState is the state a new request is decided in: reservations in
// flight count as spent, since they may be.
func (l *Local) decisionState() State {
	switch {
	case l.spent.Add(l.reserved).GreaterThanOrEqual(l.settings.Limit):
		return StateExhausted
	case l.spent.GreaterThanOrEqual(l.settings.SoftLimit()):
		return StateSoftLimit
	default:
		return StateOk
	}
}

// spentState is the state of settled spend alone.
func (l *Local) spentState() State {
	switch {
	case l.spent.GreaterThanOrEqual(l.settings.Limit):
		return StateExhausted
	case l.spent.GreaterThanOrEqual(l.settings.SoftLimit()):
		return StateSoftLimit
	default:
		return StateOk
	}
}
