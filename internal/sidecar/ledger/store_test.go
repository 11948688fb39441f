package ledger

import (
	"os"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

var may = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

func cost(s string) ledgerapi.Amount {
	return ledgerapi.NewAmount(proxyconfig.USDFromDecimal(decimal.RequireFromString(s)))
}

func openSpent(st *saved, policy string) string {
	var u proxyconfig.USD
	for _, p := range st.Open[policy] {
		u = u.Add(p.Spent.USD)
	}
	return u.String()
}

func TestStore_JournaledSpendSurvivesACrashAndIsReplayedOnce(t *testing.T) {
	dir := t.TempDir()
	s, st, err := openStore(dir)
	require.NoError(t, err)
	epoch := st.Epoch
	for _, c := range []string{"0.1", "0.2", "0.3"} {
		e := journalEntry{Policy: "p", Start: may, Cost: cost(c)}
		require.NoError(t, s.append(e))
		addSpend(st.Open, e)
	}
	// A crash: nothing but the files remains.
	s.close()
	s, st, err = openStore(dir)
	require.NoError(t, err)
	assert.Equal(t, epoch, st.Epoch, "the same state, so the same sequence")
	assert.Equal(t, "0.6", openSpent(st, "p"))
	assert.Equal(t, int64(3), st.Open["p"][0].Requests)
	s.close()
	// A second crash must not replay the journal again.
	s, st, err = openStore(dir)
	require.NoError(t, err)
	assert.Equal(t, "0.6", openSpent(st, "p"))
	s.close()
}

func TestStore_SealingMovesTheOpenSpendIntoTheBatchExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	s, st, err := openStore(dir)
	require.NoError(t, err)
	e := journalEntry{Policy: "p", Start: may, Cost: cost("1.5")}
	require.NoError(t, s.append(e))
	addSpend(st.Open, e)
	st.Seq++
	st.Unacked, st.UnackedPolicy = &ledgerapi.Batch{Seq: st.Seq, Periods: st.Open["p"]}, "p"
	delete(st.Open, "p")
	require.NoError(t, s.save(st))
	late := journalEntry{Policy: "p", Start: may, Cost: cost("0.25")}
	require.NoError(t, s.append(late))
	s.close()

	_, st, err = openStore(dir)
	require.NoError(t, err)
	require.NotNil(t, st.Unacked)
	assert.Equal(t, "1.5", st.Unacked.Periods[0].Spent.String())
	assert.Equal(t, "0.25", openSpent(st, "p"), "what was settled after the seal, and only that")
}

func TestStore_AnUnreadableStateStartsANewEpoch(t *testing.T) {
	dir := t.TempDir()
	_, st, err := openStore(dir)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/"+snapshotFile, []byte("{not json"), 0o600))
	_, again, err := openStore(dir)
	require.Error(t, err, "the loss is reported")
	assert.NotEqual(t, st.Epoch, again.Epoch, "a new epoch: its batches cannot be mistaken for the old ones")
	_, statErr := os.Stat(dir + "/" + snapshotFile + ".unreadable")
	assert.NoError(t, statErr, "the unreadable state is kept for a person to look at")
}

// TestStore_ASavedStateDoesNotReplayTheSpendItHolds: the state is saved
// after every sync, with spend settled since the last batch in Open; a
// crash then must not add that spend again from the journal.
func TestStore_ASavedStateDoesNotReplayTheSpendItHolds(t *testing.T) {
	dir := t.TempDir()
	s, st, err := openStore(dir)
	require.NoError(t, err)
	for _, c := range []string{"0.1", "0.2", "0.3"} {
		e := journalEntry{Policy: "p", Start: may, Cost: cost(c)}
		require.NoError(t, s.append(e))
		addSpend(st.Open, e)
	}
	require.NoError(t, s.save(st))
	e := journalEntry{Policy: "p", Start: may, Cost: cost("0.4")}
	require.NoError(t, s.append(e))
	addSpend(st.Open, e)
	s.close()
	s, st, err = openStore(dir)
	require.NoError(t, err)
	assert.Equal(t, "1", openSpent(st, "p"), "each settled request once")
	assert.Equal(t, int64(4), st.Open["p"][0].Requests)
	s.close()
}

// TestStore_ARequestInFlightAtACrashIsChargedItsReservationOnce: an
// admitted request whose settlement never made it to disk (the sidecar was
// killed while, or just after, its answer went out) is charged what it
// reserved, in its period, once; a settled one only what it cost, whether
// its admission is in the journal or in a saved state.
func TestStore_ARequestInFlightAtACrashIsChargedItsReservationOnce(t *testing.T) {
	dir := t.TempDir()
	s, st, err := openStore(dir)
	require.NoError(t, err)
	admit := func(id uint64, reserved string) {
		e := journalEntry{Policy: "p", Start: may, Cost: cost(reserved), ID: id, Admitted: true}
		require.NoError(t, s.append(e))
		if st.InFlight == nil {
			st.InFlight = map[uint64]journalEntry{}
		}
		st.InFlight[id] = e
	}
	settle := func(id uint64, actual string) {
		delete(st.InFlight, id)
		e := journalEntry{Policy: "p", Start: may, Cost: cost(actual), ID: id}
		require.NoError(t, s.append(e))
		addSpend(st.Open, e)
	}
	admit(1, "0.5") // settled before the save
	settle(1, "0.1")
	admit(2, "0.5") // admitted before the save, settled after
	admit(3, "0.5") // admitted before the save, never settled
	require.NoError(t, s.save(st))
	settle(2, "0.2")
	admit(4, "0.7") // admitted after the save, never settled
	admit(5, "0.5") // admitted and settled after the save
	settle(5, "0.05")
	s.close()

	s, st, err = openStore(dir)
	require.NoError(t, err)
	assert.Equal(t, "1.55", openSpent(st, "p"), "0.1 + 0.2 + 0.05 settled, 0.5 + 0.7 reserved by the two in flight")
	assert.Equal(t, int64(5), st.Open["p"][0].Requests)
	assert.Len(t, st.abandoned, 2)
	assert.Empty(t, st.InFlight)
	s.close()

	s, st, err = openStore(dir)
	require.NoError(t, err)
	assert.Equal(t, "1.55", openSpent(st, "p"), "charged once")
	assert.Empty(t, st.abandoned)
	s.close()
}
