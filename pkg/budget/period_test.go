package budget

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestPeriodStartAndEnd_AreUTCBoundaries(t *testing.T) {
	kiritimati := time.FixedZone("UTC+14", 14*60*60)
	honolulu := time.FixedZone("UTC-10", -10*60*60)
	cases := map[string]struct {
		period    proxyconfig.BudgetPeriod
		now       time.Time
		wantStart time.Time
		wantEnd   time.Time
	}{
		"daily: a day runs from midnight UTC": {
			proxyconfig.Daily, utc(2025, 3, 9, 13, 30, 0), utc(2025, 3, 9, 0, 0, 0), utc(2025, 3, 10, 0, 0, 0),
		},
		"daily: midnight itself starts the day": {
			proxyconfig.Daily, utc(2025, 3, 9, 0, 0, 0), utc(2025, 3, 9, 0, 0, 0), utc(2025, 3, 10, 0, 0, 0),
		},
		"daily: the last nanosecond belongs to the day": {
			proxyconfig.Daily, utc(2025, 3, 9, 23, 59, 59).Add(time.Second - 1), utc(2025, 3, 9, 0, 0, 0), utc(2025, 3, 10, 0, 0, 0),
		},
		"daily: a leap day is a day": {
			proxyconfig.Daily, utc(2028, 2, 29, 12, 0, 0), utc(2028, 2, 29, 0, 0, 0), utc(2028, 3, 1, 0, 0, 0),
		},
		"daily: Dec 31 ends at the new year": {
			proxyconfig.Daily, utc(2024, 12, 31, 23, 59, 59), utc(2024, 12, 31, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0),
		},
		"weekly: Sunday belongs to the week that began on Monday": {
			proxyconfig.Weekly, utc(2025, 8, 3, 23, 59, 59), utc(2025, 7, 28, 0, 0, 0), utc(2025, 8, 4, 0, 0, 0),
		},
		"weekly: Monday 00:00 starts a week": {
			proxyconfig.Weekly, utc(2025, 8, 4, 0, 0, 0), utc(2025, 8, 4, 0, 0, 0), utc(2025, 8, 11, 0, 0, 0),
		},
		"weekly: a week spans the new year": {
			proxyconfig.Weekly, utc(2025, 1, 1, 9, 0, 0), utc(2024, 12, 30, 0, 0, 0), utc(2025, 1, 6, 0, 0, 0),
		},
		"weekly: a week spans a leap day": {
			proxyconfig.Weekly, utc(2028, 3, 1, 9, 0, 0), utc(2028, 2, 28, 0, 0, 0), utc(2028, 3, 6, 0, 0, 0),
		},
		"monthly: Jan 31 ends on Feb 1": {
			proxyconfig.Monthly, utc(2025, 1, 31, 23, 59, 59), utc(2025, 1, 1, 0, 0, 0), utc(2025, 2, 1, 0, 0, 0),
		},
		"monthly: December ends at the new year": {
			proxyconfig.Monthly, utc(2024, 12, 31, 23, 59, 59), utc(2024, 12, 1, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0),
		},
		"monthly: February of a leap year includes the 29th": {
			proxyconfig.Monthly, utc(2028, 2, 29, 23, 59, 59), utc(2028, 2, 1, 0, 0, 0), utc(2028, 3, 1, 0, 0, 0),
		},
		"monthly: February of a common year ends after the 28th": {
			proxyconfig.Monthly, utc(2027, 2, 28, 12, 0, 0), utc(2027, 2, 1, 0, 0, 0), utc(2027, 3, 1, 0, 0, 0),
		},
		"an unknown period is monthly, the API default": {
			"", utc(2025, 5, 17, 8, 0, 0), utc(2025, 5, 1, 0, 0, 0), utc(2025, 6, 1, 0, 0, 0),
		},
		"daily: a clock east of UTC already in tomorrow is still in today UTC": {
			proxyconfig.Daily, time.Date(2025, 2, 1, 9, 0, 0, 0, kiritimati), utc(2025, 1, 31, 0, 0, 0), utc(2025, 2, 1, 0, 0, 0),
		},
		"weekly: Monday morning east of UTC is still last week UTC": {
			proxyconfig.Weekly, time.Date(2025, 8, 4, 13, 59, 59, 0, kiritimati), utc(2025, 7, 28, 0, 0, 0), utc(2025, 8, 4, 0, 0, 0),
		},
		"monthly: New Year's Eve west of UTC is already January UTC": {
			proxyconfig.Monthly, time.Date(2024, 12, 31, 14, 0, 0, 0, honolulu), utc(2025, 1, 1, 0, 0, 0), utc(2025, 2, 1, 0, 0, 0),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			start, end := PeriodStart(tc.period, tc.now), PeriodEnd(tc.period, tc.now)
			assert.Equal(t, tc.wantStart, start)
			assert.Equal(t, tc.wantEnd, end)
			assert.Equal(t, time.UTC, start.Location(), "boundaries are reported in UTC")
			assert.False(t, tc.now.Before(start), "now is before its period's start")
			assert.True(t, tc.now.Before(end), "now is not before its period's end")
		})
	}
}
