package ledgerbench

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse_DefaultsAreAThousandPodsOverOneAndTenPoliciesWithBothClients(t *testing.T) {
	o, err := command.Parse(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, Defaults(), o)
	assert.Equal(t, 1000, o.Pods)
	assert.Equal(t, []int{1, 10}, o.Policies)
	assert.Equal(t, []string{ClientLean, ClientSidecar}, o.Clients)
	assert.Equal(t, time.Second, o.Interval)
	assert.Equal(t, 2*time.Second, o.Commit, "the operator's default --ledger-commit-interval")
	assert.Equal(t, 60*time.Second, o.Duration)
}

func TestParse_QuickShortensWhatNoFlagSets(t *testing.T) {
	o, err := command.Parse([]string{"-quick", "-duration", "3s", "-clients", "lean,sidecar,lean", "-policies", "2"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 100, o.Pods, "-quick's pods")
	assert.Equal(t, 5*time.Second, o.Warmup, "-quick's warm-up")
	assert.Equal(t, 3*time.Second, o.Duration, "an explicit flag wins over -quick")
	assert.Equal(t, []string{ClientLean, ClientSidecar}, o.Clients, "each kind once")
	assert.Equal(t, []int{2}, o.Policies)
}

func TestParse_SaysWhatIsWrong(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"a policy count that is no number": {args: []string{"-policies", "1,ten"}, wantErr: `"ten" is not a whole number`},
		"more policies than pods":          {args: []string{"-pods", "5", "-policies", "6"}, wantErr: "6 is not between 1 and -pods (5)"},
		"an unknown client":                {args: []string{"-clients", "fast"}, wantErr: `"fast" is neither lean nor sidecar`},
		"no clients":                       {args: []string{"-clients", ""}, wantErr: "-clients needs at least one"},
		"a zero commit interval":           {args: []string{"-commit-interval", "0s"}, wantErr: "-commit-interval"},
		"no pods":                          {args: []string{"-pods", "0"}, wantErr: "-pods must be positive"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := command.Parse(tc.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
