package budget

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocal_ReserveDryRunDecidesLikeReserveAndAdmitsEverything(t *testing.T) {
	cases := map[string]struct {
		settings   Settings
		spent      string
		wantAction Action
		wantState  State
	}{
		"below the soft limit": {settings: blockAt("10"), spent: "1", wantAction: Allow, wantState: StateOk},
		"past the soft limit":  {settings: blockAt("10"), spent: "8", wantAction: Allow, wantState: StateSoftLimit},
		"spent, blocking":      {settings: blockAt("10"), spent: "10", wantAction: Block, wantState: StateExhausted},
		"spent, downgrading":   {settings: downgradeAt("10"), spent: "10", wantAction: Downgrade, wantState: StateExhausted},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			enforce := newGate(t, tc.settings, newClock(utc(2025, 5, 14, 12, 0, 0)))
			dryRun := newGate(t, tc.settings, newClock(utc(2025, 5, 14, 12, 0, 0)))
			spend(t, enforce, tc.spent)
			spend(t, dryRun, tc.spent)

			_, want := enforce.Reserve(usd("0.5"))
			r, got := dryRun.ReserveDryRun(usd("0.5"))
			assert.Equal(t, want, got, "the decision Enforce makes")
			assert.Equal(t, tc.wantAction, got.Action)
			assert.Equal(t, tc.wantState, got.State)
			require.NotNil(t, r, "admitted whatever the decision")
			assertUSD(t, "0.5", dryRun.Status().Reserved, "the request holds its maximum cost like any other")

			require.True(t, r.Settle(usd("0.25")))
			st := dryRun.Status()
			assertUSD(t, usd(tc.spent).Add(usd("0.25")).String(), st.Spent, "what it cost is spend, past the limit too")
			assertUSD(t, "0", st.Reserved)
		})
	}
}

func TestLocal_ReserveDryRunReportsEachCrossingOncePerPeriod(t *testing.T) {
	g := newGate(t, blockAt("1"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	var soft, exhausted int
	for range 6 {
		r, d := g.ReserveDryRun(usd("0.3"))
		r.Settle(usd("0.3"))
		if d.FirstSoftCrossing {
			soft++
		}
		if d.FirstExhausted {
			exhausted++
		}
	}
	assert.Equal(t, 1, soft)
	assert.Equal(t, 1, exhausted)
	assertUSD(t, "1.8", g.Status().Spent, "every request was admitted and charged")
	assert.Equal(t, StateExhausted, g.Status().State)
}
