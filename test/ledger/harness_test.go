package ledgere2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/internal/operator/controller"
	operatorledger "tollgate.dev/tollgate/internal/operator/ledger"
	sidecarledger "tollgate.dev/tollgate/internal/sidecar/ledger"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/testenv"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Timing of the ledgers under test: short, so that leases and status
// writes happen within a test.
const (
	testLease  = 3 * time.Second
	testCommit = 200 * time.Millisecond
)

// operator is an in-process operator running only the budget ledger.
type operator struct {
	url    string
	caFile string
	// cache reads through the manager's cache, as the ledger does.
	cache  client.Reader
	cancel context.CancelFunc
	done   chan error
}

// startLedger starts a manager with the ledger on a free loopback port and
// a serving certificate of its own, and stops it at the end of the test.
func startLedger(t *testing.T, opts ...func(*operatorledger.Options)) *operator {
	t.Helper()
	certDir := t.TempDir()
	require.NoError(t, testenv.ServingCert(certDir, "127.0.0.1"))
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Logger:                 logr.Discard(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(controller.ManagedConfigMaps())},
		}},
	})
	require.NoError(t, err)
	lopts := operatorledger.Options{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("tollgate-ledger"),
		Log: logr.Discard(), Lease: testLease, Sync: time.Second, Commit: testCommit,
	}
	for _, o := range opts {
		o(&lopts)
	}
	l := operatorledger.New(lopts)
	addrs := make(chan net.Addr, 1)
	require.NoError(t, mgr.Add(&operatorledger.Server{Ledger: l, Addr: "127.0.0.1:0", CertDir: certDir, Addrs: addrs}))
	ctx, cancel := context.WithCancel(context.Background())
	op := &operator{caFile: filepath.Join(certDir, "ca.crt"), cache: mgr.GetClient(), cancel: cancel, done: make(chan error, 1)}
	go func() { op.done <- mgr.Start(ctx) }()
	select {
	case a := <-addrs:
		op.url = "https://" + a.String()
	case err := <-op.done:
		t.Fatalf("the ledger did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the ledger did not start within 30s")
	}
	t.Cleanup(op.stop)
	return op
}

// stop stops the operator, which writes its books a last time.
func (o *operator) stop() {
	if o.cancel == nil {
		return
	}
	o.cancel()
	<-o.done
	o.cancel = nil
}

// newNamespace creates a namespace with the ServiceAccount "app".
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ledger-"}}
	require.NoError(t, env.Client.Create(ctx, ns))
	require.NoError(t, env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns.Name}}))
	return ns.Name
}

// budgetPolicy is an LLMPolicy of ns selecting app=chat with a budget of
// limit USD, whose provider is the mock.
func budgetPolicy(ns, name, limit, mockURL string) *v1alpha1.LLMPolicy {
	return &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.LLMPolicySpec{
			PodSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"app": "chat"}},
			Providers:   []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI, BaseURL: mockURL}},
			Pricing:     []v1alpha1.ModelPrice{{Model: "gpt-4o-mini", InputPerMillion: "100", OutputPerMillion: "100"}},
			Budget:      &v1alpha1.Budget{Limit: limit, Period: v1alpha1.BudgetMonthly},
		},
	}
}

// createPolicy creates p and returns the policy the sidecar enforces.
func createPolicy(t *testing.T, p *v1alpha1.LLMPolicy) proxyconfig.Policy {
	t.Helper()
	require.NoError(t, env.Client.Create(context.Background(), p.DeepCopy()))
	defaulted := p.DeepCopy()
	validation.Default(defaulted)
	out, err := translate.File(defaulted)
	require.NoError(t, err)
	return out
}

// pod is a pod of the API server and the token of its ServiceAccount,
// bound to it, written to a file as the kubelet would.
type pod struct {
	name, uid, tokenFile string
}

// createPod creates pod name of ns, owned by ReplicaSet workload-abc12 of
// Deployment workload, and a token bound to it.
func createPod(t *testing.T, ns, name, workload string) pod {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:          map[string]string{"app": "chat", "pod-template-hash": "abc12"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: workload + "-abc12", UID: "rs-uid", Controller: ptr.To(true)}},
		},
		Spec: corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	require.NoError(t, env.Client.Create(ctx, p))
	return pod{name: name, uid: string(p.UID), tokenFile: tokenFor(t, ns, p, []string{"tollgate"})}
}

// tokenFor writes a token of the pod's ServiceAccount, bound to the pod,
// for audiences.
func tokenFor(t *testing.T, ns string, p *corev1.Pod, audiences []string) string {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), p.Spec.ServiceAccountName, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		Audiences: audiences, ExpirationSeconds: ptr.To[int64](600),
		BoundObjectRef: &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(path, []byte(tr.Status.Token), 0o600))
	return path
}

// sidecar is the real sidecar code of one pod, in process: its ledger
// client and the Transport that enforces the policy with it.
type sidecar struct {
	pod       pod
	ledger    *sidecarledger.Ledger
	transport *llmclient.Transport
	stateDir  string
	cancel    context.CancelFunc
	done      chan struct{}

	mu      sync.Mutex // guards reports
	reports []*llmclient.Report
}

// startSidecar starts the sidecar code of p against the ledger at urls.
func startSidecar(t *testing.T, urls []string, caFile string, p pod, policy proxyconfig.Policy, stateDir string, opts ...func(*sidecarledger.Options)) *sidecar {
	t.Helper()
	if stateDir == "" {
		stateDir = t.TempDir()
	}
	lopts := sidecarledger.Options{
		URLs: urls, CAFile: caFile, TokenFile: p.tokenFile, StateDir: stateDir, PodUID: p.uid,
		Interval: 200 * time.Millisecond, Log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Observe: func(result string, _ proxyconfig.USD) {
			if result != "success" {
				t.Logf("%s: sync %s", p.name, result)
			}
		},
	}
	for _, o := range opts {
		o(&lopts)
	}
	led, err := sidecarledger.New(lopts)
	require.NoError(t, err)
	s := &sidecar{pod: p, ledger: led, stateDir: stateDir, done: make(chan struct{})}
	s.transport, err = llmclient.New(policy, llmclient.Options{
		Budget: led.Gate(policy.Name, *policy.Budget),
		OnDone: func(r *llmclient.Report) {
			s.mu.Lock()
			s.reports = append(s.reports, r)
			s.mu.Unlock()
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { defer close(s.done); _ = led.Run(ctx) }()
	t.Cleanup(s.stop)
	return s
}

// stop stops the sidecar as SIGTERM would: it reports what is left.
func (s *sidecar) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}

// chatBody asks gpt-4o-mini for at most 20 output tokens with a prompt of
// about 60 estimated tokens (240 bytes).
var chatBody = `{"model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":"` + strings.Repeat("word ", 48) + `"}]}`

// chat sends one request through the sidecar and returns the HTTP status
// and the refusal code, if any.
func (s *sidecar) chat(t *testing.T) (int, string) {
	req, err := http.NewRequest(http.MethodPost, "http://sidecar/openai/v1/chat/completions", strings.NewReader(chatBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.transport.RoundTrip(req)
	require.NoError(t, err)
	_, _ = ioCopy(resp)
	return resp.StatusCode, resp.Header.Get(llmclient.HeaderReason)
}

// policyStatus reads a policy's status.budget fresh from the API server.
func policyStatus(t *testing.T, ns, name string) *v1alpha1.LLMPolicy {
	t.Helper()
	var p v1alpha1.LLMPolicy
	require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &p))
	return &p
}

// startMock starts the mock provider, every answer 50 input and 20 output
// tokens: $0.007 at the policy's $100 per million tokens.
func startMock(t *testing.T) *mockprovider.Server {
	t.Helper()
	mock, err := mockprovider.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = mock.Close() })
	mock.SetDefault(mockprovider.Step{Usage: &mockprovider.Usage{InputTokens: 50, OutputTokens: 20}})
	return mock
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// podObject names a pod for Delete.
func podObject(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// conditionStatus is the status of condition typ of p, or "".
func conditionStatus(p *v1alpha1.LLMPolicy, typ string) string {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return string(c.Status)
		}
	}
	return ""
}

// clock is a fake clock tests move by hand; safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// run makes the clock follow real time from its start until stop.
func (c *clock) run(stop <-chan struct{}) {
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
		now := time.Now()
		c.mu.Lock()
		c.now = c.now.Add(now.Sub(last))
		c.mu.Unlock()
		last = now
	}
}
