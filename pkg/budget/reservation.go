package budget

import (
	"sync"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Reservation is the budget held by one admitted request: its maximum cost,
// counted against the limit until the request settles with its actual cost
// or releases it. Settle and Release may be called from any goroutine; only
// the first call counts. A nil *Reservation (a blocked request) ignores
// both, so callers can settle unconditionally.
type Reservation struct {
	maxCost proxyconfig.USD
	settle  func(actual proxyconfig.USD)
	once    sync.Once
}

// NewReservation returns a Reservation of maxCost that calls settle once,
// on the first Settle or Release, with the actual cost (never negative). It
// is for implementations of Gate.
func NewReservation(maxCost proxyconfig.USD, settle func(actual proxyconfig.USD)) *Reservation {
	return &Reservation{maxCost: maxCost, settle: settle}
}

// MaxCost is the USD the reservation holds.
func (r *Reservation) MaxCost() proxyconfig.USD {
	if r == nil {
		return proxyconfig.USD{}
	}
	return r.maxCost
}

// Settle ends the reservation and charges actual, the request's real cost,
// which may exceed MaxCost when the estimate was wrong; a negative actual
// counts as zero. It reports whether this call settled the reservation:
// false when it was already settled or released.
func (r *Reservation) Settle(actual proxyconfig.USD) bool {
	if r == nil {
		return false
	}
	settled := false
	r.once.Do(func() {
		settled = true
		r.settle(proxyconfig.MaxUSD(actual, proxyconfig.USD{}))
	})
	return settled
}

// Release ends the reservation without charging anything, for a request
// that failed before it cost money. It is Settle(0).
func (r *Reservation) Release() bool {
	return r.Settle(proxyconfig.USD{})
}
