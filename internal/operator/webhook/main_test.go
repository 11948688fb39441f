package webhook

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// operatorNamespace is where the operator would run: never injected.
const operatorNamespace = "tollgate-system"

var (
	env *testenv.WebhookEnv
	// testLog is the injector's logger: on stderr with -v, else discarded.
	testLog = logr.Discard()
)

// testConfig is the sidecar configuration the webhook under test injects.
func testConfig() inject.Config {
	cfg := inject.DefaultConfig()
	cfg.Image = "ghcr.io/tollgate-dev/tollgate-sidecar:v0.0.0-test"
	return cfg
}

// TestMain starts a control plane with the chart's webhook configuration
// pointing at 127.0.0.1, and an operator-like manager serving the injector
// there through Register, and waits until the API server calls it.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Verbose() {
		testLog = funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{Verbosity: 1})
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	port, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hooks := Configuration(ConfigurationOptions{
		OperatorNamespace: operatorNamespace,
		ClientConfig:      admissionregistrationv1.WebhookClientConfig{URL: ptr.To(fmt.Sprintf("https://127.0.0.1:%d%s", port, Path))},
		// Fail rather than the chart's Ignore: a webhook the API server
		// cannot reach must fail the test, not create pods silently.
		FailurePolicy: admissionregistrationv1.Fail,
	})
	env, err = testenv.StartWithWebhooks(envtest.WebhookInstallOptions{
		LocalServingHost: "127.0.0.1",
		LocalServingPort: port,
		MutatingWebhooks: []*admissionregistrationv1.MutatingWebhookConfiguration{hooks},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	stopped, err := startManager(ctx)
	if err != nil {
		cancel()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { cancel(); <-stopped }()

	if err := waitUntilCalled(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// startManager runs a manager serving the injector as the operator does.
// The returned channel closes when the manager has stopped.
func startManager(ctx context.Context) (<-chan struct{}, error) {
	wh := env.Webhooks
	mgr, err := manager.New(env.Config, manager.Options{
		Scheme:                 env.Scheme,
		Logger:                 testLog,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: ctrlwebhook.NewServer(ctrlwebhook.Options{
			Host: wh.LocalServingHost, Port: wh.LocalServingPort, CertDir: wh.LocalServingCertDir,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("new manager: %w", err)
	}
	if err := Register(mgr, testConfig(), testLog); err != nil {
		return nil, err
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return stopped, nil
}

// waitUntilCalled dry-run creates a pod in an opted-in namespace until it
// comes back injected: the API server loads webhook configurations, and
// the manager starts its server, asynchronously.
func waitUntilCalled(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe", Labels: map[string]string{inject.NamespaceLabel: inject.NamespaceEnabled}}}
	if err := env.Client.Create(ctx, ns); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var lastErr error
	for {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "probe"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1.0"}}},
		}
		lastErr = env.Client.Create(ctx, pod, client.DryRunAll)
		if lastErr == nil && inject.Injected(pod) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("the API server did not call the webhook within 60s"), lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// freePort returns a port free on 127.0.0.1 a moment ago, for the webhook
// server: its URL must be known before the configuration is installed.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
