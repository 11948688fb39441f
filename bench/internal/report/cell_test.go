package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCell_ShowsEachUnitAsTheTablesPrintIt(t *testing.T) {
	tests := map[string]struct {
		v    *float64
		unit string
		want string
	}{
		"a cell that does not apply":           {v: nil, unit: UnitMillis, want: "—"},
		"milliseconds to three digits":         {v: val(12.345), unit: UnitMillis, want: "12.3 ms"},
		"a fraction of a millisecond":          {v: val(0.25), unit: UnitMillis, want: "0.250 ms"},
		"a negative added latency":             {v: val(-1.5), unit: UnitMillis, want: "-1.50 ms"},
		"a histogram bucket's bound":           {v: val(2.5), unit: UnitBound, want: "≤ 2.50 ms"},
		"beyond the last bucket":               {v: val(-1), unit: UnitBound, want: "> 1.00 ms"},
		"whole microseconds":                   {v: val(149.6), unit: UnitMicros, want: "150 µs"},
		"seconds to the millisecond":           {v: val(0.62), unit: UnitSeconds, want: "0.620 s"},
		"whole requests per second":            {v: val(5.5), unit: UnitRequestsPerSec, want: "6"},
		"a slow rate with two decimals":        {v: val(5.5), unit: UnitPerSec, want: "5.50"},
		"a rate of ten or more, whole":         {v: val(483.2), unit: UnitPerSec, want: "483"},
		"cores":                                {v: val(0.3), unit: UnitCores, want: "0.30"},
		"mebibytes to a tenth":                 {v: val(96), unit: UnitMiB, want: "96.0 MiB"},
		"whole kibibytes":                      {v: val(200.4), unit: UnitKiB, want: "200 KiB"},
		"a count":                              {v: val(3), unit: UnitCount, want: "3"},
		"yes":                                  {v: val(1), unit: UnitYesNo, want: "yes"},
		"no":                                   {v: val(0), unit: UnitYesNo, want: "no"},
		"a unit of no table, in as few digits": {v: val(0.125), unit: "furlongs", want: "0.125"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, Cell(tc.v, tc.unit))
		})
	}
}
