package operatore2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/controller"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/operator/webhook"
	"tollgate.dev/tollgate/internal/testkit/admission"
	"tollgate.dev/tollgate/internal/testkit/jsonlog"
	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// TestLogs_ANormalRunLogsJSONWithEachKeyOnceAndNoError runs the operator as
// the chart does (leader election, webhook with its own certificates, the
// ledger) through a start, the first certificate, a pod admission, a
// policy's creation and update and the bundle writes they cause, and a
// shutdown, and reads every line it logged: each must be one JSON object
// with each key once, and none may be an error or carry a stack trace,
// since nothing went wrong.
func TestLogs_ANormalRunLogsJSONWithEachKeyOnceAndNoError(t *testing.T) {
	ctx := context.Background()
	c := env.Client
	const ns = "tollgate-system"
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	mwc := webhook.Configuration(webhook.ConfigurationOptions{
		OperatorNamespace: ns,
		ClientConfig:      admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: ns, Name: "tollgate-webhook"}},
	})
	require.NoError(t, c.Create(ctx, mwc))

	// The chart mounts the certificate Secret (optional) as the cert dir:
	// empty until the operator has filled the Secret and the kubelet has
	// synced the volume, which this test does by hand.
	certDir := t.TempDir()
	webhookPort, healthPort, ledgerPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	p, err := proc.Start(proc.Spec{Name: "operator", Path: operatorBinary(t), Env: []string{"KUBECONFIG=" + env.Kubeconfig, proc.RaceEnv}, Args: []string{
		"--cert-management=self", "--leader-elect=true", "--namespace=" + ns,
		"--metrics-bind-address=0", fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", healthPort),
		"--webhook-host=127.0.0.1", fmt.Sprintf("--webhook-port=%d", webhookPort), "--webhook-cert-dir=" + certDir,
		"--webhook-config-name=" + mwc.Name, "--sidecar-image=example.com/tollgate-sidecar:test",
		fmt.Sprintf("--ledger-bind-address=127.0.0.1:%d", ledgerPort),
	}})
	require.NoError(t, err)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			require.NoError(t, p.Stop(20*time.Second), "the operator exits cleanly on SIGTERM")
		}
	}
	t.Cleanup(func() {
		if !stopped {
			_ = p.Stop(20 * time.Second)
		}
		if t.Failed() {
			t.Logf("operator log:\n%s", p.Log())
		}
	})

	var secret corev1.Secret
	require.Eventually(t, func() bool {
		return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "tollgate-webhook-cert"}, &secret) == nil && len(secret.Data["tls.crt"]) > 0
	}, 60*time.Second, 100*time.Millisecond, "the operator fills its certificate Secret")
	for _, name := range []string{"ca.crt", "tls.crt", "tls.key"} {
		require.NoError(t, os.WriteFile(filepath.Join(certDir, name), secret.Data[name], 0o600))
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "the operator becomes ready")

	admit(t, secret.Data["ca.crt"], webhookPort, ns)

	appNS := "logs-app"
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNS}}))
	policy := &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: appNS},
		Spec:       v1alpha1.LLMPolicySpec{Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI}}},
	}
	require.NoError(t, c.Create(ctx, policy))
	first := bundleHash(t, appNS, "")
	require.Eventually(t, func() bool {
		if err := c.Get(ctx, types.NamespacedName{Namespace: appNS, Name: "chat"}, policy); err != nil {
			return false
		}
		policy.Spec.Providers = append(policy.Spec.Providers, v1alpha1.Provider{Name: "claude", Type: v1alpha1.ProviderAnthropic})
		err := c.Update(ctx, policy)
		require.True(t, err == nil || apierrors.IsConflict(err), "update the policy: %v", err)
		return err == nil
	}, 30*time.Second, 100*time.Millisecond)
	bundleHash(t, appNS, first)
	// The status of the updated policy is written too.
	require.Eventually(t, func() bool {
		var got v1alpha1.LLMPolicy
		return c.Get(ctx, types.NamespacedName{Namespace: appNS, Name: "chat"}, &got) == nil && got.Status.ObservedGeneration == got.Generation
	}, 30*time.Second, 100*time.Millisecond)
	stop()

	text := p.Log().String()
	lines := strings.Count(text, "\n")
	require.Greater(t, lines, 10, "the operator logged its run")
	for _, problem := range jsonlog.Check(text, jsonlog.Options{OnlyJSON: true, NoErrors: true}) {
		t.Error(problem)
	}
	t.Logf("%d log lines checked", lines)
}

// bundleHash waits for the namespace's bundle to be written with a hash
// other than not, and returns the hash.
func bundleHash(t *testing.T, ns, not string) string {
	t.Helper()
	var hash string
	require.Eventually(t, func() bool {
		var cm corev1.ConfigMap
		if env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm) != nil {
			return false
		}
		hash = cm.Annotations[controller.BundleHashAnnotation]
		return hash != "" && hash != not
	}, 30*time.Second, 100*time.Millisecond, "the bundle of %s is written", ns)
	return hash
}

// admit sends the webhook a pod that opts in, over TLS with the
// operator's CA, as the API server does, and expects the sidecar.
func admit(t *testing.T, caPEM []byte, port int, ns string) {
	t.Helper()
	answer := admission.ReviewPod(t, caPEM, ns, port)
	assert.Contains(t, string(answer.Patch), inject.ContainerName, "the pod gets the sidecar")
}
