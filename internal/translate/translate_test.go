package translate

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// TestPolicy_Golden translates each testdata/*.yaml LLMPolicy (defaulted as
// the API server would) and compares it with testdata/*.golden.json. Run
// with -update to accept a change in output.
func TestPolicy_Golden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			p := readPolicy(t, in)
			p.Default()
			require.Empty(t, p.Validate(), "testdata must be valid policies")
			out, err := Policy(p)
			require.NoError(t, err)
			require.NoError(t, out.Validate(), "a translated policy must satisfy the sidecar's checks")
			got, err := json.MarshalIndent(out, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')

			golden := strings.TrimSuffix(in, ".yaml") + ".golden.json"
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./internal/translate -update to create it")
			assert.Equal(t, string(want), string(got))
		})
	}
}

func TestBundle_OrdersOldestFirstThenByName(t *testing.T) {
	at := func(min int) metav1.Time { return metav1.NewTime(time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC)) }
	mk := func(name string, created metav1.Time) v1alpha1.LLMPolicy {
		p := v1alpha1.LLMPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: created},
			Spec: v1alpha1.LLMPolicySpec{Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI}}}}
		p.Default()
		return p
	}
	b, err := Bundle("ns", []v1alpha1.LLMPolicy{mk("c", at(5)), mk("b", at(1)), mk("a", at(5))})
	require.NoError(t, err)
	var names []string
	for _, p := range b.Policies {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"b", "a", "c"}, names)
	require.NoError(t, b.Validate())
}

func TestBundle_EmptyNamespaceHasNoPolicies(t *testing.T) {
	b, err := Bundle("ns", nil)
	require.NoError(t, err)
	raw, err := json.Marshal(b)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"policies":[]`)
}

func readPolicy(t *testing.T, path string) *v1alpha1.LLMPolicy {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var p v1alpha1.LLMPolicy
	require.NoError(t, yaml.UnmarshalStrict(raw, &p))
	return &p
}
