package report

import "fmt"

// Units of table rows. A row's unit is written into the JSON as it stands
// here and says how Cell shows the row's values.
const (
	// UnitMillis is milliseconds, to three significant digits.
	UnitMillis = "ms"
	// UnitBound is an upper bound in milliseconds from a histogram bucket;
	// a negative value, -b, says beyond the last bound, b.
	UnitBound = "≤ ms"
	// UnitMicros is whole microseconds.
	UnitMicros = "µs"
	// UnitSeconds is seconds, to the millisecond.
	UnitSeconds = "s"
	// UnitRequestsPerSec is whole requests per second.
	UnitRequestsPerSec = "req/s"
	// UnitPerSec is events per second, with two decimals below ten.
	UnitPerSec = "/s"
	// UnitCores is CPU time over wall time.
	UnitCores = "cores"
	// UnitMiB is mebibytes, to a tenth.
	UnitMiB = "MiB"
	// UnitKiB is whole kibibytes.
	UnitKiB = "KiB"
	// UnitCount is a whole number of things.
	UnitCount = "count"
	// UnitYesNo is 1 for yes and 0 for no.
	UnitYesNo = "yes/no"
)

// Cell shows v, a value of unit, in a table; a nil v is a cell that does
// not apply, a dash.
func Cell(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	switch unit {
	case UnitMillis:
		return Millis(*v)
	case UnitBound:
		if *v < 0 {
			return "> " + Millis(-*v)
		}
		return "≤ " + Millis(*v)
	case UnitMicros:
		return fmt.Sprintf("%.0f µs", *v)
	case UnitSeconds:
		return fmt.Sprintf("%.3f s", *v)
	case UnitRequestsPerSec, UnitCount:
		return fmt.Sprintf("%.0f", *v)
	case UnitPerSec:
		if *v < 10 {
			return fmt.Sprintf("%.2f", *v)
		}
		return fmt.Sprintf("%.0f", *v)
	case UnitCores:
		return fmt.Sprintf("%.2f", *v)
	case UnitMiB:
		return fmt.Sprintf("%.1f MiB", *v)
	case UnitKiB:
		return fmt.Sprintf("%.0f KiB", *v)
	case UnitYesNo:
		return yesNo(*v == 1)
	default:
		return fmt.Sprintf("%g", *v)
	}
}

// Millis shows a duration in milliseconds to three significant digits,
// down to microseconds.
func Millis(ms float64) string {
	switch abs := max(ms, -ms); {
	case abs >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case abs >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	case abs >= 1:
		return fmt.Sprintf("%.2f ms", ms)
	default:
		return fmt.Sprintf("%.3f ms", ms)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
