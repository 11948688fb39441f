package cli

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLists_ReadCommaSeparatedValuesAndShowThemBack(t *testing.T) {
	var ints []int
	var durations []time.Duration
	var words []string
	tests := map[string]struct {
		flag flag.Value
		in   string
		want any
		got  func() any
		show string
	}{
		"whole numbers, spaces allowed": {flag: Ints(&ints), in: "200, 500,1000", want: []int{200, 500, 1000}, got: func() any { return ints }, show: "200,500,1000"},
		"durations, a bare 0 is zero":   {flag: Durations(&durations), in: "0,20ms", want: []time.Duration{0, 20 * time.Millisecond}, got: func() any { return durations }, show: "0s,20ms"},
		"words, each once":              {flag: Words(&words), in: "lean, sidecar,,lean", want: []string{"lean", "sidecar"}, got: func() any { return words }, show: "lean,sidecar"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, tc.flag.Set(tc.in))
			assert.Equal(t, tc.want, tc.got())
			assert.Equal(t, tc.show, tc.flag.String())
		})
	}
}

func TestLists_SayWhatIsNotAValue(t *testing.T) {
	var ints []int
	var durations []time.Duration
	require.EqualError(t, Ints(&ints).Set("200,fast"), `"fast" is not a whole number`)
	require.EqualError(t, Durations(&durations).Set("20"), `"20" is not a duration such as 20ms`)
}
