package llmclient

import (
	"context"
	"fmt"
	"sync"
)

// BufferBudget bounds the bytes that Transports hold in memory at once for
// request bodies (kept whole, since a retry or a fallback sends the body
// again) and for the copies of answers that usage is read from. The
// concurrency of requests has no bound of its own, so without this one a
// burst of large bodies or answers would take the process past any memory
// limit. One budget is shared by every Transport that uses it: a sidecar
// passes the same one to the Transport of each reload.
//
// A request body waits, in arrival order, until it fits; a copy of an
// answer never waits: when it does not fit, the answer still reaches the
// app but its usage is not read, as for an answer larger than the copy's
// own bound.
type BufferBudget struct {
	limit int64

	mu      sync.Mutex // guards used and waiters
	used    int64
	waiters []*bufferWaiter // request bodies waiting for room, oldest first
}

// bufferWaiter is a request body waiting for room; ready is closed once
// its n bytes are granted.
type bufferWaiter struct {
	n     int64
	ready chan struct{}
}

// NewBufferBudget returns a budget of limit bytes.
func NewBufferBudget(limit int64) *BufferBudget {
	return &BufferBudget{limit: limit}
}

// Limit is the budget's size in bytes.
func (b *BufferBudget) Limit() int64 { return b.limit }

// InUse is how many bytes are held now.
func (b *BufferBudget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// acquire waits until n bytes fit behind the bodies already waiting, or ctx
// ends.
func (b *BufferBudget) acquire(ctx context.Context, n int64) error {
	if n > b.limit {
		return fmt.Errorf("%s exceed the whole buffer budget of %s", mib(n), mib(b.limit))
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.limit {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &bufferWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready:
		// Granted as ctx ended: give the bytes back.
		b.used -= n
	default:
		for i, o := range b.waiters {
			if o == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
	}
	// Whoever waited behind w may fit now.
	b.grantLocked()
	return ctx.Err()
}

// acquireNow takes n bytes if they fit now behind no waiting body, as
// acquire would at once; false when acquire would have to wait (or fail).
func (b *BufferBudget) acquireNow(n int64) bool {
	if n > b.limit {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiters) == 0 && b.used+n <= b.limit {
		b.used += n
		return true
	}
	return false
}

// tryAcquire takes n bytes if they fit now, ahead of waiting bodies: it
// serves answers under way, whose copies end with them.
func (b *BufferBudget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

// release gives back n bytes.
func (b *BufferBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.grantLocked()
}

// grantLocked wakes the waiting bodies that fit, in order. b.mu is held.
func (b *BufferBudget) grantLocked() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.limit {
			return
		}
		b.used += w.n
		close(w.ready)
		b.waiters[0] = nil
		b.waiters = b.waiters[1:]
	}
}

// mib formats n bytes for messages.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
