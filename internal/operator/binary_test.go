package operator

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// TestOperatorBinary_RunsOutsideAClusterWithKubeconfig runs cmd/operator
// as someone would on a laptop: --kubeconfig, no in-cluster environment,
// nothing mounting the webhook certificate. It becomes ready and
// reconciles a policy.
func TestOperatorBinary_RunsOutsideAClusterWithKubeconfig(t *testing.T) {
	env := startEnv(t)
	c := env.Client
	mwc := installWebhook(t, c)
	bins, err := proc.Build(context.Background(), env.RepoRoot, t.TempDir(), proc.RaceEnabled, "./cmd/operator")
	require.NoError(t, err)

	health, webhookPort, ledgerPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	certDir := filepath.Join(t.TempDir(), "serving-certs")
	p, err := proc.Start(proc.Spec{Name: "operator", Path: bins["./cmd/operator"], Args: []string{
		"--kubeconfig=" + env.Kubeconfig,
		"--namespace=" + operatorNamespace,
		"--metrics-bind-address=0", fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", health),
		"--webhook-host=127.0.0.1", fmt.Sprintf("--webhook-port=%d", webhookPort), "--webhook-cert-dir=" + certDir, "--webhook-config-name=" + mwc,
		fmt.Sprintf("--ledger-bind-address=127.0.0.1:%d", ledgerPort), fmt.Sprintf("--ledger-url=https://127.0.0.1:%d", ledgerPort),
	}, Env: []string{
		// Not in a pod, and a $KUBECONFIG that --kubeconfig must win over.
		"KUBERNETES_SERVICE_HOST=", "KUBERNETES_SERVICE_PORT=", "POD_NAMESPACE=", "POD_NAME=",
		"KUBECONFIG=" + filepath.Join(t.TempDir(), "absent"), "HOME=" + t.TempDir(), proc.RaceEnv,
	}})
	require.NoError(t, err)
	t.Cleanup(func() {
		if p.Err() == nil {
			assert.NoError(t, p.Stop(10*time.Second), "the operator exits cleanly on SIGTERM")
		}
		if t.Failed() {
			t.Logf("operator:\n%s", p.Tail(60))
		}
	})

	start := time.Now()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		if !assert.NoError(ct, p.Err(), "the operator exited") {
			return
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", health))
		if !assert.NoError(ct, err) {
			return
		}
		resp.Body.Close()
		assert.Equal(ct, http.StatusOK, resp.StatusCode)
	}, 90*time.Second, 200*time.Millisecond)
	t.Logf("ready %s after start", time.Since(start).Round(10*time.Millisecond))
	assert.Contains(t, p.Log().String(), `"msg":"Kubernetes API server","host":"`+strings.TrimSuffix(env.Config.Host, "/")+`"`)
	assert.FileExists(t, filepath.Join(certDir, "tls.crt"), "the operator wrote its own certificate")

	ctx := context.Background()
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "laptop"}}))
	require.NoError(t, c.Create(ctx, keyedPolicy("laptop", "p", "openai-key")))
	require.NoError(t, c.Create(ctx, appliedSecret("laptop", "openai-key")))
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, metav1.ConditionTrue, readyCondition(t, c, "laptop", "p").Status)
	}, 30*time.Second, 100*time.Millisecond)
}
