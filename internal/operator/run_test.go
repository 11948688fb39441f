package operator

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/testkit/admission"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

func startEnv(t *testing.T) *testenv.Env {
	t.Helper()
	env, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	return env
}

// certSecret waits until the rotator has filled the certificate Secret.
func certSecret(t *testing.T, c client.Client, opts Options) *corev1.Secret {
	t.Helper()
	var secret corev1.Secret
	require.Eventually(t, func() bool {
		return c.Get(context.Background(), types.NamespacedName{Namespace: opts.Namespace, Name: opts.WebhookCertSecret}, &secret) == nil && len(secret.Data["tls.crt"]) > 0
	}, 30*time.Second, 100*time.Millisecond, "the rotator fills Secret %s", opts.WebhookCertSecret)
	return &secret
}

// admit sends the webhook an opted-in pod over TLS, trusting only the
// Secret's CA and checking the Service's name, and returns its patch.
func admit(t *testing.T, o *runningOperator, secret *corev1.Secret) string {
	t.Helper()
	answer := admission.ReviewPod(t, secret.Data["ca.crt"], o.opts.Namespace, o.webhookPort)
	assert.True(t, answer.Allowed)
	return string(answer.Patch)
}

func openAIPolicy(ns, name string) *v1alpha1.LLMPolicy {
	return &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       v1alpha1.LLMPolicySpec{Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI, BaseURL: "https://api.openai.com"}}},
	}
}

func readyCondition(t *testing.T, c client.Client, ns, name string) metav1.Condition {
	t.Helper()
	var p v1alpha1.LLMPolicy
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &p); err != nil {
		return metav1.Condition{}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == v1alpha1.ConditionReady {
			return cond
		}
	}
	return metav1.Condition{}
}

// TestRun_WritesItsCertificateWhereNoKubeletMountsItAndServesInjection
// runs the whole operator with self-managed certificates and a cert dir
// that nothing mounts (as outside a cluster): it must create and fill the
// certificate Secret, write the certificate into the cert dir itself,
// patch the webhook's caBundle, serve the webhook and reconcile policies.
func TestRun_WritesItsCertificateWhereNoKubeletMountsItAndServesInjection(t *testing.T) {
	env := startEnv(t)
	c := env.Client
	mwc := installWebhook(t, c)
	certDir := filepath.Join(t.TempDir(), "serving-certs") // not there yet
	o := startOperator(t, env.Config, "--namespace="+operatorNamespace, "--webhook-cert-dir="+certDir, "--webhook-config-name="+mwc)

	start := time.Now()
	o.waitReady(t, 60*time.Second)
	t.Logf("ready %s after start, without anything mounting the certificate", time.Since(start).Round(10*time.Millisecond))

	secret := certSecret(t, c, o.opts)
	for _, name := range []string{"ca.crt", "tls.crt", "tls.key"} {
		got, err := os.ReadFile(filepath.Join(certDir, name))
		require.NoError(t, err, "the operator wrote %s", name)
		assert.Equal(t, secret.Data[name], got, "%s is the Secret's", name)
	}
	assert.NoFileExists(t, filepath.Join(certDir, "ca.key"), "the CA's key stays in the Secret")
	assert.Contains(t, o.logText(), `"msg":"webhook certificate written"`)

	var got admissionregistrationv1.MutatingWebhookConfiguration
	require.NoError(t, c.Get(context.Background(), types.NamespacedName{Name: mwc}, &got))
	for _, w := range got.Webhooks {
		assert.Equal(t, secret.Data["ca.crt"], w.ClientConfig.CABundle, "caBundle of %s", w.Name)
	}

	patch := admit(t, o, secret)
	assert.Contains(t, patch, inject.ContainerName, "the pod gets the sidecar")
	assert.Contains(t, patch, "example.com/tollgate-sidecar:test")

	require.NoError(t, c.Create(context.Background(), openAIPolicy("default", "p")))
	require.Eventually(t, func() bool {
		return readyCondition(t, c, "default", "p").Status == metav1.ConditionTrue
	}, 30*time.Second, 100*time.Millisecond)
}

// TestRun_WaitsForTheKubeletWhenTheCertDirIsASecretVolume: in a pod, the
// chart mounts the certificate Secret at the cert dir; the operator leaves
// the volume to the kubelet, and /readyz and the log say that it waits for
// the kubelet, until the files appear.
func TestRun_WaitsForTheKubeletWhenTheCertDirIsASecretVolume(t *testing.T) {
	env := startEnv(t)
	c := env.Client
	mwc := installWebhook(t, c)
	// What the kubelet makes of an optional Secret volume whose Secret is
	// empty: a ..data symlink to an empty timestamped directory.
	certDir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(certDir, "..2026_11_23_10_00_00.1"), 0o755))
	require.NoError(t, os.Symlink("..2026_11_23_10_00_00.1", filepath.Join(certDir, "..data")))
	o := startOperator(t, env.Config, "--namespace="+operatorNamespace, "--webhook-cert-dir="+certDir, "--webhook-config-name="+mwc)

	secret := certSecret(t, c, o.opts)
	want := "webhook: waiting for the kubelet to project Secret tollgate-system/tollgate-webhook-cert, which the certificate rotator fills, into the volume at " + certDir
	require.Eventually(t, func() bool {
		code, body := o.readyz()
		return code == http.StatusInternalServerError && strings.Contains(body, want)
	}, 10*time.Second, 100*time.Millisecond, "/readyz says what it waits for")
	assert.Contains(t, o.logText(), `"msg":"webhook waiting","for":"the kubelet to project Secret tollgate-system/tollgate-webhook-cert`)
	time.Sleep(time.Second)
	assert.NoFileExists(t, filepath.Join(certDir, "tls.crt"), "the operator does not write into the kubelet's volume")

	// Be the kubelet.
	for _, name := range []string{"ca.crt", "tls.key", "tls.crt"} {
		require.NoError(t, os.WriteFile(filepath.Join(certDir, name), secret.Data[name], 0o600))
	}
	o.waitReady(t, 60*time.Second)
	assert.Contains(t, admit(t, o, secret), inject.ContainerName)
}

// TestRun_AReplicaThatDoesNotLeadServesTheWebhook: the webhook Service
// sends admissions to every replica, so a replica that is not the leader
// must register the injection webhook too, not answer 404 while Ready.
func TestRun_AReplicaThatDoesNotLeadServesTheWebhook(t *testing.T) {
	env := startEnv(t)
	c := env.Client
	mwc := installWebhook(t, c)
	const leaseName = "tollgate-operator.tollgate.dev"
	now := metav1.NewMicroTime(time.Now())
	require.NoError(t, c.Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: leaseName, Namespace: operatorNamespace},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("the-other-replica"), LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime: &now, RenewTime: &now},
	}))
	o := startOperator(t, env.Config, "--namespace="+operatorNamespace, "--leader-elect", "--leader-election-id="+leaseName,
		"--webhook-cert-dir="+t.TempDir(), "--webhook-config-name="+mwc)

	o.waitReady(t, 60*time.Second)
	secret := certSecret(t, c, o.opts)
	assert.Contains(t, admit(t, o, secret), inject.ContainerName, "a replica that does not lead injects")

	var lease coordinationv1.Lease
	require.NoError(t, c.Get(context.Background(), types.NamespacedName{Namespace: operatorNamespace, Name: leaseName}, &lease))
	assert.Equal(t, "the-other-replica", *lease.Spec.HolderIdentity, "the operator under test never led")
}
