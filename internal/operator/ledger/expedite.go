package ledger

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"tollgate.dev/tollgate/pkg/ledgerapi"
)

// A request that needs more allowance than its sidecar holds waits for the
// sync that asks for it (SyncRequest.Need). That sync must not wait for the
// next status write, which comes only every Commit (2s by default), nor
// for an allowance another pod is about to give back:
//
//   - while such a sync is in flight, the committer writes its policy's
//     book as soon as it changed, but no sooner than Expedite after the last
//     write, so that the writes of many such syncs still come in batches;
//     the write also answers the policy's other syncs, which is how the
//     pods that hold allowance learn soon that they should give some back;
//   - a sync short of what it asked for waits, up to the sync interval,
//     until another pod gives allowance back (awaitAllowance), rather than
//     have its sidecar ask again and again.

// DefaultExpedite is the default of Options.Expedite.
const DefaultExpedite = 100 * time.Millisecond

// hurry counts a sync a request waits on in e's policy until done is
// called, and wakes the committer.
func (l *Ledger) hurry(e *entry) (done func()) {
	e.mu.Lock()
	e.waiters++
	e.mu.Unlock()
	l.wakeCommitter()
	return func() {
		e.mu.Lock()
		e.waiters--
		e.mu.Unlock()
	}
}

// wakeCommitter makes the committer look at the books requests wait on.
func (l *Ledger) wakeCommitter() {
	select {
	case l.hurried <- struct{}{}:
	default:
	}
}

// commitHurried writes every book that a request waits on and that
// changed since it was written, once its last write is Expedite ago. It
// returns when to look again: when the next such book is due, or nil
// (when woken). A book whose last write failed waits for the tick, so that
// an API server in trouble is not asked more often.
func (l *Ledger) commitHurried(ctx context.Context) <-chan time.Time {
	l.mu.Lock()
	due := make(map[types.NamespacedName]*entry, len(l.books))
	for k, e := range l.books {
		due[k] = e
	}
	l.mu.Unlock()
	var next time.Duration
	for key, e := range due {
		e.mu.Lock()
		wanted := e.waiters > 0 && e.book != nil && e.book.Version() > e.committed && e.lastErr == nil
		wait := l.opts.Expedite - time.Since(e.lastWrite)
		e.mu.Unlock()
		switch {
		case !wanted:
		case wait <= 0:
			l.commitOne(ctx, key, e)
		case next == 0 || wait < next:
			next = wait
		}
	}
	if next == 0 {
		return nil
	}
	return time.After(next)
}

// touch wakes the syncs waiting for allowance to come free. Called with
// e.mu held.
func (e *entry) touch() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// awaitAllowance waits while the pod of uid is short of what its sync
// asked for, up to the sync interval (the sidecar asks again if its
// request still waits), granting it what comes free each time the book
// may have freed some. changed is e.changed as of the sync. It returns
// the reply and the book version it needs durable.
func (l *Ledger) awaitAllowance(ctx context.Context, e *entry, uid string, changed <-chan struct{}, reply ledgerapi.SyncReply, version uint64) (ledgerapi.SyncReply, uint64) {
	timeout := time.NewTimer(l.opts.Sync)
	defer timeout.Stop()
	for {
		e.mu.Lock()
		short := e.book.Short(uid)
		e.mu.Unlock()
		if !short {
			return reply, version
		}
		select {
		case <-changed:
		case <-timeout.C:
			return reply, version
		case <-ctx.Done():
			return reply, version
		case <-l.closed:
			return reply, version
		}
		e.mu.Lock()
		again, ok := e.book.Regrant(uid, l.opts.Now())
		if ok {
			reply, version = again, e.book.Version()
		}
		changed = e.changed
		e.mu.Unlock()
		if !ok {
			return reply, version
		}
	}
}
