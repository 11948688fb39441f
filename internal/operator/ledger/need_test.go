package ledger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestBook_APodShortOfWhatItNeedsGetsWhatAnotherGivesBack(t *testing.T) {
	b := NewBook(monthly("1"), timing, may14)
	first, err := b.Sync(pod(1), ledgerapi.SyncRequest{Need: amount("0.6")}, "e", may14)
	require.NoError(t, err)
	require.Equal(t, "0.6", first.Allowance.String())

	second, err := b.Sync(pod(2), ledgerapi.SyncRequest{Need: amount("0.6")}, "e", may14)
	require.NoError(t, err)
	assert.Equal(t, "0", second.Allowance.String(), "0.4 is free, which would not make a request")
	assert.True(t, b.Short(pod(2).PodUID), "short of what it asked for, which may come free")
	assert.False(t, b.Short(pod(1).PodUID))
	again, ok := b.Regrant(pod(2).PodUID, may14)
	require.True(t, ok)
	assert.Equal(t, "0", again.Allowance.String(), "nothing came free yet")

	// The first pod gives back what it did not need.
	period := budget.PeriodStart(proxyconfig.Monthly, may14)
	_, err = b.Sync(pod(1), ledgerapi.SyncRequest{Batch: &ledgerapi.Batch{Seq: 1, Periods: []ledgerapi.PeriodSpend{{Start: period, Released: amount("0.6")}}}}, "e", may14)
	require.NoError(t, err)
	again, ok = b.Regrant(pod(2).PodUID, may14)
	require.True(t, ok)
	assert.Equal(t, "0.6", again.Allowance.String())
	assert.False(t, b.Short(pod(2).PodUID))

	_, ok = b.Regrant("uid-gone", may14)
	assert.False(t, ok, "a pod the book does not hold")
}

func TestBook_APodIsNotShortOnceTheBudgetIsExhausted(t *testing.T) {
	b := NewBook(monthly("1"), timing, may14)
	_, err := b.Sync(pod(1), ledgerapi.SyncRequest{Need: amount("0.6")}, "e", may14)
	require.NoError(t, err)
	_, err = b.Sync(pod(2), ledgerapi.SyncRequest{Need: amount("0.6")}, "e", may14)
	require.NoError(t, err)
	require.True(t, b.Short(pod(2).PodUID))
	_, err = b.Sync(pod(1), ledgerapi.SyncRequest{Batch: spend(1, may14, "1")}, "e", may14)
	require.NoError(t, err)
	assert.False(t, b.Short(pod(2).PodUID), "nothing will come free: its sync is answered at once")
}

// TestBook_TheLastOfABudgetIsGrantedInWholeRequests: twenty pods each hold
// a fragment of what remains, too small for a request, and each waits for
// a request. As each gives its fragment back and asks for a whole request,
// what remains is granted whole, one request at a time, rather than handed
// back out in fragments that again make no request.
func TestBook_TheLastOfABudgetIsGrantedInWholeRequests(t *testing.T) {
	const pods = 20
	b := NewBook(monthly("0.04"), timing, may14)
	for i := range pods {
		_, err := b.Sync(pod(i), ledgerapi.SyncRequest{}, "e", may14)
		require.NoError(t, err)
	}
	period := budget.PeriodStart(proxyconfig.Monthly, may14)
	held := map[int]proxyconfig.USD{}
	for i := range pods {
		held[i] = b.pods[pod(i).PodUID].allowance
		require.True(t, held[i].IsPositive() && held[i].LessThan(usd("0.007")), "pod %d holds a fragment: %s", i, held[i])
	}

	for i := range pods {
		release := &ledgerapi.Batch{Seq: 1, Periods: []ledgerapi.PeriodSpend{{Start: period, Released: ledgerapi.NewAmount(held[i])}}}
		_, err := b.Sync(pod(i), ledgerapi.SyncRequest{Batch: release, Need: amount("0.007")}, "e", may14)
		require.NoError(t, err)
		for j := range i { // what the waiting syncs are granted as the book changes
			_, ok := b.Regrant(pod(j).PodUID, may14)
			require.True(t, ok)
		}
	}
	whole := 0
	for i := range pods {
		switch got := b.pods[pod(i).PodUID].allowance; {
		case got.Equal(usd("0.007")):
			whole++
		case !got.IsZero():
			t.Errorf("pod %d was granted %s: a fragment", i, got)
		}
	}
	assert.Equal(t, 5, whole, "$0.04 makes five requests of $0.007")
	assert.Equal(t, "0.005", b.free().String(), "what is left makes no request")
}
