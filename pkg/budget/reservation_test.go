package budget

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReservation_SettlesOnlyOnce(t *testing.T) {
	cases := map[string]struct {
		first     func(*Reservation) bool
		then      func(*Reservation) bool
		wantSpent string
	}{
		"settle then settle charges the first amount": {
			first:     func(r *Reservation) bool { return r.Settle(usd("1.25")) },
			then:      func(r *Reservation) bool { return r.Settle(usd("3")) },
			wantSpent: "1.25",
		},
		"settle then release keeps the charge": {
			first:     func(r *Reservation) bool { return r.Settle(usd("1.25")) },
			then:      func(r *Reservation) bool { return r.Release() },
			wantSpent: "1.25",
		},
		"release then settle charges nothing": {
			first:     func(r *Reservation) bool { return r.Release() },
			then:      func(r *Reservation) bool { return r.Settle(usd("3")) },
			wantSpent: "0",
		},
		"release twice charges nothing": {
			first:     func(r *Reservation) bool { return r.Release() },
			then:      func(r *Reservation) bool { return r.Release() },
			wantSpent: "0",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
			r, _ := g.Reserve(usd("2"))
			require.NotNil(t, r)
			assert.True(t, tc.first(r), "the first call settles")
			assert.False(t, tc.then(r), "the second call does nothing")
			st := g.Status()
			assertUSD(t, tc.wantSpent, st.Spent)
			assertUSD(t, "0", st.Reserved, "the reservation is returned once, not twice")
		})
	}
}

func TestReservation_ChargesActualCostAboveTheEstimate(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	r, _ := g.Reserve(usd("0.5"))
	r.Settle(usd("0.75"))
	st := g.Status()
	assertUSD(t, "0.75", st.Spent)
	assertUSD(t, "0", st.Reserved)
}

func TestReservation_NegativeAmountsCountAsZero(t *testing.T) {
	g := newGate(t, blockAt("10"), newClock(utc(2025, 5, 14, 12, 0, 0)))
	r, _ := g.Reserve(usd("-3"))
	assertUSD(t, "0", r.MaxCost())
	assertUSD(t, "0", g.Status().Reserved)
	r.Settle(usd("-1"))
	assertUSD(t, "0", g.Status().Spent)
}

func TestReservation_NilIsANoOp(t *testing.T) {
	var r *Reservation
	assert.False(t, r.Settle(usd("1")))
	assert.False(t, r.Release())
	assertUSD(t, "0", r.MaxCost())
}
