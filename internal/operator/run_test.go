package operator

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/operator/webhook"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestRun_ManagesWebhookCertificatesAndServesInjection runs the whole
// operator against a real API server with self-managed certificates: it
// must create the certificate Secret, patch the webhook's caBundle, serve
// the webhook with that certificate once the Secret's files are mounted
// (done here by hand, as the kubelet would), and reconcile policies.
func TestRun_ManagesWebhookCertificatesAndServesInjection(t *testing.T) {
	env, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := env.Client

	const ns = "tollgate-system"
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	mwc := webhook.Configuration(webhook.ConfigurationOptions{
		OperatorNamespace: ns,
		ClientConfig:      admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: ns, Name: "tollgate-webhook"}},
	})
	require.NoError(t, c.Create(ctx, mwc))

	certDir := t.TempDir()
	webhookPort, healthPort := freePort(t), freePort(t)
	opts, err := Parse([]string{
		"--namespace=" + ns, "--metrics-bind-address=0",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", healthPort),
		fmt.Sprintf("--webhook-port=%d", webhookPort), "--webhook-host=127.0.0.1", "--webhook-cert-dir=" + certDir,
		"--webhook-config-name=" + mwc.Name, "--sidecar-image=example.com/tollgate-sidecar:test",
	}, io.Discard)
	require.NoError(t, err)
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, env.Config, opts, NewLogger(&syncWriter{w: &logs}, opts.LogLevel)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("operator: %v", err)
		}
		if t.Failed() {
			t.Logf("operator logs:\n%s", logs.String())
		}
	})

	// The certificate Secret appears; "mount" it as the kubelet would.
	var secret corev1.Secret
	require.Eventually(t, func() bool {
		return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: opts.WebhookCertSecret}, &secret) == nil && len(secret.Data["tls.crt"]) > 0
	}, 30*time.Second, 100*time.Millisecond)
	for _, name := range []string{"ca.crt", "tls.crt", "tls.key"} {
		require.NoError(t, os.WriteFile(filepath.Join(certDir, name), secret.Data[name], 0o600))
	}

	// The caBundle of both webhooks is the Secret's CA.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var got admissionregistrationv1.MutatingWebhookConfiguration
		if !assert.NoError(ct, c.Get(ctx, types.NamespacedName{Name: mwc.Name}, &got)) {
			return
		}
		for _, w := range got.Webhooks {
			assert.Equal(ct, secret.Data["ca.crt"], w.ClientConfig.CABundle, "caBundle of %s", w.Name)
		}
	}, 30*time.Second, 100*time.Millisecond)

	// Ready once the webhook serves.
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 200*time.Millisecond)

	// The webhook answers over TLS with a certificate for its Service name,
	// signed by the CA in the caBundle.
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(secret.Data["ca.crt"]))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "tollgate-webhook." + ns + ".svc"}}}
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Labels: map[string]string{inject.InjectLabel: "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	raw, err := json.Marshal(pod)
	require.NoError(t, err)
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: "default", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(review)
	require.NoError(t, err)
	resp, err := client.Post(fmt.Sprintf("https://127.0.0.1:%d%s", webhookPort, webhook.Path), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var answer admissionv1.AdmissionReview
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	require.NotNil(t, answer.Response)
	assert.True(t, answer.Response.Allowed)
	assert.Contains(t, string(answer.Response.Patch), inject.ContainerName, "the pod gets the sidecar")
	assert.Contains(t, string(answer.Response.Patch), "example.com/tollgate-sidecar:test")

	// And the reconciler runs: a policy is rendered.
	policy := &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec:       v1alpha1.LLMPolicySpec{Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI, BaseURL: "https://api.openai.com"}}},
	}
	require.NoError(t, c.Create(ctx, policy))
	require.Eventually(t, func() bool {
		var cm corev1.ConfigMap
		return c.Get(ctx, types.NamespacedName{Namespace: "default", Name: inject.ConfigMapName}, &cm) == nil
	}, 30*time.Second, 100*time.Millisecond)
}
