package demo

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo_EveryStepBehavesAndEverythingIsCleanedUp runs `make demo` as CI
// would: the binaries built with the race detector, the narration in the
// test log. Beyond Run's own checks, it reads the narration of the shared
// budget as a user would: the figures it prints agree with each other.
func TestDemo_EveryStepBehavesAndEverythingIsCleanedUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var text strings.Builder
	out := &lineWriter{emit: func(line string) {
		t.Log(line)
		text.WriteString(line + "\n")
	}}

	err := Run(ctx, out, Options{Race: true})
	out.flush()
	require.NoError(t, err)
	narration := text.String()

	row := regexp.MustCompile(`(?m)^✓\s+9\s+one budget, two pods\s.*spent (\S+) = (\S+) \+ (\S+) in one status; then 429 for both`).FindStringSubmatch(narration)
	require.NotNil(t, row, "the table's row of the budget step")
	spent, app, worker := decimal.RequireFromString(row[1]), decimal.RequireFromString(row[2]), decimal.RequireFromString(row[3])
	assert.True(t, spent.Equal(app.Add(worker)), "%s = %s + %s", spent, app, worker)
	assert.True(t, app.IsPositive() && worker.IsPositive(), "both pods spent")
	assert.Regexp(t, `(?m)^\s+chat\s+True\s+Exhausted\s+`+regexp.QuoteMeta(row[1])+`\s+0\.05\s`, narration, "kubectl get llmpolicies prints the spend of both pods")
	assert.Contains(t, narration, "spent: "+row[1]+"\n", "status.budget.spent")
	assert.Contains(t, narration, "Pod/chat-app: "+row[2]+"\n", "topSpenders")
	assert.Contains(t, narration, "Pod/chat-worker: "+row[3]+"\n", "topSpenders")
	assert.Regexp(t, `request 3 via chat-app: HTTP 429 tollgate_budget_exhausted`, narration)
	assert.Regexp(t, `request 4 via chat-worker: HTTP 429 tollgate_budget_exhausted`, narration)
	for _, pod := range []string{"chat-app", "chat-worker"} {
		assert.Regexp(t, pod+`'s sidecar \(pid \d+, not restarted\): generation 2 from the budget ledger`, narration, "the edit reached %s through the ledger", pod)
	}
	assert.Regexp(t, `(?m)^✓\s+11\s+cleanup\s+.*stopped 2 sidecars, operator, mock, apiserver, etcd; 8 ports closed`, narration)
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
