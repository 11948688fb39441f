package ledgere2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/promtext"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// sidecarProcess is the sidecar binary of one pod, with the ledger.
type sidecarProcess struct {
	t       *testing.T
	args    []string
	process *proc.Process
	url     string
	admin   string
}

// policyFile writes the standalone policy the sidecar enforces: the same
// LLMPolicy as in the API server, so that the ledger knows its name.
func policyFile(t *testing.T, ns, name, limit, mockURL string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: %s, namespace: %s}
spec:
  podSelector: {matchLabels: {app: chat}}
  providers: [{name: openai, type: OpenAI, baseURL: %s}]
  pricing: [{model: gpt-4o-mini, inputPerMillion: "100", outputPerMillion: "100"}]
  budget: {limit: %q}
`, name, ns, mockURL, limit)), 0o600))
	return path
}

// startSidecarProcess starts the sidecar binary for p.
func startSidecarProcess(t *testing.T, ledgerURL, caFile string, p pod, policy, stateDir string, extra ...string) *sidecarProcess {
	t.Helper()
	s := &sidecarProcess{t: t, args: append([]string{
		"--policy=" + policy, "--listen=127.0.0.1:0", "--admin=127.0.0.1:0", "--shutdown-grace=2s",
		"--ledger-url=" + ledgerURL, "--ledger-ca-file=" + caFile, "--ledger-token-file=" + p.tokenFile,
		"--state-dir=" + stateDir, "--pod-uid=" + p.uid, "--ledger-interval=200ms",
	}, extra...)}
	s.start()
	t.Cleanup(func() {
		if s.process.Err() == nil {
			if err := s.process.Stop(10 * time.Second); err != nil {
				t.Errorf("sidecar: %v\n%s", err, s.process.Tail(30))
			}
		}
	})
	return s
}

func (s *sidecarProcess) start() {
	s.t.Helper()
	p, err := proc.Start(proc.Spec{Name: "sidecar", Path: binaries(s.t)["./cmd/sidecar"], Args: s.args, Env: []string{proc.RaceEnv}})
	require.NoError(s.t, err)
	s.process = p
	require.Eventually(s.t, func() bool {
		for _, l := range p.Log().JSONLines() {
			if l["msg"] == "tollgate-sidecar started" {
				s.url, s.admin = "http://"+l["listen"].(string), "http://"+l["admin"].(string)
				return true
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond, "the sidecar did not start:\n%s", p.Tail(20))
}

// requestsLogged counts the requests the sidecar logged: it logs one once
// its spend is settled.
func (s *sidecarProcess) requestsLogged() int {
	n := 0
	for _, l := range s.process.Log().JSONLines() {
		if l["msg"] == "request" {
			n++
		}
	}
	return n
}

// chat sends one request through the sidecar binary.
func (s *sidecarProcess) chat() (int, string) {
	resp, err := http.Post(s.url+"/openai/v1/chat/completions", "application/json", strings.NewReader(chatBody))
	require.NoError(s.t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(llmclient.HeaderReason)
}

func (s *sidecarProcess) metric(name string, labels ...string) float64 {
	resp, err := http.Get(s.admin + "/metrics")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	v, err := promtext.Sum(string(b), name, labels...)
	require.NoError(s.t, err)
	return v
}

func TestBudget_ASidecarKilledWithUnacknowledgedSpendReportsItOnceWhenItComesBack(t *testing.T) {
	mock := slowMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	createPolicy(t, budgetPolicy(ns, "shared", "1000", mock.URL()))
	p := createPod(t, ns, "chat-1", "chat")
	file, stateDir := policyFile(t, ns, "shared", "1000", mock.URL()), t.TempDir()
	s := startSidecarProcess(t, op.url, op.caFile, p, file, stateDir)

	answered := 0
	for range 20 {
		if status, _ := s.chat(); status == http.StatusOK {
			answered++
		}
	}
	// The ledger goes away: what is spent now cannot be acknowledged.
	op.stop()
	for range 20 {
		if status, _ := s.chat(); status == http.StatusOK {
			answered++
		}
	}
	// The app has the last answer's bytes a moment before the sidecar
	// journals its spend (the report must not delay the answer's end): a
	// kill within that moment charges the request what it reserved
	// (TestBudget_ARequestInFlightWhenTheSidecarIsKilledIsChargedItsReservation).
	// What is tested here is spend settled and not acknowledged.
	require.Eventually(t, func() bool { return s.requestsLogged() == answered }, 10*time.Second, 5*time.Millisecond,
		"the sidecar settles every answer: %d answered\n%s", answered, s.process.Tail(5))
	require.NoError(t, syscallKill(s.process.Pid()))
	<-s.process.Exited()

	// A ledger again (a new leader, a new address), and the sidecar's
	// container restarted with its state directory.
	op = startLedger(t)
	s.args = append(s.args, "--ledger-url="+op.url, "--ledger-ca-file="+op.caFile)
	s.start()
	require.Equal(t, answered, len(mock.Requests()))
	requireSpent(t, ns, "shared", unitCost.Mul(decimal.NewFromInt(int64(answered))))
	t.Logf("%d answers, %d of them spent while the ledger was away and the sidecar SIGKILLed afterwards: counted once", answered, answered-20)
}

func TestBudget_TheAllowanceOfAKilledSidecarIsBackWithinItsLease(t *testing.T) {
	mock := slowMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	createPolicy(t, budgetPolicy(ns, "shared", "1000", mock.URL()))
	p := createPod(t, ns, "chat-1", "chat")
	s := startSidecarProcess(t, op.url, op.caFile, p, policyFile(t, ns, "shared", "1000", mock.URL()), t.TempDir())
	for range 5 {
		status, reason := s.chat()
		require.Equal(t, http.StatusOK, status, reason)
	}
	var held decimal.Decimal
	require.Eventually(t, func() bool {
		b := policyStatus(t, ns, "shared").Status.Budget
		if b == nil || b.Ledger == nil || len(b.Ledger.Reporters) != 1 {
			return false
		}
		held = decimal.RequireFromString(b.Ledger.Reporters[0].Allowance)
		return held.IsPositive()
	}, 10*time.Second, 50*time.Millisecond, "the sidecar holds an allowance")

	require.NoError(t, syscallKill(s.process.Pid()))
	<-s.process.Exited()
	killed := time.Now()
	require.NoError(t, env.Client.Delete(t.Context(), podObject(ns, p.name)))
	require.Eventually(t, func() bool {
		b := policyStatus(t, ns, "shared").Status.Budget
		return b.Ledger == nil || len(b.Ledger.Reporters) == 0
	}, testLease+5*time.Second, 50*time.Millisecond, "the allowance returns to the pool once the lease (%s) ended", testLease)
	back := time.Since(killed)
	t.Logf("a killed sidecar's allowance of %s USD was back %s after the kill (lease %s, commit every %s)", held, back.Round(10*time.Millisecond), testLease, testCommit)
	assert.Less(t, back, testLease+2*time.Second)
}

func TestBudget_WhenTheLedgerIsUnreachableTheSidecarSpendsItsAllowanceThenBlocks(t *testing.T) {
	mock := slowMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	createPolicy(t, budgetPolicy(ns, "shared", "1", mock.URL()))
	s := startSidecarProcess(t, op.url, op.caFile, createPod(t, ns, "chat-1", "chat"), policyFile(t, ns, "shared", "1", mock.URL()), t.TempDir())
	for range 3 {
		status, reason := s.chat()
		require.Equal(t, http.StatusOK, status, reason)
	}
	op.stop()
	served, blocked := 0, 0
	for range 200 {
		status, reason := s.chat()
		switch {
		case status == http.StatusOK:
			served++
		case reason == llmclient.CodeBudgetUnavailable:
			assert.Equal(t, http.StatusServiceUnavailable, status)
			blocked++
		default:
			t.Fatalf("unexpected %d %s", status, reason)
		}
		if blocked > 0 {
			break
		}
	}
	t.Logf("with the ledger down: %d requests served on the allowance held, then blocked (tollgate_budget_unavailable)", served)
	assert.Positive(t, served, "the allowance held is spent first (fail static)")
	assert.Equal(t, 1, blocked)
	assert.Positive(t, s.metric("tollgate_ledger_syncs_total", "result", "unreachable"))
	assert.Contains(t, s.process.Log().String(), "budget ledger not reached")
}

func TestBudget_WhenLedgerUnreachableAllowAdmitsAndTheStatusSaysItWasUnverified(t *testing.T) {
	mock := slowMock(t)
	op := startLedger(t)
	ns := newNamespace(t)
	createPolicy(t, budgetPolicy(ns, "shared", "1000", mock.URL()))
	stateDir := t.TempDir()
	p := createPod(t, ns, "chat-1", "chat")
	s := startSidecarProcess(t, op.url, op.caFile, p, policyFile(t, ns, "shared", "1000", mock.URL()), stateDir, "--ledger-unreachable=Allow")
	op.stop()
	for range 60 {
		status, reason := s.chat()
		require.Equal(t, http.StatusOK, status, reason)
	}
	require.Eventually(t, func() bool { return s.metric("tollgate_budget_unverified_usd_total") > 0 }, 10*time.Second, 50*time.Millisecond)

	// The ledger is back: the unverified spend is counted and shown.
	op = startLedger(t)
	require.NoError(t, s.process.Stop(10*time.Second))
	s.args = append(s.args, "--ledger-url="+op.url, "--ledger-ca-file="+op.caFile)
	s.start()
	require.Eventually(t, func() bool {
		st := policyStatus(t, ns, "shared")
		return st.Status.Budget != nil && st.Status.Budget.Unverified != "" && conditionStatus(st, "BudgetUnverified") == "True"
	}, 15*time.Second, 50*time.Millisecond, "status.budget.unverified and BudgetUnverified=True")
	requireSpent(t, ns, "shared", unitCost.Mul(decimal.NewFromInt(int64(len(mock.Requests())))))
}
