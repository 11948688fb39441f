package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/api/v1alpha1"
)

// The rejection cases shared with the API server live in test/crd, which runs
// each through both. These cover what only Go checks, and the helpers.

func TestValidate_PodSelectorOperators(t *testing.T) {
	tests := map[string]struct {
		expr    metav1.LabelSelectorRequirement
		wantErr bool
	}{
		"In with values":         {expr: metav1.LabelSelectorRequirement{Key: "app", Operator: "In", Values: []string{"a"}}},
		"Exists without values":  {expr: metav1.LabelSelectorRequirement{Key: "app", Operator: "Exists"}},
		"In without values":      {expr: metav1.LabelSelectorRequirement{Key: "app", Operator: "In"}, wantErr: true},
		"Exists with values":     {expr: metav1.LabelSelectorRequirement{Key: "app", Operator: "Exists", Values: []string{"a"}}, wantErr: true},
		"an unknown operator":    {expr: metav1.LabelSelectorRequirement{Key: "app", Operator: "Like", Values: []string{"a"}}, wantErr: true},
		"NotIn with many values": {expr: metav1.LabelSelectorRequirement{Key: "app", Operator: "NotIn", Values: []string{"a", "b"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := minimal()
			p.Spec.PodSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{tc.expr}}
			Default(p)
			errs := Validate(p)
			if !tc.wantErr {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			assert.Equal(t, "spec.podSelector.matchExpressions", errs[0].Field)
		})
	}
}

func TestDefault_FillsOnlyWhatIsUnset(t *testing.T) {
	p := minimal()
	p.Spec.Retry = &v1alpha1.Retry{MaxAttempts: 5, RetryOn: []v1alpha1.RetryCondition{v1alpha1.RetryOnServerError}}
	p.Spec.Budget = &v1alpha1.Budget{Limit: "1"}
	Default(p)

	assert.Equal(t, &v1alpha1.Timeouts{Connect: "5s", FirstToken: "60s", Total: "10m"}, p.Spec.Timeouts)
	assert.Equal(t, int32(5), p.Spec.Retry.MaxAttempts, "set values are kept")
	assert.Equal(t, []v1alpha1.RetryCondition{v1alpha1.RetryOnServerError}, p.Spec.Retry.RetryOn, "set lists are kept")
	assert.Equal(t, &v1alpha1.Backoff{Initial: "500ms", Max: "10s", Jitter: v1alpha1.JitterFull}, p.Spec.Retry.Backoff)
	assert.Equal(t, v1alpha1.ExhaustedBlock, p.Spec.Budget.OnExhausted)
	assert.Nil(t, p.Spec.CircuitBreaker, "absent optional blocks stay absent")
	assert.Nil(t, p.Spec.Cache)
	assert.Empty(t, Validate(p))
}

func TestValidate_ReportsEveryProblemWithItsPath(t *testing.T) {
	p := minimal()
	p.Spec.Providers[0].Name = "Bad Name"
	p.Spec.Timeouts = &v1alpha1.Timeouts{Connect: "1s", FirstToken: "5m", Total: "1m"}
	Default(p)
	var fields []string
	for _, e := range Validate(p) {
		fields = append(fields, e.Field)
	}
	assert.ElementsMatch(t, []string{"spec.providers[0].name", "spec.timeouts.firstToken"}, fields)
}

func minimal() *v1alpha1.LLMPolicy {
	return &v1alpha1.LLMPolicy{Spec: v1alpha1.LLMPolicySpec{Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI}}}}
}
