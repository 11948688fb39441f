package cli

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toy are the settings of a benchmark that counts pods.
type toy struct {
	Common
	Pods int
	Wait time.Duration
}

func (o toy) Validate() error {
	if o.Pods <= 0 {
		return errors.New("-pods must be positive")
	}
	return nil
}

var toyCommand = Command[toy]{
	Name:       "toy-bench",
	About:      "Counts pods.",
	QuickUsage: "smoke run",
	Defaults: func() toy {
		return toy{Common: Common{Repo: ".", Out: "results/toy.json"}, Pods: 1000, Wait: time.Minute}
	},
	Quick:  func(o *toy) { o.Pods, o.Wait = 10, time.Second },
	Common: func(o *toy) *Common { return &o.Common },
	Flags: func(fs *flag.FlagSet, o *toy) {
		fs.IntVar(&o.Pods, "pods", o.Pods, "pods to count")
		fs.DurationVar(&o.Wait, "wait", o.Wait, "wait between two counts")
	},
}

func TestParse_WithoutQuickAFlagGivenOverAFullRunsDefaults(t *testing.T) {
	o, err := toyCommand.Parse([]string{"-wait", "5s"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, toy{Common: Common{Repo: ".", Out: "results/toy.json"}, Pods: 1000, Wait: 5 * time.Second}, o)
}

func TestParse_QuickShortensWhatNoFlagSetsWhereverTheFlagsStand(t *testing.T) {
	tests := map[string][]string{
		"a flag before -quick": {"-pods", "50", "-quick"},
		"a flag after -quick":  {"-quick", "-pods", "50"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := toyCommand.Parse(args, io.Discard)
			require.NoError(t, err)
			assert.True(t, o.Quick)
			assert.Equal(t, 50, o.Pods, "an explicit flag wins over -quick")
			assert.Equal(t, time.Second, o.Wait, "-quick's wait")
		})
	}
}

func TestParse_QuickFalseIsAFullRun(t *testing.T) {
	o, err := toyCommand.Parse([]string{"-quick=false"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, toyCommand.Defaults(), o)
}

func TestParse_SaysWhatIsWrong(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"an argument that is no flag":   {args: []string{"quick"}, wantErr: `unexpected argument "quick": every setting is a flag, see -help`},
		"a flag it does not have":       {args: []string{"-rates", "1"}, wantErr: "flag provided but not defined: -rates"},
		"settings that do not validate": {args: []string{"-pods", "0"}, wantErr: "-pods must be positive"},
		"the same, under -quick":        {args: []string{"-quick", "-pods", "0"}, wantErr: "-pods must be positive"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := toyCommand.Parse(tc.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestParse_HelpSaysWhatTheBenchmarkMeasuresAndItsFlags(t *testing.T) {
	var stderr bytes.Buffer
	_, err := toyCommand.Parse([]string{"-quick", "-help"}, &stderr)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, stderr.String(), "Usage: toy-bench [flags]\n\nCounts pods.\n\nFlags:\n")
	assert.Contains(t, stderr.String(), "pods to count (default 1000)", "a full run's defaults")
	assert.Contains(t, stderr.String(), "-out file\n    \tfile to write the JSON report to (\"\": none) (default \"results/toy.json\")")
}
