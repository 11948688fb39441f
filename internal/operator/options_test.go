package operator

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
)

func TestParse_Defaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "tollgate-system")
	o, err := Parse(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":8080", o.MetricsAddr)
	assert.Equal(t, ":8081", o.HealthProbeAddr)
	assert.Equal(t, "tollgate-system", o.Namespace)
	assert.Equal(t, 9443, o.WebhookPort)
	assert.Equal(t, CertSelf, o.CertManagement)
	assert.True(t, o.EnableWebhook)
	assert.Equal(t, "50m", o.Sidecar.Resources.Requests.Cpu().String())
	assert.Equal(t, "128Mi", o.Sidecar.Resources.Limits.Memory().String())
	_, cpuLimit := o.Sidecar.Resources.Limits[corev1.ResourceCPU]
	assert.False(t, cpuLimit, "no CPU limit by default: it would throttle streams")
}

func TestParse_RefusesBadSettingsWithWhatToDo(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"unknown cert management":   {[]string{"--namespace=x", "--cert-management=vault"}, "--cert-management \"vault\": use self, cert-manager or external"},
		"self certs need namespace": {nil, "--namespace is required to manage webhook certificates"},
		"leader election needs ns":  {[]string{"--enable-webhook=false", "--leader-elect"}, "--namespace is required with --leader-elect"},
		"bad quantity":              {[]string{"--namespace=x", "--sidecar-memory-limit=lots"}, "--sidecar-memory-limit \"lots\" is not a quantity"},
		"request above limit":       {[]string{"--namespace=x", "--sidecar-memory-request=1Gi"}, "memory request 1Gi is above its limit 128Mi"},
		"bad sidecar log level":     {[]string{"--namespace=x", "--sidecar-log-level=loud"}, "sidecar log level \"loud\""},
		"bad log level":             {[]string{"--namespace=x", "--log-level=loud"}, "--log-level \"loud\""},
		"bad OTLP endpoint":         {[]string{"--namespace=x", "--sidecar-otel-endpoint=collector"}, "sidecar OpenTelemetry endpoint \"collector\" is not an http(s) URL"},
		"positional argument":       {[]string{"run"}, "unexpected argument \"run\""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("POD_NAMESPACE", "")
			_, err := Parse(tc.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// kubeconfigFor writes a kubeconfig whose cluster is server.
func kubeconfigFor(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: `+server+`}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600))
	return path
}

// The operator parses its own flag set, not flag.CommandLine where
// controller-runtime registers --kubeconfig: Parse must register it, and
// ctrl.GetConfig must then prefer it to $KUBECONFIG, as it does elsewhere.
func TestParse_KubeconfigFlagThenKUBECONFIGChooseTheCluster(t *testing.T) {
	flagFile, envFile := kubeconfigFor(t, "https://flag.example:6443"), kubeconfigFor(t, "https://env.example:6443")
	t.Setenv("KUBECONFIG", envFile)
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod, whatever runs the test
	tests := map[string]struct {
		args     []string
		wantHost string
	}{
		"--kubeconfig":          {[]string{"--kubeconfig=" + flagFile}, "https://flag.example:6443"},
		"KUBECONFIG without it": {nil, "https://env.example:6443"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(append([]string{"--enable-webhook=false", "--ledger-bind-address=0"}, tc.args...), io.Discard)
			require.NoError(t, err)
			cfg, err := ctrl.GetConfig()
			require.NoError(t, err)
			assert.Equal(t, tc.wantHost, cfg.Host)
		})
	}
	var help bytes.Buffer
	_, err := Parse([]string{"--help"}, &help)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, help.String(), "-kubeconfig", "--help lists it")
}

func TestParse_SecretNamespaces(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "tollgate-system")
	o, err := Parse([]string{"--secret-namespaces=shop, team-a,"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"shop", "team-a"}, o.SecretNamespaces)

	o, err = Parse(nil, io.Discard)
	require.NoError(t, err)
	assert.Nil(t, o.SecretNamespaces, "every namespace by default")

	_, err = Parse([]string{"--secret-namespaces=Shop"}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--secret-namespaces: "Shop" is not a namespace name`)
}
