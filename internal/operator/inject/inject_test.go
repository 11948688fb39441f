package inject

import (
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/internal/sidecar"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func plainPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: "team-a"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/chat:1.0"}}},
	}
}

func sidecarOf(t *testing.T, pod *corev1.Pod) corev1.Container {
	t.Helper()
	for _, c := range pod.Spec.InitContainers {
		if c.Name == ContainerName {
			return c
		}
	}
	require.FailNow(t, "the pod has no sidecar")
	return corev1.Container{}
}

// TestInject_SidecarArgsAreTheSidecarsFlags parses the injected command line
// with the sidecar's own parser, so that a renamed flag breaks this test
// rather than every injected pod.
func TestInject_SidecarArgsAreTheSidecarsFlags(t *testing.T) {
	cfg := testConfig()
	cfg.LogLevel = "debug"
	out, err := Inject(plainPod(), nil, cfg)
	require.NoError(t, err)

	opts, err := sidecar.Parse(sidecarOf(t, out).Args, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(ConfigDir, BundleKey), opts.PolicyFile)
	assert.Equal(t, filepath.Join(PodInfoDir, PodLabelsFile), opts.PodLabelsFile)
	assert.True(t, opts.AllowMissingPolicy)
	assert.Equal(t, CredentialsDir, opts.CredentialsDir)
	assert.Equal(t, "127.0.0.1:15000", opts.Listen)
	assert.Equal(t, "0.0.0.0:15020", opts.Admin)
	assert.Equal(t, "debug", opts.LogLevel.String())
	assert.Equal(t, ProxyURL, "http://"+opts.Listen)
}

// TestInject_WithALedgerTheSidecarGetsItsURLTokenStateAndPodUID checks the
// ledger's additions by the sidecar's own parser, and the volumes behind
// the paths it is given.
func TestInject_WithALedgerTheSidecarGetsItsURLTokenStateAndPodUID(t *testing.T) {
	cfg := testConfig()
	cfg.LedgerURLs = []string{"https://tollgate-ledger.tollgate-system.svc:8443"}
	cfg.MaxRequestBytes, cfg.MaxBufferedBytes = 16<<20, 64<<20
	out, err := Inject(plainPod(), nil, cfg)
	require.NoError(t, err)
	c := sidecarOf(t, out)
	t.Setenv("POD_UID", "")
	opts, err := sidecar.Parse(c.Args, io.Discard)
	require.Error(t, err, "without POD_UID from the downward API the sidecar refuses to start")
	t.Setenv("POD_UID", "4c1f-uid")
	opts, err = sidecar.Parse(c.Args, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, cfg.LedgerURLs, opts.Ledger.URLs)
	assert.Equal(t, filepath.Join(ConfigDir, LedgerCAKey), opts.Ledger.CAFile)
	assert.Equal(t, filepath.Join(TokenDir, TokenFile), opts.Ledger.TokenFile)
	assert.Equal(t, StateDir, opts.Ledger.StateDir)
	assert.Equal(t, "Block", opts.Ledger.Unreachable)
	assert.Equal(t, int64(16<<20), opts.MaxRequestBytes)
	assert.Equal(t, int64(64<<20), opts.MaxBufferedBytes)
	require.Len(t, c.Env, 1)
	assert.Equal(t, "metadata.uid", c.Env[0].ValueFrom.FieldRef.FieldPath)

	vols := map[string]corev1.Volume{}
	for _, v := range out.Spec.Volumes {
		vols[v.Name] = v
	}
	token := vols[TokenVolume].Projected.Sources[0].ServiceAccountToken
	require.NotNil(t, token)
	assert.Equal(t, TokenAudience, token.Audience)
	assert.Equal(t, int64(TokenExpirationSeconds), *token.ExpirationSeconds)
	assert.NotNil(t, vols[StateVolume].EmptyDir)
	for _, m := range c.VolumeMounts {
		assert.Equal(t, m.Name != StateVolume && m.Name != FailuresVolume, m.ReadOnly, "only the state and the failure records are writable: %s", m.Name)
	}
}

// TestInject_FailureRecordsLiveInAnEmptyDirTwiceTheirBound checks, with
// the sidecar's own parser, that the sidecar keeps failure records in its
// own writable emptyDir, and that the volume's sizeLimit (past which the
// kubelet evicts the pod) leaves room beyond the records' bound.
func TestInject_FailureRecordsLiveInAnEmptyDirTwiceTheirBound(t *testing.T) {
	out, err := Inject(plainPod(), nil, testConfig())
	require.NoError(t, err)
	c := sidecarOf(t, out)
	opts, err := sidecar.Parse(c.Args, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, FailuresDir, opts.FailureRecords.Dir)

	var vol *corev1.Volume
	for i, v := range out.Spec.Volumes {
		if v.Name == FailuresVolume {
			vol = &out.Spec.Volumes[i]
		}
	}
	require.NotNil(t, vol)
	require.NotNil(t, vol.EmptyDir)
	assert.Empty(t, vol.EmptyDir.Medium, "on the node's disk, not in the pod's memory")
	require.NotNil(t, vol.EmptyDir.SizeLimit)
	assert.GreaterOrEqual(t, vol.EmptyDir.SizeLimit.Value(), 2*opts.FailureRecords.MaxBytes)
	var mounted bool
	for _, m := range c.VolumeMounts {
		if m.Name == FailuresVolume {
			mounted = true
			assert.Equal(t, FailuresDir, m.MountPath)
			assert.False(t, m.ReadOnly)
		}
	}
	assert.True(t, mounted)
	for _, app := range out.Spec.Containers {
		assert.Empty(t, app.VolumeMounts, "only the sidecar mounts the records")
	}
}

func TestInject_MountsCredentialsOnlyWhenThePolicyNamesThem(t *testing.T) {
	tests := map[string]struct {
		policy *proxyconfig.Policy
		want   bool
	}{
		"no policy": {policy: nil},
		"a policy without credentials": {
			policy: &proxyconfig.Policy{Providers: []proxyconfig.Provider{{Name: "openai", Type: proxyconfig.OpenAI}}},
		},
		"a policy with credentials": {
			policy: &proxyconfig.Policy{Providers: []proxyconfig.Provider{
				{Name: "openai", Type: proxyconfig.OpenAI, Credentials: &proxyconfig.SecretRef{Name: "keys", Key: "openai"}},
			}},
			want: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := Inject(plainPod(), tc.policy, testConfig())
			require.NoError(t, err)
			var volumes, mounts []string
			for _, v := range out.Spec.Volumes {
				volumes = append(volumes, v.Name)
			}
			for _, m := range sidecarOf(t, out).VolumeMounts {
				mounts = append(mounts, m.Name)
			}
			assert.Equal(t, tc.want, slices.Contains(volumes, CredentialsVolume))
			assert.Equal(t, tc.want, slices.Contains(mounts, CredentialsVolume))
			assert.Empty(t, out.Spec.Containers[0].VolumeMounts, "the app never mounts the sidecar's volumes")
		})
	}
}

func TestInject_RefusesAPodUsingTheSidecarsVolumeNames(t *testing.T) {
	pod := plainPod()
	pod.Spec.Volumes = []corev1.Volume{{Name: ConfigVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	_, err := Inject(pod, nil, testConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already has a volume named tollgate-config")
	assert.Contains(t, err.Error(), "rename the volume")
}

func TestInject_RefusesAnInvalidConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Image = ""
	_, err := Inject(plainPod(), nil, cfg)
	assert.ErrorContains(t, err, "sidecar image is empty")
}

func TestProviderVariable(t *testing.T) {
	tests := map[string]string{
		"openai":     "TOLLGATE_OPENAI_BASE_URL",
		"azure-east": "TOLLGATE_AZURE_EAST_BASE_URL",
		"llm-2":      "TOLLGATE_LLM_2_BASE_URL",
		"9x":         "TOLLGATE_9X_BASE_URL",
	}
	for provider, want := range tests {
		t.Run(provider, func(t *testing.T) {
			assert.Equal(t, want, ProviderVariable(provider))
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := map[string]struct {
		mutate   func(*Config)
		wantErrs []string
	}{
		"the defaults are valid": {mutate: func(*Config) {}},
		"an empty image": {
			mutate: func(c *Config) { c.Image = "" }, wantErrs: []string{"sidecar image is empty: set --sidecar-image"},
		},
		"an unknown pull policy": {
			mutate: func(c *Config) { c.ImagePullPolicy = "Sometimes" }, wantErrs: []string{`pull policy "Sometimes": use Always, IfNotPresent or Never`},
		},
		"an unknown log level": {
			mutate: func(c *Config) { c.LogLevel = "verbose" }, wantErrs: []string{`log level "verbose": use debug, info, warn or error`},
		},
		"a request above its limit": {
			mutate: func(c *Config) {
				c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("256Mi")
			},
			wantErrs: []string{"memory request 256Mi is above its limit 128Mi"},
		},
		"every problem at once": {
			mutate:   func(c *Config) { c.Image, c.LogLevel = "", "" },
			wantErrs: []string{"sidecar image is empty", `log level ""`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if len(tc.wantErrs) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErrs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

// The operator sees only Secrets' metadata, so the key a policy names is
// checked by the kubelet: each key is projected by name, and the volume is
// not optional, so a missing key (or Secret) fails the pod's mount with an
// event naming it (`MountVolume.SetUp failed for volume
// "tollgate-credentials" : references non-existent secret key: apiKey`)
// rather than starting a sidecar that sends no key.
func TestInject_ACredentialsKeyIsProjectedByNameSoAMissingOneStopsThePod(t *testing.T) {
	policy := &proxyconfig.Policy{Providers: []proxyconfig.Provider{
		{Name: "openai", Credentials: &proxyconfig.SecretRef{Name: "openai-key", Key: "apiKey"}},
		{Name: "openai-backup", Credentials: &proxyconfig.SecretRef{Name: "openai-key", Key: "backupKey"}},
		{Name: "local"},
	}}
	out, err := Inject(plainPod(), policy, testConfig())
	require.NoError(t, err)

	var creds *corev1.Volume
	for i := range out.Spec.Volumes {
		if out.Spec.Volumes[i].Name == CredentialsVolume {
			creds = &out.Spec.Volumes[i]
		}
	}
	require.NotNil(t, creds)
	require.NotNil(t, creds.Projected)
	require.Len(t, creds.Projected.Sources, 1, "one source per Secret")
	s := creds.Projected.Sources[0].Secret
	require.NotNil(t, s)
	assert.Equal(t, "openai-key", s.Name)
	require.NotNil(t, s.Optional)
	assert.False(t, *s.Optional, "a missing Secret or key must fail the mount")
	assert.Equal(t, []corev1.KeyToPath{{Key: "apiKey", Path: "openai"}, {Key: "backupKey", Path: "openai-backup"}}, s.Items,
		"every key is named: the kubelet refuses a mount whose named key is missing")
	assert.Contains(t, sidecarOf(t, out).VolumeMounts, corev1.VolumeMount{Name: CredentialsVolume, MountPath: CredentialsDir, ReadOnly: true})
	for _, c := range out.Spec.Containers {
		for _, m := range c.VolumeMounts {
			assert.NotEqual(t, CredentialsVolume, m.Name, "the app container %s never mounts the keys", c.Name)
		}
	}
}
