package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo_EveryStepBehavesAndEverythingIsCleanedUp runs `make demo` as CI
// would: the binaries built with the race detector, the narration in the
// test log.
func TestDemo_EveryStepBehavesAndEverythingIsCleanedUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out := &lineWriter{emit: func(line string) { t.Log(line) }}
	defer out.flush()

	err := Run(ctx, out, Options{Race: true})
	require.NoError(t, err)
}

// lineWriter hands each line written to emit, e.g. to t.Log.
type lineWriter struct {
	emit    func(string)
	pending string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending += string(p)
	for {
		line, rest, ok := strings.Cut(w.pending, "\n")
		if !ok {
			return len(p), nil
		}
		w.emit(line)
		w.pending = rest
	}
}

func (w *lineWriter) flush() {
	if w.pending != "" {
		w.emit(w.pending)
		w.pending = ""
	}
}

// TestDemo_AFailedStepFailsTheDemoSkipsWhatNeedsItAndStillCleansUp makes
// the operator step fail (no binaries where BinDir says) after the
// control plane started.
func TestDemo_AFailedStepFailsTheDemoSkipsWhatNeedsItAndStillCleansUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out strings.Builder

	err := Run(ctx, &out, Options{BinDir: t.TempDir()})
	t.Log(out.String())
	require.ErrorContains(t, err, "step 2 (operator running & ready): no operator binary")
	assert.Contains(t, out.String(), "skipped: step 2 failed")
	assert.Regexp(t, `(?m)^✓\s+1\s+control plane`, out.String())
	assert.Regexp(t, `(?m)^-\s+10\s+policy edit hot-reloaded`, out.String())
	assert.Regexp(t, `(?m)^✓\s+11\s+cleanup\s+.*stopped mock, apiserver, etcd`, out.String(), "the control plane was stopped")
}
