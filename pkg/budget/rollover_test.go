package budget

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestLocal_SpendResetsWhenAPeriodEnds(t *testing.T) {
	cases := map[string]struct {
		period     proxyconfig.BudgetPeriod
		before     time.Time // when the budget is spent
		after      time.Time // a moment later
		wantReset  bool
		wantPeriod time.Time // the period start at after
	}{
		"daily at midnight UTC": {
			period: proxyconfig.Daily, before: utc(2025, 3, 9, 23, 59, 59), after: utc(2025, 3, 10, 0, 0, 0),
			wantReset: true, wantPeriod: utc(2025, 3, 10, 0, 0, 0),
		},
		"daily within the day": {
			period: proxyconfig.Daily, before: utc(2025, 3, 9, 0, 0, 0), after: utc(2025, 3, 9, 23, 59, 59),
			wantReset: false, wantPeriod: utc(2025, 3, 9, 0, 0, 0),
		},
		"daily into a leap day": {
			period: proxyconfig.Daily, before: utc(2028, 2, 28, 23, 59, 59), after: utc(2028, 2, 29, 0, 0, 0),
			wantReset: true, wantPeriod: utc(2028, 2, 29, 0, 0, 0),
		},
		"weekly from Sunday night to Monday": {
			period: proxyconfig.Weekly, before: utc(2025, 8, 3, 23, 59, 59), after: utc(2025, 8, 4, 0, 0, 0),
			wantReset: true, wantPeriod: utc(2025, 8, 4, 0, 0, 0),
		},
		"weekly from Monday to Sunday": {
			period: proxyconfig.Weekly, before: utc(2025, 7, 28, 0, 0, 0), after: utc(2025, 8, 3, 23, 59, 59),
			wantReset: false, wantPeriod: utc(2025, 7, 28, 0, 0, 0),
		},
		"monthly from Jan 31 to Feb 1": {
			period: proxyconfig.Monthly, before: utc(2025, 1, 31, 23, 59, 59), after: utc(2025, 2, 1, 0, 0, 0),
			wantReset: true, wantPeriod: utc(2025, 2, 1, 0, 0, 0),
		},
		"monthly from Dec 31 to Jan 1": {
			period: proxyconfig.Monthly, before: utc(2024, 12, 31, 23, 59, 59), after: utc(2025, 1, 1, 0, 0, 0),
			wantReset: true, wantPeriod: utc(2025, 1, 1, 0, 0, 0),
		},
		"monthly from Feb 28 to the leap day": {
			period: proxyconfig.Monthly, before: utc(2028, 2, 28, 23, 59, 59), after: utc(2028, 2, 29, 0, 0, 0),
			wantReset: false, wantPeriod: utc(2028, 2, 1, 0, 0, 0),
		},
		"monthly from the leap day to Mar 1": {
			period: proxyconfig.Monthly, before: utc(2028, 2, 29, 23, 59, 59), after: utc(2028, 3, 1, 0, 0, 0),
			wantReset: true, wantPeriod: utc(2028, 3, 1, 0, 0, 0),
		},
		"monthly across several idle months": {
			period: proxyconfig.Monthly, before: utc(2025, 1, 15, 0, 0, 0), after: utc(2025, 6, 15, 0, 0, 0),
			wantReset: true, wantPeriod: utc(2025, 6, 1, 0, 0, 0),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := blockAt("10")
			s.Period = tc.period
			clock := newClock(tc.before)
			g := newGate(t, s, clock)
			spend(t, g, "9")
			_, d := g.Reserve(usd("1"))
			require.True(t, d.FirstSoftCrossing)

			clock.Set(tc.after)
			st := g.Status()
			assert.Equal(t, tc.wantPeriod, st.PeriodStart)
			assert.Equal(t, PeriodEnd(tc.period, tc.after), st.ResetAt)
			_, d = g.Reserve(usd("0.5"))
			if tc.wantReset {
				assertUSD(t, "0", st.Spent)
				assert.Equal(t, StateOk, st.State)
				assert.Equal(t, Allow, d.Action)
				spend(t, g, "8")
				_, d = g.Reserve(usd("0.5"))
				assert.True(t, d.FirstSoftCrossing, "the soft limit is reported again in the new period")
			} else {
				assertUSD(t, "9", st.Spent)
				assert.Equal(t, Block, d.Action, "9 spent + 1 reserved leaves nothing")
				assert.False(t, d.FirstSoftCrossing, "the crossing was reported already this period")
			}
		})
	}
}

func TestLocal_AClockOutsideUTCUsesUTCBoundaries(t *testing.T) {
	kiritimati := time.FixedZone("UTC+14", 14*60*60)
	s := blockAt("10")
	s.Period = proxyconfig.Weekly
	// Monday 01:00 in UTC+14 is Sunday 11:00 UTC: still last week.
	clock := newClock(time.Date(2025, 8, 4, 1, 0, 0, 0, kiritimati))
	g := newGate(t, s, clock)
	spend(t, g, "10")
	assert.Equal(t, utc(2025, 7, 28, 0, 0, 0), g.Status().PeriodStart)

	clock.Set(time.Date(2025, 8, 4, 13, 59, 59, 0, kiritimati))
	assert.Equal(t, StateExhausted, g.Status().State, "Sunday 23:59:59 UTC is still last week")

	clock.Set(time.Date(2025, 8, 4, 14, 0, 0, 0, kiritimati))
	st := g.Status()
	assert.Equal(t, StateOk, st.State, "Monday 00:00 UTC starts a week")
	assert.Equal(t, utc(2025, 8, 4, 0, 0, 0), st.PeriodStart)
	assert.Equal(t, time.UTC, st.PeriodStart.Location())
}

func TestLocal_ARequestInFlightAtRolloverSettlesIntoTheNewPeriod(t *testing.T) {
	clock := newClock(utc(2025, 1, 31, 23, 59, 0))
	g := newGate(t, blockAt("10"), clock)
	spend(t, g, "4")
	r, d := g.Reserve(usd("5"))
	require.Equal(t, Allow, d.Action)

	clock.Set(utc(2025, 2, 1, 0, 0, 30))
	st := g.Status()
	assertUSD(t, "0", st.Spent, "January's spend stays in January")
	assertUSD(t, "5", st.Reserved, "the request in flight still holds its maximum")
	_, d = g.Reserve(usd("1"))
	assertUSD(t, "5", d.Reserved, "and counts against February's admissions")

	require.True(t, r.Settle(usd("3")))
	st = g.Status()
	assertUSD(t, "3", st.Spent, "its cost counts in February, when it was paid")
	assertUSD(t, "1", st.Reserved)
}

func TestLocal_SettlingAfterRolloverResetsSpendFirst(t *testing.T) {
	// No Reserve or Status call sees the new period before the settle.
	clock := newClock(utc(2025, 3, 9, 23, 0, 0))
	s := blockAt("10")
	s.Period = proxyconfig.Daily
	g := newGate(t, s, clock)
	spend(t, g, "6")
	r, _ := g.Reserve(usd("2"))

	clock.Set(utc(2025, 3, 10, 1, 0, 0))
	r.Settle(usd("2"))
	st := g.Status()
	assertUSD(t, "2", st.Spent)
	assert.Equal(t, utc(2025, 3, 10, 0, 0, 0), st.PeriodStart)
}

func TestLocal_AClockSteppingBackDoesNotReopenAPeriod(t *testing.T) {
	clock := newClock(utc(2025, 1, 31, 23, 59, 59))
	g := newGate(t, blockAt("10"), clock)
	clock.Set(utc(2025, 2, 1, 0, 0, 1))
	spend(t, g, "10")

	clock.Set(utc(2025, 1, 31, 23, 59, 58)) // e.g. an NTP correction
	_, d := g.Reserve(usd("1"))
	assert.Equal(t, Block, d.Action, "February's spend is not forgotten")
	assert.Equal(t, utc(2025, 2, 1, 0, 0, 0), d.PeriodStart)

	clock.Set(utc(2025, 2, 1, 0, 0, 2))
	assert.Equal(t, StateExhausted, g.Status().State, "and back in February it is still spent")
}
