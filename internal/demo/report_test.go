package demo

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOutcome(t *testing.T) {
	passed := func(n int) result { return result{number: n, title: "step", outcome: markPassed} }
	failed := func(n int, why string) result {
		return result{number: n, title: "step", outcome: markFailed, observed: why}
	}
	skipped := func(n int) result { return result{number: n, title: "step", outcome: markSkipped, observed: "skipped"} }
	tests := map[string]struct {
		results     []result
		interrupted error
		wantErr     []string // each must be in the error; none means no error
	}{
		"every step passed": {
			results: []result{passed(1), passed(2), passed(3)},
		},
		"a failed step is named with why": {
			results: []result{passed(1), failed(2, "no 429"), passed(3)},
			wantErr: []string{"step 2 (step): no 429"},
		},
		"a failed cleanup fails the demo": {
			results: []result{passed(1), failed(2, "port still open")},
			wantErr: []string{"step 2 (step): port still open"},
		},
		"an interruption names the step it stopped": {
			results:     []result{passed(1), failed(2, "context canceled"), skipped(3), passed(4)},
			interrupted: context.Canceled,
			wantErr:     []string{"interrupted during step 2"},
		},
		"an interruption between steps still fails the demo": {
			results:     []result{passed(1), passed(2)},
			interrupted: context.Canceled,
			wantErr:     []string{"interrupted"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := outcome(tc.results, tc.interrupted)
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestWriteTable_OneRowPerStepWithItsOutcomeFirst(t *testing.T) {
	var out strings.Builder
	require.NoError(t, writeTable(&out, []result{
		{number: 1, title: "control plane up", expected: "it answers", observed: "it answered", outcome: markPassed},
		{number: 2, title: "budget exhausted", expected: "HTTP 429", observed: "HTTP 200\nand more", outcome: markFailed},
	}))
	lines := strings.Split(strings.Trim(out.String(), "\n"), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^\s+#\s+step\s+expected\s+observed\s+time$`, lines[0])
	assert.Regexp(t, `^✓\s+1\s+control plane up\s+it answers\s+it answered\s+0s$`, lines[1])
	assert.Regexp(t, `^✗\s+2\s+budget exhausted\s+HTTP 429\s+HTTP 200\s+0s$`, lines[2], "only the first line of what happened")
}
