package operator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/internal/operator/webhook"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// operatorNamespace is where the tests' operators keep their certificate
// Secret.
const operatorNamespace = "tollgate-system"

// installWebhook creates the operator's namespace and the
// MutatingWebhookConfiguration the chart would install, and returns its
// name. The API server is never made to call it: the tests create no pod.
func installWebhook(t *testing.T, c client.Client) string {
	t.Helper()
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	mwc := webhook.Configuration(webhook.ConfigurationOptions{
		OperatorNamespace: operatorNamespace,
		ClientConfig:      admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: operatorNamespace, Name: "tollgate-webhook"}},
	})
	if err := c.Create(ctx, mwc); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	return mwc.Name
}

// runningOperator is an operator run in process by startOperator.
type runningOperator struct {
	opts        Options
	logs        *syncWriter
	buf         *bytes.Buffer
	health      string // base URL of /healthz and /readyz
	webhookPort int
	stop        func()
}

// startOperator runs the operator with args, on loopback only (its webhook,
// ledger and probes), until the test ends or stop is called.
func startOperator(t *testing.T, cfg *rest.Config, args ...string) *runningOperator {
	t.Helper()
	health, webhookPort, ledgerPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	opts, err := Parse(append([]string{
		"--metrics-bind-address=0",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", health),
		"--webhook-host=127.0.0.1", fmt.Sprintf("--webhook-port=%d", webhookPort),
		fmt.Sprintf("--ledger-bind-address=127.0.0.1:%d", ledgerPort), fmt.Sprintf("--ledger-url=https://127.0.0.1:%d", ledgerPort),
		"--sidecar-image=example.com/tollgate-sidecar:test",
	}, args...), io.Discard)
	require.NoError(t, err)
	o := &runningOperator{opts: opts, buf: &bytes.Buffer{}, health: fmt.Sprintf("http://127.0.0.1:%d", health), webhookPort: webhookPort}
	o.logs = &syncWriter{w: o.buf}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, opts, NewLogger(o.logs, opts.LogLevel)) }()
	stopped := false
	o.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("operator: %v", err)
		}
	}
	t.Cleanup(func() {
		o.stop()
		if t.Failed() {
			t.Logf("operator logs:\n%s", o.logText())
		}
	})
	return o
}

func (o *runningOperator) logText() string {
	o.logs.mu.Lock()
	defer o.logs.mu.Unlock()
	return o.buf.String()
}

// readyz returns the status code and body of /readyz, 0 while it does not
// answer.
func (o *runningOperator) readyz() (int, string) {
	resp, err := http.Get(o.health + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReady waits until /readyz answers 200.
func (o *runningOperator) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body := o.readyz()
		assert.Equal(c, http.StatusOK, code, "/readyz: %s", strings.TrimSpace(body))
	}, within, 100*time.Millisecond)
}
