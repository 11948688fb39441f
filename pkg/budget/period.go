package budget

import (
	"time"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// PeriodStart is when the period of kind p that contains now began, in UTC:
// 00:00 UTC of now's UTC day (Daily), of the Monday on or before it
// (Weekly), or of the first of its month (Monthly). The location of now
// does not matter. An unknown p is treated as Monthly, the API default.
func PeriodStart(p proxyconfig.BudgetPeriod, now time.Time) time.Time {
	now = now.UTC()
	y, m, d := now.Date()
	switch p {
	case proxyconfig.Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case proxyconfig.Weekly:
		sinceMonday := (int(now.Weekday()) + 6) % 7 // time.Sunday is 0
		return time.Date(y, m, d-sinceMonday, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
}

// PeriodEnd is when the period of kind p that contains now ends, in UTC:
// the start of the next period, when spend resets.
func PeriodEnd(p proxyconfig.BudgetPeriod, now time.Time) time.Time {
	start := PeriodStart(p, now)
	switch p {
	case proxyconfig.Daily:
		return start.AddDate(0, 0, 1)
	case proxyconfig.Weekly:
		return start.AddDate(0, 0, 7)
	default:
		return start.AddDate(0, 1, 0) // from the 1st, so no month-length overflow
	}
}
