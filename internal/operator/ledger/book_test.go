package ledger

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

var (
	may14  = time.Date(2026, 5, 14, 12, 0, 0, 0, time.UTC)
	timing = Timing{Lease: 30 * time.Second, Sync: time.Second}
)

func usd(s string) proxyconfig.USD {
	return proxyconfig.USDFromDecimal(decimal.RequireFromString(s))
}

func amount(s string) ledgerapi.Amount { return ledgerapi.NewAmount(usd(s)) }

func monthly(limit string) Settings {
	return Settings{Period: proxyconfig.Monthly, Limit: usd(limit), SoftLimitPercent: 80}
}

func pod(n int) Identity {
	return Identity{PodUID: fmt.Sprintf("uid-%d", n), Pod: fmt.Sprintf("chat-%d", n), Workload: "Deployment/chat"}
}

// heldOf sums the pods' allowances, as Book.held must.
func heldOf(b *Book) proxyconfig.USD {
	var h proxyconfig.USD
	for _, a := range b.pods {
		h = h.Add(a.allowance)
	}
	return h
}

// spend is a batch of one request of cost in the period of now.
func spend(seq uint64, now time.Time, cost string) *ledgerapi.Batch {
	return &ledgerapi.Batch{Seq: seq, Periods: []ledgerapi.PeriodSpend{{Start: budget.PeriodStart(proxyconfig.Monthly, now), Spent: amount(cost), Requests: 1}}}
}

func TestBook_ABatchIsAppliedOnceHoweverOftenItArrives(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	for range 3 {
		reply, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(1, may14, "1.25")}, "e1", may14)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), reply.Acked)
	}
	assert.Equal(t, "1.25", b.cur.spent.String())
	_, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(2, may14, "0.75")}, "e1", may14)
	require.NoError(t, err)
	assert.Equal(t, "2", b.cur.spent.String())
	assert.Equal(t, int64(2), b.cur.requests)
}

func TestBook_ABatchThatSkipsAheadIsRefusedAndChangesNothing(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	_, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(1, may14, "1")}, "e1", may14)
	require.NoError(t, err)
	_, err = b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(3, may14, "1")}, "e1", may14)
	require.ErrorAs(t, err, &ErrOutOfOrder{})
	assert.Equal(t, "1", b.cur.spent.String())
}

func TestBook_ANewEpochStartsANewSequence(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	_, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(7, may14, "1")}, "e1", may14)
	require.NoError(t, err)
	// The sidecar lost its state and starts over at 1: counted.
	reply, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(1, may14, "2")}, "e2", may14)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), reply.Acked)
	assert.Equal(t, "3", b.cur.spent.String())
}

func TestBook_AllowancesNeverSumToMoreThanWhatRemains(t *testing.T) {
	for name, overspend := range map[string]float64{"pods spend within what they hold": 1.0, "some requests cost more than reserved": 1.1} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			b := NewBook(monthly("5"), timing, may14)
			seq := map[int]uint64{}
			held := map[int]proxyconfig.USD{}
			var beyond proxyconfig.USD // what pods spent beyond what they held
			now := may14
			for i := range 5000 {
				p := rng.IntN(20)
				now = now.Add(time.Duration(rng.IntN(200)) * time.Millisecond)
				req := ledgerapi.SyncRequest{Need: amount(fmt.Sprintf("0.%02d", rng.IntN(30)))}
				if h := held[p]; h.IsPositive() && rng.IntN(2) == 0 {
					cost := usd(h.Decimal().Mul(decimal.NewFromFloat(rng.Float64() * overspend)).Round(6).String())
					beyond = beyond.Add(proxyconfig.MaxUSD(cost.Sub(h), proxyconfig.USD{}))
					seq[p]++
					req.Batch = spend(seq[p], now, cost.String())
				}
				reply, err := b.Sync(pod(p), req, "e", now)
				require.NoError(t, err, "sync %d", i)
				held[p] = reply.Allowance.USD
				require.Equal(t, heldOf(b).String(), b.held.String(), "sync %d: the sum kept is the sum of the allowances", i)
				require.True(t, heldOf(b).LessThanOrEqual(b.remaining().Add(beyond)),
					"sync %d: pods hold %s; %s remains, and pods spent %s beyond what they held", i, heldOf(b), b.remaining(), beyond)
			}
			assert.Equal(t, budget.StateExhausted, b.State(), "the pods spent the budget")
		})
	}
}

func TestBook_AWaitingRequestGetsWhatItNeedsWhenFree(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	// Four pods hold their shares.
	for i := range 4 {
		_, err := b.Sync(pod(i), ledgerapi.SyncRequest{}, "e", may14)
		require.NoError(t, err)
	}
	reply, err := b.Sync(pod(9), ledgerapi.SyncRequest{Need: amount("4")}, "e", may14)
	require.NoError(t, err)
	assert.True(t, reply.Allowance.GreaterThanOrEqual(usd("0")))
	assert.True(t, heldOf(b).LessThanOrEqual(b.remaining()))
	// What it got is at most what was free.
	free := usd("10").Sub(heldOf(b)).Add(reply.Allowance.USD)
	assert.True(t, reply.Allowance.LessThanOrEqual(free))
}

func TestBook_NothingIsGrantedOnceTheLimitIsSpent(t *testing.T) {
	b := NewBook(monthly("1"), timing, may14)
	_, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(1, may14, "1.02")}, "e", may14)
	require.NoError(t, err)
	reply, err := b.Sync(pod(2), ledgerapi.SyncRequest{Need: amount("0.01")}, "e", may14)
	require.NoError(t, err)
	assert.True(t, reply.Allowance.IsZero())
	assert.Equal(t, string(budget.StateExhausted), reply.State)
	assert.Equal(t, "1.02", reply.Spent.String(), "spend beyond the limit is counted, not capped")
}

func TestBook_RolloverKeepsTheOldTotalAndSettlesLateSpendIntoIt(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	_, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(1, may14, "3")}, "e", may14)
	require.NoError(t, err)
	june := time.Date(2026, 6, 1, 0, 0, 1, 0, time.UTC)
	// A request admitted in May settles after the boundary.
	reply, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(2, may14, "0.5")}, "e", june)
	require.NoError(t, err)
	assert.Equal(t, june.Truncate(24*time.Hour), reply.PeriodStart)
	assert.Equal(t, "0", reply.Spent.String(), "the new period starts at zero")
	require.NotNil(t, b.last)
	assert.Equal(t, "3.5", b.last.spent.String(), "May's total includes the late settle")
	_, err = b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(3, june, "1")}, "e", june)
	require.NoError(t, err)
	assert.Equal(t, "1", b.cur.spent.String())
}

func TestBook_ExpireReturnsOnlyTheAllowanceOfPodsThatAreGone(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	for i := range 2 {
		_, err := b.Sync(pod(i), ledgerapi.SyncRequest{}, "e", may14)
		require.NoError(t, err)
	}
	heldBefore := heldOf(b)
	require.True(t, heldBefore.IsPositive())
	alive := func(uid, _ string) bool { return uid == pod(0).PodUID }

	assert.False(t, b.Expire(may14.Add(timing.Lease), alive), "within the lease nothing expires")
	assert.True(t, b.Expire(may14.Add(timing.Lease+time.Second), alive))
	assert.Len(t, b.pods, 1, "the gone pod is forgotten; the silent living one keeps its allowance")
	assert.Equal(t, heldOf(b).String(), b.held.String(), "what the gone pod held is free again")
	silent, held := b.Silent(may14.Add(timing.Lease + time.Second))
	assert.Equal(t, []string{"chat-0"}, silent)
	assert.True(t, held.IsPositive())
}

func TestBook_SnapshotRestoresTheSameBook(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	_, err := b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(4, may14, "2.000000000001")}, "e1", may14)
	require.NoError(t, err)
	_, err = b.Sync(Identity{PodUID: "uid-2", Pod: "batch-x", Workload: "Job/nightly"}, ledgerapi.SyncRequest{Batch: spend(1, may14, "0.5")}, "e2", may14)
	require.NoError(t, err)

	later := may14.Add(time.Hour)
	got, err := Restore(b.Snapshot(may14), monthly("10"), timing, later)
	require.NoError(t, err)
	assert.Equal(t, b.cur.spent.String(), got.cur.spent.String())
	assert.Equal(t, b.cur.requests, got.cur.requests)
	assert.Equal(t, heldOf(b).String(), heldOf(got).String())
	assert.Equal(t, heldOf(got).String(), got.held.String(), "the restored book keeps the sum")
	for uid, a := range b.pods {
		assert.Equal(t, a.seq, got.pods[uid].seq)
		assert.Equal(t, a.epoch, got.pods[uid].epoch)
		assert.Equal(t, later, got.pods[uid].lastSync, "a restored pod's lease starts again")
	}
	// A batch the old ledger applied and the restored one holds is still
	// applied once.
	_, err = got.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(4, may14, "2.000000000001")}, "e1", later)
	require.NoError(t, err)
	assert.Equal(t, "2.500000000001", got.cur.spent.String())

	snap := got.Snapshot(later)
	require.Len(t, snap.TopSpenders, 2)
	assert.Equal(t, "Deployment/chat", snap.TopSpenders[0].Workload)
	assert.Equal(t, "2.000000000001", snap.TopSpenders[0].Spent)
}

func TestRestore_RefusesAStatusItCannotRead(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	st := b.Snapshot(may14)
	st.Spent = "lots"
	_, err := Restore(st, monthly("10"), timing, may14)
	assert.ErrorContains(t, err, `status.budget: spent: "lots" is not a USD amount`)
}

func TestBook_APodBeyondWhatTheStatusCanListIsRefusedUntilOthersAreGone(t *testing.T) {
	b := NewBook(monthly("10"), timing, may14)
	for i := range v1alpha1.MaxReporters {
		_, err := b.Sync(pod(i), ledgerapi.SyncRequest{}, "e", may14)
		require.NoError(t, err)
	}
	version, held := b.Version(), b.held

	_, err := b.Sync(pod(v1alpha1.MaxReporters), ledgerapi.SyncRequest{Batch: spend(1, may14, "1")}, "e", may14)
	var full ErrFull
	require.ErrorAs(t, err, &full)
	assert.Contains(t, err.Error(), fmt.Sprintf("%d pods", v1alpha1.MaxReporters))
	assert.Equal(t, version, b.Version(), "a refused pod changes nothing to persist")
	assert.Equal(t, held, b.held, "and gets no allowance")
	assert.True(t, b.cur.spent.IsZero(), "its batch is not taken: it is sent again later")
	assert.Len(t, b.Snapshot(may14).Ledger.Reporters, v1alpha1.MaxReporters, "the status stays within its MaxItems")

	_, err = b.Sync(pod(0), ledgerapi.SyncRequest{Batch: spend(1, may14, "1")}, "e", may14)
	require.NoError(t, err, "a pod the book follows goes on")

	later := may14.Add(timing.Lease + time.Second)
	require.True(t, b.Expire(later, func(uid, _ string) bool { return uid != pod(1).PodUID }))
	_, err = b.Sync(pod(v1alpha1.MaxReporters), ledgerapi.SyncRequest{Batch: spend(1, later, "1")}, "e", later)
	require.NoError(t, err, "taken in once a pod is gone")
	assert.Equal(t, "2", b.cur.spent.String())
}
