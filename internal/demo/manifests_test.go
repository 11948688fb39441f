package demo

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/translate"
)

// TestReadManifests_TheSamplesFitTogether checks what the demo relies on
// in config/samples/demo before it starts anything: the policy is valid,
// selects both pods, points at the mock, the pods run as the sample
// ServiceAccount, and the edit changes only the budget limit.
func TestReadManifests_TheSamplesFitTogether(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	const mockURL = "http://127.0.0.1:1234"
	m, err := readManifests(root, mockURL)
	require.NoError(t, err)

	var ns corev1.Namespace
	require.NoError(t, yaml.UnmarshalStrict(m.namespace, &ns))
	assert.Equal(t, demoNamespace, ns.Name)
	assert.Equal(t, inject.NamespaceEnabled, ns.Labels[inject.NamespaceLabel], "the namespace opts its pods into injection")

	var sa corev1.ServiceAccount
	require.NoError(t, yaml.UnmarshalStrict(m.serviceAccount, &sa))
	assert.Equal(t, serviceAccount, sa.Name)
	assert.Equal(t, demoNamespace, sa.Namespace)

	policy := decodePolicy(t, m.policy)
	assert.Equal(t, policyName, policy.Name)
	assert.Equal(t, demoNamespace, policy.Namespace)
	require.Len(t, policy.Spec.Providers, 1)
	assert.Equal(t, mockURL, policy.Spec.Providers[0].BaseURL, "the provider points at the demo's mock")
	selector := translate.Selector(policy.Spec.PodSelector)
	assert.Equal(t, v1alpha1.ExhaustedBlock, policy.Spec.Budget.OnExhausted)

	require.Len(t, m.pods, len(demoPods))
	for i, want := range demoPods {
		var pod corev1.Pod
		require.NoError(t, yaml.UnmarshalStrict(m.pods[i], &pod), want.file)
		assert.Equal(t, want.name, pod.Name, want.file)
		assert.Equal(t, demoNamespace, pod.Namespace, want.file)
		assert.Equal(t, sa.Name, pod.Spec.ServiceAccountName, "%s runs as the demo's ServiceAccount, whose token its sidecar presents to the ledger", want.file)
		assert.Empty(t, pod.OwnerReferences, "%s is a workload of its own", want.file)
		require.Len(t, pod.Spec.Containers, 1, want.file)
		assert.Equal(t, appContainer, pod.Spec.Containers[0].Name, want.file)
		assert.True(t, selector.Matches(pod.Labels), "the policy selects %s", want.file)
	}

	raised := decodePolicy(t, m.raisedPolicy)
	assert.Equal(t, "1", raised.Spec.Budget.Limit)
	raised.Spec.Budget.Limit = policy.Spec.Budget.Limit
	assert.Equal(t, policy, raised, "the edit changes the budget limit only")
	assert.Equal(t, policy.Spec, m.spec)
}

// decodePolicy reads an LLMPolicy and checks it as the API server's
// validation (mirrored in Go) would.
func decodePolicy(t *testing.T, data []byte) v1alpha1.LLMPolicy {
	t.Helper()
	var p v1alpha1.LLMPolicy
	require.NoError(t, yaml.UnmarshalStrict(data, &p))
	validation.Default(&p)
	require.Empty(t, validation.Validate(&p))
	return p
}

func TestReplaceOnce_FailsUnlessTheTextIsThereExactlyOnce(t *testing.T) {
	tests := map[string]struct {
		text    string
		want    string
		wantErr string
	}{
		"once":    {text: `limit: "0.05"`, want: `limit: "1"`},
		"missing": {text: `limit: "2"`, wantErr: "found it 0 times"},
		"twice":   {text: `limit: "0.05" limit: "0.05"`, wantErr: "found it 2 times"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := replaceOnce(tc.text, budgetLine, raisedBudgetLine)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
