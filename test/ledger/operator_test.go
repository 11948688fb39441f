package ledgere2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/testenv"
	"tollgate.dev/tollgate/pkg/llmclient"
)

var (
	buildOnce sync.Once
	bins      map[string]string
	buildErr  error
)

// binaries builds cmd/operator and cmd/sidecar once, with -race when the
// tests run with it.
func binaries(t *testing.T) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		var root string
		if root, buildErr = proc.RepoRoot(); buildErr != nil {
			return
		}
		dir, err := os.MkdirTemp("", "tollgate-ledger-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		bins, buildErr = proc.Build(context.Background(), root, dir, proc.RaceEnabled, "./cmd/operator", "./cmd/sidecar")
	})
	require.NoError(t, buildErr)
	return bins
}

// operatorProcess is the operator binary, serving only the ledger.
type operatorProcess struct {
	t       *testing.T
	url     string
	args    []string
	process *proc.Process
}

// startOperatorProcess runs the operator binary with its ledger on a free
// port and certDir's certificate, and waits until the ledger serves (or,
// with leader election, until the process is up).
func startOperatorProcess(t *testing.T, certDir string, extra ...string) *operatorProcess {
	t.Helper()
	port := testenv.FreePort(t)
	o := &operatorProcess{t: t, url: fmt.Sprintf("https://127.0.0.1:%d", port)}
	o.args = append([]string{
		"--enable-webhook=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
		fmt.Sprintf("--ledger-bind-address=127.0.0.1:%d", port), "--ledger-cert-dir=" + certDir, "--ledger-url=" + o.url,
		"--ledger-lease=" + testLease.String(), "--ledger-commit-interval=" + testCommit.String(),
	}, extra...)
	o.start()
	t.Cleanup(func() {
		if o.process != nil && o.process.Err() == nil {
			if err := o.process.Stop(10 * time.Second); err != nil {
				t.Errorf("operator: %v\n%s", err, o.process.Tail(30))
			}
		}
	})
	return o
}

func (o *operatorProcess) start() {
	o.t.Helper()
	p, err := proc.Start(proc.Spec{Name: "operator", Path: binaries(o.t)["./cmd/operator"], Args: o.args,
		Env: []string{"KUBECONFIG=" + env.Kubeconfig, proc.RaceEnv}})
	require.NoError(o.t, err)
	o.process = p
}

// waitServing waits until the process's ledger serves.
func (o *operatorProcess) waitServing() {
	o.t.Helper()
	require.Eventually(o.t, func() bool {
		return strings.Contains(o.process.Log().String(), "budget ledger serving")
	}, 60*time.Second, 20*time.Millisecond, "the operator's ledger did not serve:\n%s", o.process.Tail(20))
}

// kill SIGKILLs the operator: nothing it held in memory is written.
func (o *operatorProcess) kill() {
	o.t.Helper()
	require.NoError(o.t, syscallKill(o.process.Pid()))
	<-o.process.Exited()
}

// load sends requests from every sidecar until stop is closed, counting
// what was answered and what was refused by code.
type load struct {
	answered atomic.Int64
	mu       sync.Mutex
	refused  map[string]int
	wg       sync.WaitGroup
}

func runLoad(t *testing.T, sidecars []*sidecar, stop <-chan struct{}) *load {
	l := &load{refused: map[string]int{}}
	for _, s := range sidecars {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, reason := s.chat(t)
				if status == http.StatusOK {
					l.answered.Add(1)
					continue
				}
				l.mu.Lock()
				l.refused[reason]++
				l.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return l
}

// requireSpent waits until the policy's status holds want.
func requireSpent(t *testing.T, ns, name string, want decimal.Decimal) {
	t.Helper()
	var got string
	ok := assert.Eventually(t, func() bool {
		b := policyStatus(t, ns, name).Status.Budget
		if b == nil {
			return false
		}
		got = b.Spent
		return decimal.RequireFromString(b.Spent).Equal(want)
	}, 15*time.Second, 50*time.Millisecond)
	require.True(t, ok, "status.budget.spent is %s; it must be %s", got, want)
}

func slowMock(t *testing.T) *mockprovider.Server {
	mock := startMock(t)
	mock.SetDefault(mockprovider.Step{FirstByteDelay: 20 * time.Millisecond, Usage: &mockprovider.Usage{InputTokens: 50, OutputTokens: 20}})
	return mock
}

func TestBudget_AnOperatorKilledAndRestartedMidRunLosesNoSpendAndCountsNoneTwice(t *testing.T) {
	mock := slowMock(t)
	certDir := t.TempDir()
	require.NoError(t, testenv.ServingCert(certDir, "127.0.0.1"))
	op := startOperatorProcess(t, certDir)
	op.waitServing()
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "shared", "1000", mock.URL()))
	var sidecars []*sidecar
	for _, name := range names("chat", 5) {
		sidecars = append(sidecars, startSidecar(t, []string{op.url}, certDir+"/ca.crt", createPod(t, ns, name, "chat"), policy, ""))
	}

	stop := make(chan struct{})
	l := runLoad(t, sidecars, stop)
	time.Sleep(2 * time.Second)
	op.kill()
	killedAt := l.answered.Load()
	// The sidecars spend what they hold; their batches wait.
	time.Sleep(2 * time.Second)
	duringOutage := l.answered.Load() - killedAt
	op.start()
	op.waitServing()
	time.Sleep(2 * time.Second)
	close(stop)
	l.wg.Wait()
	for _, s := range sidecars {
		s.stop()
	}

	answered := int64(len(mock.Requests()))
	require.Equal(t, l.answered.Load(), answered)
	t.Logf("operator SIGKILLed after %d answers, %d answered while it was down (refused meanwhile: %v), %d in all", killedAt, duringOutage, l.refused, answered)
	requireSpent(t, ns, "shared", unitCost.Mul(decimal.NewFromInt(answered)))
	assert.Positive(t, duringOutage, "sidecars kept serving on the allowance they held")
}

func TestBudget_ALeaderChangeBetweenTwoReplicasLosesNoSpend(t *testing.T) {
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tollgate-system"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	mock := slowMock(t)
	certDir := t.TempDir()
	require.NoError(t, testenv.ServingCert(certDir, "127.0.0.1"))
	election := []string{"--leader-elect", "--namespace=tollgate-system", "--leader-election-id=ledger-e2e-" + fmt.Sprint(time.Now().UnixNano())}
	a := startOperatorProcess(t, certDir, election...)
	a.waitServing()
	b := startOperatorProcess(t, certDir, election...)
	ns := newNamespace(t)
	policy := createPolicy(t, budgetPolicy(ns, "shared", "1000", mock.URL()))
	var sidecars []*sidecar
	for _, name := range names("chat", 5) {
		// Without a Service, each sidecar knows both replicas and finds the
		// one that serves.
		sidecars = append(sidecars, startSidecar(t, []string{b.url, a.url}, certDir+"/ca.crt", createPod(t, ns, name, "chat"), policy, ""))
	}

	stop := make(chan struct{})
	l := runLoad(t, sidecars, stop)
	time.Sleep(2 * time.Second)
	// A rollout stops the leader: it hands over at once.
	require.NoError(t, a.process.Stop(10*time.Second))
	b.waitServing()
	time.Sleep(2 * time.Second)
	close(stop)
	l.wg.Wait()
	for _, s := range sidecars {
		s.stop()
	}
	answered := int64(len(mock.Requests()))
	t.Logf("leader change under load: %d answered (refused meanwhile: %v)", answered, l.refused)
	requireSpent(t, ns, "shared", unitCost.Mul(decimal.NewFromInt(answered)))
	assert.Zero(t, l.refused[llmclient.CodeBudgetExhausted], "nothing was refused as exhausted")
}
