package inject

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// testCase is a testdata/<name>.yaml input: a pod, the labels of its
// namespace, and the LLMPolicy that selects it, if any.
type testCase struct {
	NamespaceLabels map[string]string   `json:"namespaceLabels,omitempty"`
	Policy          *v1alpha1.LLMPolicy `json:"policy,omitempty"`
	Pod             corev1.Pod          `json:"pod"`
}

// testConfig is DefaultConfig with a pinned image, so that the golden
// files also pin the default resources, pull policy and log level.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Image = "ghcr.io/tollgate-dev/tollgate-sidecar:v0.0.0-test"
	return cfg
}

func readCase(t *testing.T, path string) (testCase, *proxyconfig.Policy) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var tc testCase
	require.NoError(t, yaml.UnmarshalStrict(raw, &tc), path)
	if tc.Policy == nil {
		return tc, nil
	}
	validation.Default(tc.Policy) // as the API server would
	require.Empty(t, validation.Validate(tc.Policy), "testdata must hold valid policies")
	p, err := translate.Policy(tc.Policy)
	require.NoError(t, err)
	return tc, &p
}

// admit does what the webhook does with a pod: inject it if it wants the
// sidecar.
func admit(t *testing.T, tc testCase, policy *proxyconfig.Policy) *corev1.Pod {
	t.Helper()
	if wanted, _ := Wanted(&tc.Pod, tc.NamespaceLabels); !wanted {
		return tc.Pod.DeepCopy()
	}
	out, err := Inject(&tc.Pod, policy, testConfig())
	require.NoError(t, err)
	return out
}

func inputs(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.yaml")
	require.NoError(t, err)
	var out []string
	for _, p := range paths {
		if !strings.HasSuffix(p, ".golden.yaml") {
			out = append(out, p)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestInject_Golden admits each testdata/<name>.yaml pod and compares the
// result with testdata/<name>.golden.yaml. Run with -update to accept a
// change in output, and review the diff.
func TestInject_Golden(t *testing.T) {
	for _, in := range inputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			tc, policy := readCase(t, in)
			got, err := yaml.Marshal(admit(t, tc, policy))
			require.NoError(t, err)

			golden := strings.TrimSuffix(in, ".yaml") + ".golden.yaml"
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./internal/operator/inject -update to create it")
			assert.Equal(t, string(want), string(got))
		})
	}
}

// TestInject_LeavesPodsWithoutTheSidecarAlone pins the cases whose golden
// output must equal their input, so that -update cannot bless a change to
// them.
func TestInject_LeavesPodsWithoutTheSidecarAlone(t *testing.T) {
	for _, name := range []string{"opt-out", "already-injected"} {
		t.Run(name, func(t *testing.T) {
			tc, policy := readCase(t, filepath.Join("testdata", name+".yaml"))
			assert.Equal(t, &tc.Pod, admit(t, tc, policy))
		})
	}
}

// TestInject_IsIdempotent injects every testdata pod twice: the second
// injection, as by a re-invoked webhook, changes nothing.
func TestInject_IsIdempotent(t *testing.T) {
	for _, in := range inputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			tc, policy := readCase(t, in)
			once, err := Inject(&tc.Pod, policy, testConfig())
			require.NoError(t, err)
			twice, err := Inject(once, policy, testConfig())
			require.NoError(t, err)
			assert.Equal(t, once, twice)
		})
	}
}

// TestInject_DoesNotChangeItsInput keeps the caller's pod intact: the
// webhook computes its patch from the difference.
func TestInject_DoesNotChangeItsInput(t *testing.T) {
	for _, in := range inputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			tc, policy := readCase(t, in)
			before := tc.Pod.DeepCopy()
			_, err := Inject(&tc.Pod, policy, testConfig())
			require.NoError(t, err)
			assert.Equal(t, before, &tc.Pod)
		})
	}
}
