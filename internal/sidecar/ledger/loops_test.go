package ledger

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// fakeLedger is a TLS ledger whose answers the test writes, and a Ledger
// that talks to it. It records when each request came.
type fakeLedger struct {
	t      *testing.T
	ledger *Ledger
	logs   *observer.ObservedLogs

	mu    sync.Mutex
	calls map[string][]time.Time
}

func newFakeLedger(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *fakeLedger {
	t.Helper()
	f := &fakeLedger{t: t, calls: map[string][]time.Time{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls[r.URL.Path] = append(f.calls[r.URL.Path], time.Now())
		n := len(f.calls[r.URL.Path])
		f.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	token := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(token, []byte("a-token"), 0o600))
	core, logs := observer.New(zap.InfoLevel)
	l, err := New(Options{URLs: []string{srv.URL}, CAFile: ca, TokenFile: token, StateDir: filepath.Join(dir, "state"), PodUID: "pod-1", Log: zap.New(core)})
	require.NoError(t, err)
	f.ledger, f.logs = l, logs
	return f
}

// times returns when the requests to path came.
func (f *fakeLedger) times(path string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls[path]...)
}

func refuse(w http.ResponseWriter) {
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(ledgerapi.Error{Code: "Unavailable", Message: "the test's ledger refuses"})
}

// serveBundle answers bundle hash h, or holds a long poll that already
// knows it until the client gives up.
func serveBundle(w http.ResponseWriter, r *http.Request, h string, bundle string) {
	if r.URL.Query().Get("known") == h {
		<-r.Context().Done()
		return
	}
	_ = json.NewEncoder(w).Encode(ledgerapi.BundleReply{Hash: h, Bundle: json.RawMessage(bundle)})
}

// runBundles runs RunBundles until the test ends, and returns what it
// applied.
func runBundles(t *testing.T, l *Ledger) <-chan string {
	applied := make(chan string, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.RunBundles(ctx, func(b []byte) { applied <- string(b) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return applied
}

func TestRunBundles_WaitsOutABackoffWhileTheLedgerRefuses(t *testing.T) {
	f := newFakeLedger(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			refuse(w)
			return
		}
		serveBundle(w, r, "h1", `{"policies":1}`)
	})
	applied := runBundles(t, f.ledger)

	select {
	case b := <-applied:
		assert.JSONEq(t, `{"policies":1}`, b)
	case <-time.After(20 * time.Second):
		t.Fatal("the bundle was never applied")
	}
	calls := f.times(ledgerapi.BundlePath)
	require.GreaterOrEqual(t, len(calls), 2)
	// The retry came after the first backoff (1s), not at once: a ledger
	// that refuses is not asked again in a tight loop.
	assert.GreaterOrEqual(t, calls[1].Sub(calls[0]), 900*time.Millisecond)
}

func TestRunBundles_AKickEndsTheBackoff(t *testing.T) {
	kicked := make(chan struct{})
	f := newFakeLedger(t, func(n int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-kicked:
			serveBundle(w, r, "h2", `{"policies":2}`)
		default:
			refuse(w)
		}
	})
	// Backoffs grow to 30s: let a few pass, so that the next wait is long.
	applied := runBundles(t, f.ledger)
	require.Eventually(t, func() bool { return len(f.times(ledgerapi.BundlePath)) >= 3 }, 20*time.Second, 10*time.Millisecond)
	close(kicked)
	f.ledger.bundleKick <- struct{}{} // what a sync reply naming a new bundle does

	select {
	case b := <-applied:
		assert.JSONEq(t, `{"policies":2}`, b)
	case <-time.After(3 * time.Second): // the wait it cut short was 4s
		t.Fatal("the kick did not end the backoff")
	}
}

func TestFlush_RetriesUntilTheLedgerTakesTheReport(t *testing.T) {
	f := newFakeLedger(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			refuse(w)
			return
		}
		now := time.Now().UTC()
		_ = json.NewEncoder(w).Encode(ledgerapi.SyncReply{PeriodStart: now.Add(-time.Hour), PeriodEnd: now.Add(time.Hour), State: "Ok",
			Limit: ledgerapi.NewAmount(proxyconfig.MustUSD("10")), SyncSeconds: 1, LeaseSeconds: 30})
	})
	f.ledger.Gate("chat", proxyconfig.Budget{Period: proxyconfig.Daily, Limit: proxyconfig.MustUSD("10"), SoftLimitPercent: 80})

	f.ledger.flush(10 * time.Second)

	assert.Len(t, f.times(ledgerapi.SyncPath), 3, "two refusals, then the report taken")
	assert.Zero(t, f.logs.FilterMessageSnippet("not reported").Len(), "nothing was left unreported")
}

func TestFlush_GivesUpAtItsLimitAndSaysWhereTheSpendStays(t *testing.T) {
	f := newFakeLedger(t, func(_ int, w http.ResponseWriter, _ *http.Request) { refuse(w) })
	f.ledger.Gate("chat", proxyconfig.Budget{Period: proxyconfig.Daily, Limit: proxyconfig.MustUSD("10"), SoftLimitPercent: 80})

	f.ledger.flush(500 * time.Millisecond)

	assert.Greater(t, len(f.times(ledgerapi.SyncPath)), 1, "it tried again within its limit")
	warned := f.logs.FilterMessageSnippet("spend not reported before shutdown").All()
	require.Len(t, warned, 1)
	assert.Equal(t, f.ledger.opts.StateDir, warned[0].ContextMap()["dir"])
}

func TestSync_APodTheLedgerHasNoPlaceForSaysSoAndAsksAgain(t *testing.T) {
	f := newFakeLedger(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(ledgerapi.Error{Code: ledgerapi.CodeFull, Message: "the budget ledger already follows 1000 pods under this policy"})
	})
	var results []string
	f.ledger.opts.Observe = func(result string, _ proxyconfig.USD) { results = append(results, result) }
	f.ledger.Gate("chat", proxyconfig.Budget{Period: proxyconfig.Daily, Limit: proxyconfig.MustUSD("10"), SoftLimitPercent: 80})

	require.Error(t, f.ledger.syncOnce(context.Background()))
	require.Error(t, f.ledger.syncOnce(context.Background()))

	assert.Equal(t, []string{ledgerapi.CodeFull, ledgerapi.CodeFull}, results, "tollgate_ledger_syncs_total{result=\"full\"}")
	warned := f.logs.FilterMessageSnippet("follows as many pods of this policy as it can").All()
	require.Len(t, warned, 1, "said once, not at every retry")
	assert.Contains(t, warned[0].ContextMap()["error"], "1000 pods")
	assert.Zero(t, f.logs.FilterMessageSnippet("not reached").Len(), "it was reached")
	assert.Greater(t, f.ledger.nextSync(), time.Duration(0), "it asks again")
}
