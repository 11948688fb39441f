package budget

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestLocal_UpdateKeepsTheSpendOfThePeriod(t *testing.T) {
	now := utc(2025, 5, 14, 12, 0, 0)
	cases := map[string]struct {
		from        proxyconfig.BudgetPeriod // Monthly unless set
		spent       string
		update      func(*Settings)
		wantSpent   string
		wantAction  Action
		wantState   State
		wantPeriod  time.Time
		wantResetAt time.Time
	}{
		"a raised limit admits requests again": {
			spent: "10", update: func(s *Settings) { s.Limit = usd("20") },
			wantSpent: "10", wantAction: Allow, wantState: StateOk,
			wantPeriod: utc(2025, 5, 1, 0, 0, 0), wantResetAt: utc(2025, 6, 1, 0, 0, 0),
		},
		"a lowered limit exhausts the budget at once": {
			spent: "6", update: func(s *Settings) { s.Limit = usd("5") },
			wantSpent: "6", wantAction: Block, wantState: StateExhausted,
			wantPeriod: utc(2025, 5, 1, 0, 0, 0), wantResetAt: utc(2025, 6, 1, 0, 0, 0),
		},
		"a lowered soft limit is reached by the same spend": {
			spent: "6", update: func(s *Settings) { s.SoftLimitPercent = 50 },
			wantSpent: "6", wantAction: Allow, wantState: StateSoftLimit,
			wantPeriod: utc(2025, 5, 1, 0, 0, 0), wantResetAt: utc(2025, 6, 1, 0, 0, 0),
		},
		"switching to Downgrade downgrades the exhausted budget": {
			spent: "10", update: func(s *Settings) { *s = downgradeAt("10") },
			wantSpent: "10", wantAction: Downgrade, wantState: StateExhausted,
			wantPeriod: utc(2025, 5, 1, 0, 0, 0), wantResetAt: utc(2025, 6, 1, 0, 0, 0),
		},
		"a longer period restarts the accounting at its own boundary": {
			from: proxyconfig.Daily, spent: "10", update: func(s *Settings) { s.Period = proxyconfig.Monthly },
			wantSpent: "0", wantAction: Allow, wantState: StateOk,
			wantPeriod: utc(2025, 5, 1, 0, 0, 0), wantResetAt: utc(2025, 6, 1, 0, 0, 0),
		},
		"a shorter period restarts the accounting at its own boundary": {
			spent: "10", update: func(s *Settings) { s.Period = proxyconfig.Weekly },
			wantSpent: "0", wantAction: Allow, wantState: StateOk,
			wantPeriod: utc(2025, 5, 12, 0, 0, 0), wantResetAt: utc(2025, 5, 19, 0, 0, 0),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			initial := blockAt("10")
			if tc.from != "" {
				initial.Period = tc.from
			}
			g := newGate(t, initial, newClock(now))
			spend(t, g, tc.spent)

			s := g.Settings()
			tc.update(&s)
			g.Update(s)

			st := g.Status()
			assertUSD(t, tc.wantSpent, st.Spent)
			assert.Equal(t, tc.wantPeriod, st.PeriodStart)
			assert.Equal(t, tc.wantResetAt, st.ResetAt)
			_, d := g.Reserve(usd("0.01"))
			assert.Equal(t, tc.wantAction, d.Action)
			assert.Equal(t, tc.wantState, d.State)
			assertUSD(t, s.Limit.String(), d.Limit)
		})
	}
}

func TestLocal_UpdateKeepsReservationsInFlight(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	r, _ := g.Reserve(usd("4"))
	s := g.Settings()
	s.Period = proxyconfig.Daily
	g.Update(s)
	assertUSD(t, "4", g.Status().Reserved)
	r.Settle(usd("1"))
	st := g.Status()
	assertUSD(t, "1", st.Spent)
	assertUSD(t, "0", st.Reserved)
}

func TestLocal_UpdateReportsACrossingAgainOnlyAfterSpendFellBelowIt(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	spend(t, g, "10")
	_, d := g.Reserve(usd("0"))
	require.True(t, d.FirstSoftCrossing)
	require.True(t, d.FirstExhausted)

	g.Update(g.Settings())
	_, d = g.Reserve(usd("0"))
	assert.False(t, d.FirstSoftCrossing, "reloading the same settings reports nothing anew")
	assert.False(t, d.FirstExhausted)

	s := g.Settings()
	s.Limit = usd("11")
	g.Update(s)
	r, d := g.Reserve(usd("0"))
	r.Release()
	assert.Equal(t, StateSoftLimit, d.State)
	assert.False(t, d.FirstSoftCrossing, "10 of 11 is still past the soft limit it crossed")
	assert.False(t, d.FirstExhausted)

	s.Limit = usd("100")
	g.Update(s)
	r, d = g.Reserve(usd("0"))
	r.Release()
	assert.Equal(t, StateOk, d.State)
	spend(t, g, "75")
	_, d = g.Reserve(usd("0"))
	assert.Equal(t, StateSoftLimit, d.State)
	assert.True(t, d.FirstSoftCrossing, "spend fell below the raised soft limit and crossed it again")
	spend(t, g, "15")
	_, d = g.Reserve(usd("0"))
	assert.True(t, d.FirstExhausted, "and the raised limit is reported when reached")
}
