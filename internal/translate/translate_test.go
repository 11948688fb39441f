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
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/pkg/proxyconfig"
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
			validation.Default(p)
			require.Empty(t, validation.Validate(p), "testdata must be valid policies")
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
		validation.Default(&p)
		return p
	}
	b, invalid := Bundle("ns", []v1alpha1.LLMPolicy{mk("c", at(5)), mk("b", at(1)), mk("a", at(5))})
	require.Empty(t, invalid)
	var names []string
	for _, p := range b.Policies {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"b", "a", "c"}, names)
	require.NoError(t, b.Validate())
}

func TestBundle_EmptyNamespaceHasNoPolicies(t *testing.T) {
	b, invalid := Bundle("ns", nil)
	require.Empty(t, invalid)
	raw, err := json.Marshal(b)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"policies":[]`)
}

func TestBundle_LeavesOutABadPolicyAndKeepsTheGoodOnes(t *testing.T) {
	at := func(min int) metav1.Time { return metav1.NewTime(time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC)) }
	mk := func(name string, created metav1.Time, app string) v1alpha1.LLMPolicy {
		p := v1alpha1.LLMPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: created},
			Spec: v1alpha1.LLMPolicySpec{
				PodSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"app": v1alpha1.LabelValue(app)}},
				Providers:   []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI}},
			}}
		validation.Default(&p)
		return p
	}
	// The oldest policy selects every pod but cannot be translated (a
	// duration the API server accepted under an older schema, say); it must
	// neither stop the namespace nor win pods it cannot serve.
	bad := mk("bad", at(1), "chat")
	bad.Spec.PodSelector = nil
	bad.Spec.Timeouts.Total = "forever"
	badLimit := mk("bad-limit", at(2), "chat")
	badLimit.Spec.Budget = &v1alpha1.Budget{Limit: "1e3", Period: v1alpha1.BudgetMonthly, SoftLimitPercent: 80, OnExhausted: v1alpha1.ExhaustedBlock}
	good := mk("good", at(3), "chat")

	b, invalid := Bundle("ns", []v1alpha1.LLMPolicy{good, bad, badLimit})
	require.Len(t, b.Policies, 1)
	assert.Equal(t, "good", b.Policies[0].Name)
	require.NoError(t, b.Validate())
	assert.Equal(t, "good", b.Select(map[string]string{"app": "chat"}).Name, "the pod follows the good policy")
	require.Len(t, invalid, 2)
	assert.ErrorContains(t, invalid["bad"], `spec.timeouts.total: Invalid value: "forever"`)
	assert.ErrorContains(t, invalid["bad-limit"], `spec.budget.limit: Invalid value: "1e3": must be a USD amount`)
}

func TestFile_ValidatesAndTranslates(t *testing.T) {
	p := readPolicy(t, "testdata/minimal.yaml")
	validation.Default(p)
	out, err := File(p)
	require.NoError(t, err)
	assert.Equal(t, proxyconfig.Duration(10*time.Minute), out.Timeouts.Total, "defaults are applied")

	p = readPolicy(t, "testdata/minimal.yaml")
	validation.Default(p)
	p.Spec.Retry = &v1alpha1.Retry{MaxAttempts: 11}
	_, err = File(p)
	assert.ErrorContains(t, err, "spec.retry.maxAttempts")

	p = readPolicy(t, "testdata/minimal.yaml")
	validation.Default(p)
	p.Spec.Pricing = []v1alpha1.ModelPrice{{Model: "m", InputPerMillion: "2,50", OutputPerMillion: "1"}}
	_, err = File(p)
	assert.ErrorContains(t, err, `spec.pricing[0].inputPerMillion: Invalid value: "2,50": must be a USD price per million tokens`)

	p = readPolicy(t, "testdata/minimal.yaml")
	validation.Default(p)
	p.Spec.Pricing = []v1alpha1.ModelPrice{{Model: "m", InputPerMillion: "3", OutputPerMillion: "15", CacheWritePerMillion: "-3.75", CacheWrite1hPerMillion: "6e0"}}
	_, err = File(p)
	assert.ErrorContains(t, err, `spec.pricing[0].cacheWritePerMillion: Invalid value: "-3.75": must be a USD price per million tokens`)
	assert.ErrorContains(t, err, `spec.pricing[0].cacheWrite1hPerMillion: Invalid value: "6e0": must be a USD price per million tokens`)
}

func readPolicy(t *testing.T, path string) *v1alpha1.LLMPolicy {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var p v1alpha1.LLMPolicy
	require.NoError(t, yaml.UnmarshalStrict(raw, &p))
	return &p
}

func TestPolicy_ForwardsTraceContextOnlyToTheProvidersThatSayTrue(t *testing.T) {
	yes, no := true, false
	for name, tc := range map[string]struct {
		field *bool
		want  bool
	}{
		"unset (a standalone file without defaults)": {field: nil, want: false},
		"false, the API server's default":            {field: &no, want: false},
		"true":                                       {field: &yes, want: true},
	} {
		t.Run(name, func(t *testing.T) {
			p := readPolicy(t, "testdata/minimal.yaml")
			p.Spec.Providers[0].ForwardTraceContext = tc.field
			out, err := Policy(p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out.Providers[0].ForwardTraceContext)
		})
	}
}
