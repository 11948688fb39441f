package budget

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestLocal_DecisionFollowsSpend(t *testing.T) {
	// Limit 10, soft limit 80% = 8.
	cases := map[string]struct {
		spent      string
		wantAction Action
		wantState  State
		wantStatus State
		wantLeft   string
	}{
		"nothing spent is Ok": {
			spent: "0", wantAction: Allow, wantState: StateOk, wantStatus: StateOk, wantLeft: "10",
		},
		"just below the soft limit is Ok": {
			spent: "7.999999", wantAction: Allow, wantState: StateOk, wantStatus: StateOk, wantLeft: "2.000001",
		},
		"exactly the soft limit is SoftLimit": {
			spent: "8", wantAction: Allow, wantState: StateSoftLimit, wantStatus: StateSoftLimit, wantLeft: "2",
		},
		"what remains covers the request exactly": {
			spent: "9.99", wantAction: Allow, wantState: StateSoftLimit, wantStatus: StateSoftLimit, wantLeft: "0.01",
		},
		"less remaining than the request may cost is Exhausted for it": {
			spent: "9.999999", wantAction: Block, wantState: StateExhausted, wantStatus: StateSoftLimit, wantLeft: "0.000001",
		},
		"exactly the limit is Exhausted": {
			spent: "10", wantAction: Block, wantState: StateExhausted, wantStatus: StateExhausted, wantLeft: "0",
		},
		"over the limit is Exhausted with nothing remaining": {
			spent: "12.5", wantAction: Block, wantState: StateExhausted, wantStatus: StateExhausted, wantLeft: "0",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
			spend(t, g, tc.spent)

			r, d := g.Reserve(usd("0.01"))
			assert.Equal(t, tc.wantAction, d.Action)
			assert.Equal(t, tc.wantState, d.State)
			assert.Equal(t, tc.wantAction == Block, r == nil, "a reservation is returned exactly when the request is admitted")
			assertUSD(t, tc.spent, d.Spent)
			assertUSD(t, "0", d.Reserved)
			assertUSD(t, "10", d.Limit)
			assert.Equal(t, utc(2025, 5, 1, 0, 0, 0), d.PeriodStart)
			assert.Equal(t, utc(2025, 6, 1, 0, 0, 0), d.ResetAt)
			r.Release()

			st := g.Status()
			assert.Equal(t, tc.wantStatus, st.State)
			assertUSD(t, tc.spent, st.Spent)
			assertUSD(t, tc.wantLeft, st.Remaining)
			assertUSD(t, "10", st.Limit)
		})
	}
}

func TestLocal_ExhaustedAction(t *testing.T) {
	cases := map[string]struct {
		settings        Settings
		wantAction      Action
		wantReservation bool
		wantDowngradeTo *proxyconfig.ModelRef
	}{
		"Block refuses the request and holds nothing": {
			settings: blockAt("1"), wantAction: Block,
		},
		"Downgrade admits the request to the cheaper model": {
			settings: downgradeAt("1"), wantAction: Downgrade, wantReservation: true,
			wantDowngradeTo: &proxyconfig.ModelRef{Provider: "openai", Model: "gpt-4o-mini"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := newGate(t, tc.settings, newClock(utc(2025, 5, 14, 12, 0, 0)))
			spend(t, g, "1")

			r, d := g.Reserve(usd("0.5"))
			assert.Equal(t, tc.wantAction, d.Action)
			assert.Equal(t, StateExhausted, d.State)
			assert.Equal(t, tc.wantReservation, r != nil)
			assert.Equal(t, tc.wantDowngradeTo, d.DowngradeTo)
			want := "0"
			if tc.wantReservation {
				want = "0.5"
			}
			assertUSD(t, want, g.Status().Reserved)
		})
	}
}

func TestLocal_DowngradedRequestsKeepCountingPastTheLimit(t *testing.T) {
	g := newGate(t, downgradeAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	spend(t, g, "10")
	for range 3 {
		r, d := g.Reserve(usd("2"))
		require.Equal(t, Downgrade, d.Action)
		r.Settle(usd("0.25"))
	}
	st := g.Status()
	assertUSD(t, "10.75", st.Spent, "what the cheaper model cost is spend too")
	assertUSD(t, "0", st.Remaining)
	assert.Equal(t, StateExhausted, st.State)
}

func TestLocal_AllowedDecisionsDoNotNameADowngrade(t *testing.T) {
	g := newGate(t, downgradeAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	_, d := g.Reserve(usd("1"))
	assert.Equal(t, Allow, d.Action)
	assert.Nil(t, d.DowngradeTo)
}

func TestLocal_ReservationsInFlightCountTowardTheLimit(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	big, d := g.Reserve(usd("6"))
	require.Equal(t, Allow, d.Action)
	last, d := g.Reserve(usd("4"))
	require.Equal(t, Allow, d.Action, "6 reserved is below the limit of 10")
	assertUSD(t, "6", d.Reserved, "the decision shows what others hold")

	_, d = g.Reserve(usd("0.01"))
	assert.Equal(t, Block, d.Action, "6 + 4 reserved reaches the limit")
	assert.Equal(t, StateExhausted, d.State)
	assertUSD(t, "10", d.Reserved)
	st := g.Status()
	assert.Equal(t, StateOk, st.State, "status reports money spent, not money promised")
	assertUSD(t, "10", st.Remaining)
	assertUSD(t, "10", st.Reserved)

	require.True(t, last.Release())
	_, d = g.Reserve(usd("0.01"))
	assert.Equal(t, Allow, d.Action, "a released reservation frees its budget")

	require.True(t, big.Settle(usd("1.5")))
	st = g.Status()
	assertUSD(t, "1.5", st.Spent, "settling charges the actual cost")
	assertUSD(t, "0.01", st.Reserved, "and gives back the maximum it held")
}

func TestLocal_AdmitsARequestOnlyWhenWhatRemainsCoversIt(t *testing.T) {
	cases := map[string]struct {
		limit    string
		maxCosts []string // reserved in turn until one is refused
	}{
		"equal requests": {
			limit: "10", maxCosts: []string{"3", "3", "3", "3", "3", "3"},
		},
		"a large request admitted last": {
			limit: "10", maxCosts: []string{"1", "2", "6.5", "7", "1"},
		},
		"micro amounts": {
			limit: "0.000010", maxCosts: []string{"0.000003", "0.000003", "0.000003", "0.000003", "0.000003"},
		},
		"exactly the limit": {
			limit: "10", maxCosts: []string{"4", "6", "0.000001"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := newGate(t, blockAt(tc.limit), newClock(utc(2025, 5, 14, 12, 0, 0)))
			var admitted []*Reservation
			var refused proxyconfig.USD
			for _, c := range tc.maxCosts {
				r, d := g.Reserve(usd(c))
				if d.Action == Block {
					assert.Equal(t, StateExhausted, d.State)
					refused = usd(c)
					break
				}
				admitted = append(admitted, r)
			}
			require.True(t, refused.IsPositive(), "the test needs a refusal")
			for _, r := range admitted {
				r.Settle(r.MaxCost()) // the worst case: every request costs its maximum
			}
			spent := g.Status().Spent
			assert.True(t, spent.LessThanOrEqual(usd(tc.limit)), "spent %s overshoots %s", spent, tc.limit)
			assert.True(t, usd(tc.limit).Sub(spent).LessThan(refused),
				"the refused request, of up to %s, would have fitted in what remained of %s after %s", refused, tc.limit, spent)
		})
	}
}

func TestLocal_CrossingsAreReportedOncePerPeriod(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	type flags struct{ soft, exhausted bool }
	reserve := func() (State, flags) {
		r, d := g.Reserve(usd("0"))
		r.Release()
		return d.State, flags{d.FirstSoftCrossing, d.FirstExhausted}
	}

	spend(t, g, "7")
	state, f := reserve()
	assert.Equal(t, StateOk, state)
	assert.Equal(t, flags{}, f, "below the soft limit nothing is crossed")

	spend(t, g, "1.5")
	state, f = reserve()
	assert.Equal(t, StateSoftLimit, state)
	assert.Equal(t, flags{soft: true}, f, "the first decision past the soft limit reports it")
	state, f = reserve()
	assert.Equal(t, StateSoftLimit, state)
	assert.Equal(t, flags{}, f, "later decisions do not")

	spend(t, g, "1.5")
	state, f = reserve()
	assert.Equal(t, StateExhausted, state)
	assert.Equal(t, flags{exhausted: true}, f, "the first exhausted decision reports exhaustion, not the soft limit again")
	_, f = reserve()
	assert.Equal(t, flags{}, f)
}

func TestLocal_JumpingStraightToExhaustedReportsBothCrossings(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	spend(t, g, "25")
	_, d := g.Reserve(usd("1"))
	assert.Equal(t, StateExhausted, d.State)
	assert.True(t, d.FirstSoftCrossing, "the soft limit was crossed on the way")
	assert.True(t, d.FirstExhausted)
}
