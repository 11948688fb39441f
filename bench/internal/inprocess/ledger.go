package inprocess

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"tollgate.dev/tollgate/internal/sidecar"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// ledger is a budget ledger that grants every sidecar more allowance than
// a benchmark spends, so that requests are admitted on the allowance the
// sidecar holds, as in production: no call to the ledger per request, the
// reports in the background. It speaks ledgerapi over TLS on 127.0.0.1;
// it authenticates nobody and keeps nothing.
type ledger struct {
	srv *httptest.Server

	mu    sync.Mutex // guards acked
	acked uint64
}

// allowance is what the ledger grants, whatever the sidecar spent.
var allowance = ledgerapi.NewAmount(proxyconfig.MustUSD("1000000"))

func startLedger() *ledger {
	l := &ledger{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ledgerapi.SyncPath, l.sync)
	mux.HandleFunc("GET "+ledgerapi.BundlePath, func(w http.ResponseWriter, r *http.Request) {
		// No bundle to push: the sidecar reads its policy file.
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
		w.WriteHeader(http.StatusNotModified)
	})
	l.srv = httptest.NewUnstartedServer(mux)
	// The sidecar's syncs cut short when a benchmark's stack stops would
	// log TLS errors into the benchmark's output.
	l.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	l.srv.StartTLS()
	return l
}

func (l *ledger) sync(w http.ResponseWriter, r *http.Request) {
	var req ledgerapi.SyncRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	if req.Batch != nil {
		l.acked = max(l.acked, req.Batch.Seq)
	}
	acked := l.acked
	l.mu.Unlock()
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC) // the policy's Monthly period
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ledgerapi.SyncReply{
		Acked: acked, PeriodStart: start, PeriodEnd: start.AddDate(0, 1, 0),
		Allowance: allowance, Target: allowance, LeaseSeconds: 600, SyncSeconds: 1, CommitMillis: 100,
		State: "Ok", Limit: allowance,
	})
}

// options are the sidecar's ledger settings for l, with its CA
// certificate and a token written into dir.
func (l *ledger) options(dir string) (sidecar.LedgerOptions, error) {
	ca := filepath.Join(dir, "ledger-ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.srv.Certificate().Raw})
	if err := os.WriteFile(ca, cert, 0o600); err != nil {
		return sidecar.LedgerOptions{}, err
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("bench-token"), 0o600); err != nil {
		return sidecar.LedgerOptions{}, err
	}
	state := filepath.Join(dir, "ledger-state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return sidecar.LedgerOptions{}, err
	}
	return sidecar.LedgerOptions{
		URLs: []string{l.srv.URL}, CAFile: ca, TokenFile: token, StateDir: state, PodUID: "bench-pod",
		Unreachable: string(proxyconfig.LedgerBlock), Interval: time.Second,
	}, nil
}

func (l *ledger) close() { l.srv.Close() }
