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
	assert.Equal(t, "0.4", second.Allowance.String(), "what was free")
	assert.True(t, b.Short(pod(2).PodUID), "short of what it asked for, which may come free")
	assert.False(t, b.Short(pod(1).PodUID))
	again, ok := b.Regrant(pod(2).PodUID, may14)
	require.True(t, ok)
	assert.Equal(t, "0.4", again.Allowance.String(), "nothing came free yet")

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
