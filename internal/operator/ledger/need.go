package ledger

import (
	"time"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Short reports whether the pod of uid is short of what its last sync
// asked for while the budget is not exhausted: what it asked for may still
// come free, when another pod gives back what it does not need.
func (b *Book) Short(uid string) bool {
	a := b.pods[uid]
	return a != nil && a.short.IsPositive() && b.State() != budget.StateExhausted
}

// Regrant grants the pod of uid what it is short of out of what is free
// now, and returns its reply; false when the book no longer holds the pod.
func (b *Book) Regrant(uid string, now time.Time) (ledgerapi.SyncReply, bool) {
	b.rollover(now)
	a := b.pods[uid]
	if a == nil {
		return ledgerapi.SyncReply{}, false
	}
	b.grant(a, a.short, now)
	return b.reply(a), true
}

// TargetOf is the allowance the pod of uid should hold now (zero for a pod
// the book does not hold): fresher than the target of a reply built
// before the reply waited for its status write, since another pod may
// have asked for more meanwhile.
func (b *Book) TargetOf(uid string, now time.Time) proxyconfig.USD {
	a := b.pods[uid]
	if a == nil {
		return proxyconfig.USD{}
	}
	return b.target(a, now)
}
