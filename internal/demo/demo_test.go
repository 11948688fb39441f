package demo

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo_EveryStepBehavesAndEverythingIsCleanedUp runs `make demo KEEP=1`
// as CI would: the binaries built with the race detector, the narration in
// the test log. While the demo is kept running it uses what the narration
// says to use (the kubeconfig, a sidecar), then ends it as a user would,
// with Ctrl-C. Beyond Run's own checks, it reads the narration of the shared
// budget as a user would: the figures it prints agree with each other.
func TestDemo_EveryStepBehavesAndEverythingIsCleanedUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		text strings.Builder
	)
	kept := make(chan struct{})
	out := &lineWriter{emit: func(line string) {
		t.Log(line)
		mu.Lock()
		text.WriteString(line + "\n")
		mu.Unlock()
		if strings.Contains(line, "press Ctrl-C to stop everything") {
			close(kept)
		}
	}}

	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, out, Options{Race: true, Keep: true}) }()
	select {
	case <-kept:
		mu.Lock()
		narration := text.String()
		mu.Unlock()
		useKeptDemo(t, ctx, narration)
		interrupt() // Ctrl-C
	case err := <-done:
		require.NoError(t, err)
		t.Fatal("the demo ended without keeping its processes running")
	}
	err := <-done
	out.flush()
	require.NoError(t, err, "Ctrl-C ends a kept demo that behaved: not a failure")
	narration := text.String()

	row := regexp.MustCompile(`(?m)^✓\s+9\s+one budget, two pods\s.*spent (\S+) = (\S+) \+ (\S+) in one status; then 429 for both`).FindStringSubmatch(narration)
	require.NotNil(t, row, "the table's row of the budget step")
	spent, app, worker := decimal.RequireFromString(row[1]), decimal.RequireFromString(row[2]), decimal.RequireFromString(row[3])
	assert.True(t, spent.Equal(app.Add(worker)), "%s = %s + %s", spent, app, worker)
	assert.True(t, app.IsPositive() && worker.IsPositive(), "both pods spent")
	assert.Regexp(t, `(?m)^\s+chat\s+True\s+Enforce\s+Exhausted\s+`+regexp.QuoteMeta(row[1])+`\s+0\.05\s`, narration, "kubectl get llmpolicies prints the spend of both pods")
	assert.Contains(t, narration, "spent: "+row[1]+"\n", "status.budget.spent")
	assert.Contains(t, narration, "Pod/chat-app: "+row[2]+"\n", "topSpenders")
	assert.Contains(t, narration, "Pod/chat-worker: "+row[3]+"\n", "topSpenders")
	assert.Regexp(t, `chat-app's app \(openai-go\) got: request 3: HTTP 429 tollgate_budget_exhausted`, narration)
	assert.Regexp(t, `chat-worker's app \(openai-go\) got: request 4: HTTP 429 tollgate_budget_exhausted`, narration)
	// An app's result is a line of its own, never indented as the output of
	// the command above it (the mock's enqueue, say).
	assert.NotRegexp(t, `(?m)^      .*HTTP (200|429) (from|tollgate_)`, narration)
	for _, pod := range []string{"chat-app", "chat-worker"} {
		assert.Regexp(t, pod+`'s sidecar \(pid \d+, not restarted\): generation 2 from the budget ledger`, narration, "the edit reached %s through the ledger", pod)
	}
	assert.Regexp(t, `(?m)^✓\s+11\s+cleanup\s+.*stopped 2 sidecars, operator, mock, apiserver, etcd; 8 ports closed`, narration)
}

// useKeptDemo does what the kept demo's narration tells a user to do.
func useKeptDemo(t *testing.T, ctx context.Context, narration string) {
	t.Helper()
	_, kept, ok := strings.Cut(narration, "[kept running]")
	require.True(t, ok)
	kubeconfig := regexp.MustCompile(`\$ export KUBECONFIG=(\S+)`).FindStringSubmatch(kept)
	require.NotNil(t, kubeconfig, "the kept demo says which kubeconfig to use")
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	cmd := exec.CommandContext(ctx, kubectl, "-n", demoNamespace, "get", "llmpolicies,pods")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig[1])
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", got)
	assert.Contains(t, string(got), "chat-worker")

	call := regexp.MustCompile(`\$ curl -s (http://\S+/chat/completions) -H 'content-type: application/json' -d '([^']+)'   # chat-app's sidecar`).FindStringSubmatch(kept)
	require.NotNil(t, call, "the kept demo shows how to call a sidecar")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, call[1], strings.NewReader(call[2]))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
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
