package budget

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// race runs n callers of f at once and waits for them.
func race(n int, f func()) {
	var start, done sync.WaitGroup
	start.Add(1)
	for range n {
		done.Go(func() {
			start.Wait()
			f()
		})
	}
	start.Done()
	done.Wait()
}

func TestLocal_ConcurrentRequestsCannotAllSlipThrough(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	var (
		mu                     sync.Mutex
		admitted               []*Reservation
		blocked, soft, exhaust atomic.Int32
	)
	race(100, func() {
		r, d := g.Reserve(usd("1"))
		if d.FirstSoftCrossing {
			soft.Add(1)
		}
		if d.FirstExhausted {
			exhaust.Add(1)
		}
		if d.Action == Block {
			blocked.Add(1)
			return
		}
		mu.Lock()
		admitted = append(admitted, r)
		mu.Unlock()
	})

	assert.Len(t, admitted, 10, "ten requests of 1 fit a limit of 10")
	assert.Equal(t, int32(90), blocked.Load())
	assert.Equal(t, int32(1), soft.Load(), "exactly one caller reports the crossing")
	assert.Equal(t, int32(1), exhaust.Load(), "exactly one caller reports exhaustion")

	var wg sync.WaitGroup
	for _, r := range admitted {
		wg.Go(func() { r.Settle(r.MaxCost()) })
	}
	wg.Wait()
	st := g.Status()
	assertUSD(t, "10", st.Spent, "no overshoot when every request costs exactly its maximum")
	assertUSD(t, "0", st.Reserved)
}

func TestLocal_ConcurrentRequestsNeverOvershoot(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	var admitted atomic.Int32
	race(100, func() {
		r, d := g.Reserve(usd("1.5"))
		if d.Action == Allow {
			admitted.Add(1)
			r.Settle(usd("1.5")) // settling while others reserve
		}
	})
	assert.Equal(t, int32(6), admitted.Load(), "6 × 1.5 is the most that fits in 10")
	assertUSD(t, "9", g.Status().Spent)
}

func TestLocal_SoftCrossingIsReportedToExactlyOneConcurrentCaller(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	spend(t, g, "8.5")
	var first, soft atomic.Int32
	race(100, func() {
		r, d := g.Reserve(usd("0.001"))
		defer r.Release()
		if d.FirstSoftCrossing {
			first.Add(1)
		}
		if d.State == StateSoftLimit {
			soft.Add(1)
		}
	})
	assert.Equal(t, int32(1), first.Load())
	assert.Equal(t, int32(100), soft.Load(), "every caller sees the soft limit")
}
