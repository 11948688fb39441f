package harness

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/report"
)

func TestParse_DefaultsAreAFullRun(t *testing.T) {
	o, err := command.Parse(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, Defaults(), o)
	assert.Equal(t, []int{200, 500, 1000}, o.Rates)
	assert.Equal(t, 1000, o.Streams)
	assert.Equal(t, 64, o.Concurrency)
	assert.Equal(t, []time.Duration{0, 20 * time.Millisecond}, o.UpstreamLatencies)
}

func TestParse_QuickShortensWhatNoFlagSets(t *testing.T) {
	o, err := command.Parse([]string{"-quick", "-duration", "3s", "-rates", "50,100", "-upstream-latencies", "0,5ms"}, io.Discard)
	require.NoError(t, err)
	assert.True(t, o.Quick)
	assert.Equal(t, 3*time.Second, o.Duration, "an explicit flag wins over -quick")
	assert.Equal(t, 250*time.Millisecond, o.Warmup, "-quick's warm-up")
	assert.Equal(t, 20, o.StreamChunks, "-quick's shorter streams")
	assert.Equal(t, []int{50, 100}, o.Rates)
	assert.Equal(t, []time.Duration{0, 5 * time.Millisecond}, o.UpstreamLatencies)
}

func TestParse_SaysWhatIsWrong(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"a rate that is not a number": {args: []string{"-rates", "200,fast"}, wantErr: `"fast" is not a whole number`},
		"a negative rate":             {args: []string{"-rates", "-5"}, wantErr: "-5 is not a positive rate"},
		"a latency without a unit":    {args: []string{"-upstream-latencies", "20"}, wantErr: "is not a duration such as 20ms"},
		"no streams":                  {args: []string{"-streams", "0"}, wantErr: "-streams"},
		"a zero duration":             {args: []string{"-duration", "0s"}, wantErr: "-duration must be positive"},
		"a zero stall gap":            {args: []string{"-stall-gap", "0s"}, wantErr: "-stall-gap"},
		"zero rounds":                 {args: []string{"-rounds", "0"}, wantErr: "-rounds"},
		"a peer it does not know":     {args: []string{"-peer", "litellm"}, wantErr: `-peer: "litellm" is neither portkey nor none`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := command.Parse(tc.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestParse_NoPinTurnsPinningOff(t *testing.T) {
	o, err := command.Parse([]string{"-no-pin"}, io.Discard)
	require.NoError(t, err)
	assert.False(t, o.Pin)

	o, err = command.Parse([]string{"-no-pin=false"}, io.Discard)
	require.NoError(t, err)
	assert.True(t, o.Pin)
}

func TestParse_PeerIsPortkeyInAFullRunAndNoneInAQuickOneUnlessAsked(t *testing.T) {
	tests := map[string]struct {
		args     []string
		wantPeer string
	}{
		"a full run":               {args: nil, wantPeer: report.PeerPortkey},
		"a full run without":       {args: []string{"-peer", "none"}, wantPeer: report.PeerNone},
		"a quick run":              {args: []string{"-quick"}, wantPeer: report.PeerNone},
		"a quick run that asks":    {args: []string{"-quick", "-peer", "portkey"}, wantPeer: report.PeerPortkey},
		"asked before -quick, too": {args: []string{"-peer=portkey", "-quick"}, wantPeer: report.PeerPortkey},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := command.Parse(tc.args, io.Discard)
			require.NoError(t, err)
			assert.Equal(t, tc.wantPeer, o.Peer)
		})
	}
}
