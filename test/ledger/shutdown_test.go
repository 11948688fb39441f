package ledgere2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	operatorledger "tollgate.dev/tollgate/internal/operator/ledger"
	sidecarledger "tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// TestBudget_ASidecarStoppedMidSyncWarnsOfNothing stops a sidecar while
// its sync waits for the ledger's next status write: neither the sidecar
// nor the ledger takes the canceled sync for a failure, and the sidecar
// still reports what it spent before it exits. Then a sync is given up on
// by its client, as a sidecar gives one up when it sends it again with
// more: the ledger counts it canceled, and logs nothing.
func TestBudget_ASidecarStoppedMidSyncWarnsOfNothing(t *testing.T) {
	mock := startMock(t)
	var mu sync.Mutex
	var ledgerLog []string
	op := startLedger(t, func(o *operatorledger.Options) {
		// Long enough for a sync to be caught waiting for the write.
		o.Commit = 500 * time.Millisecond
		o.Log = funcr.New(func(prefix, args string) {
			mu.Lock()
			defer mu.Unlock()
			ledgerLog = append(ledgerLog, args)
		}, funcr.Options{})
	})
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "stop", "1000", mock.URL()))
	core, logs := observer.New(zapcore.InfoLevel)
	var results []string
	p := createPod(t, ns, "chat-1", "chat")
	s := startSidecar(t, []string{op.url}, op.caFile, p, policy, "", func(o *sidecarledger.Options) {
		o.Log = zap.New(core)
		o.Observe = func(result string, _ proxyconfig.USD) {
			mu.Lock()
			defer mu.Unlock()
			results = append(results, result)
		}
	})
	status, reason := s.chat(t)
	require.Equal(t, http.StatusOK, status, reason)
	require.Eventually(t, func() bool { return s.ledger.View()["unacknowledgedBatch"] != nil }, 5*time.Second, time.Millisecond,
		"the batch of the request's spend is sent, and waits for the ledger's next status write")
	canceled := ledgerSyncs(t, "canceled")
	s.stop()
	requireSpent(t, ns, "stop", unitCost)

	// A sync given up on while it waits for the status write.
	c := ledgerClient(t, op.caFile)
	period := time.Date(time.Now().UTC().Year(), time.Now().UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	body := fmt.Sprintf(`{"podUID":%q,"epoch":"raw","policy":"stop","batch":{"seq":1,"periods":[{"start":%q,"spent":"0.007","requests":1,"unverified":"0","released":"0"}]},"need":"0"}`,
		p.uid, period.Format(time.RFC3339))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, op.url+ledgerapi.SyncPath, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+readToken(t, p.tokenFile))
	resp, err := c.Do(req)
	if err == nil {
		// The ledger saw the cancel in time to answer it: not with a 200.
		_, _ = ioCopy(resp)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a canceled sync is answered as not durable")
	} else {
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	requireSpent(t, ns, "stop", unitCost.Mul(decimal.NewFromInt(2)))
	// The stopped sidecar's sync counts too, unless its write came in the
	// instant before the stop.
	require.Eventually(t, func() bool { return ledgerSyncs(t, "canceled") > canceled }, 5*time.Second, 5*time.Millisecond,
		"the ledger counts the raw sync canceled")

	for _, e := range logs.All() {
		if e.Level >= zapcore.WarnLevel {
			t.Errorf("the sidecar logged at %s: %s %v", e.Level, e.Message, e.ContextMap())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	assert.NotContains(t, results, "unreachable", "a canceled sync is no failure to reach the ledger")
	assert.Contains(t, strings.Join(ledgerLog, "\n"), "budget ledger serving", "the ledger's log was captured")
	for _, l := range ledgerLog {
		assert.NotContains(t, l, "not served", "the ledger logged: %s", l)
		assert.NotContains(t, l, `"error"=`, "the ledger logged: %s", l)
	}
}

// ledgerSyncs is the in-process ledger's tollgate_ledger_syncs_total of
// result, from controller-runtime's registry (zero before the first).
func ledgerSyncs(t *testing.T, result string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "tollgate_ledger_syncs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
