package operator

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
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
		"unknown cert management":   {[]string{"--namespace=x", "--cert-management=vault"}, "--cert-management \"vault\": use self or cert-manager"},
		"self certs need namespace": {nil, "--namespace is required to manage webhook certificates"},
		"leader election needs ns":  {[]string{"--enable-webhook=false", "--leader-elect"}, "--namespace is required with --leader-elect"},
		"bad quantity":              {[]string{"--namespace=x", "--sidecar-memory-limit=lots"}, "--sidecar-memory-limit \"lots\" is not a quantity"},
		"request above limit":       {[]string{"--namespace=x", "--sidecar-memory-request=1Gi"}, "memory request 1Gi is above its limit 128Mi"},
		"bad sidecar log level":     {[]string{"--namespace=x", "--sidecar-log-level=loud"}, "sidecar log level \"loud\""},
		"bad log level":             {[]string{"--namespace=x", "--log-level=loud"}, "--log-level \"loud\""},
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
