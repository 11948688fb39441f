package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/api/v1alpha1"
)

// The rejection cases shared with the API server live in test/crd, which runs
// each through both. These cover what only Go checks, and the helpers.

func TestValidate_PodSelectorOperators(t *testing.T) {
	tests := map[string]struct {
		expr      v1alpha1.LabelSelectorRequirement
		wantField string // empty: valid
	}{
		"In with values":         {expr: v1alpha1.LabelSelectorRequirement{Key: "app", Operator: "In", Values: []v1alpha1.LabelValue{"a"}}},
		"Exists without values":  {expr: v1alpha1.LabelSelectorRequirement{Key: "app", Operator: "Exists"}},
		"NotIn with many values": {expr: v1alpha1.LabelSelectorRequirement{Key: "app.kubernetes.io/name", Operator: "NotIn", Values: []v1alpha1.LabelValue{"a", "b", ""}}},
		"In without values":      {expr: v1alpha1.LabelSelectorRequirement{Key: "app", Operator: "In"}, wantField: "spec.podSelector.matchExpressions[0]"},
		"Exists with values":     {expr: v1alpha1.LabelSelectorRequirement{Key: "app", Operator: "Exists", Values: []v1alpha1.LabelValue{"a"}}, wantField: "spec.podSelector.matchExpressions[0]"},
		"an unknown operator":    {expr: v1alpha1.LabelSelectorRequirement{Key: "app", Operator: "Like"}, wantField: "spec.podSelector.matchExpressions[0].operator"},
		"a key with a space":     {expr: v1alpha1.LabelSelectorRequirement{Key: "my app", Operator: "Exists"}, wantField: "spec.podSelector.matchExpressions[0].key"},
		"a value with a slash":   {expr: v1alpha1.LabelSelectorRequirement{Key: "app", Operator: "In", Values: []v1alpha1.LabelValue{"a/b"}}, wantField: "spec.podSelector.matchExpressions[0].values[0]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := minimal()
			p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{tc.expr}}
			Default(p)
			errs := Validate(p)
			if tc.wantField == "" {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1, "%v", errs)
			assert.Equal(t, tc.wantField, errs[0].Field)
		})
	}
}

func TestValidate_PodSelectorLabels(t *testing.T) {
	p := minimal()
	p.Spec.PodSelector = &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{
		"app.kubernetes.io/name": "chat", "tier": "", "bad key": "x", "ok": "bad value",
	}}
	Default(p)
	errs := Validate(p)
	require.Len(t, errs, 2, "%v", errs)
	assert.Equal(t, "spec.podSelector.matchLabels", errs[0].Field)
	assert.Equal(t, "bad key", errs[0].BadValue)
	assert.Equal(t, "spec.podSelector.matchLabels[ok]", errs[1].Field)
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

func TestValidate_SemanticCacheThresholds(t *testing.T) {
	tests := map[string]struct {
		threshold string
		wantValid bool
	}{
		"the default":             {threshold: "0.95", wantValid: true},
		"the lowest":              {threshold: "0.5", wantValid: true},
		"the lowest, padded":      {threshold: "0.5000", wantValid: true},
		"one":                     {threshold: "1", wantValid: true},
		"one with decimals":       {threshold: "1.0000", wantValid: true},
		"four decimals":           {threshold: "0.9375", wantValid: true},
		"just below the lowest":   {threshold: "0.4999"},
		"above one":               {threshold: "1.0001"},
		"no leading zero":         {threshold: ".95"},
		"a percentage":            {threshold: "95"},
		"an exponent":             {threshold: "9.5e-1"},
		"a sign":                  {threshold: "+0.95"},
		"a trailing dot":          {threshold: "0."},
		"whitespace":              {threshold: " 0.95"},
		"not a number":            {threshold: "high"},
		"an explicit empty value": {threshold: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := minimal()
			p.Spec.Cache = &v1alpha1.Cache{Semantic: &v1alpha1.SemanticCache{Embedding: v1alpha1.SemanticEmbedding{Provider: "openai", Model: "text-embedding-3-small"}}}
			Default(p)
			p.Spec.Cache.Semantic.Threshold = tc.threshold
			errs := Validate(p)
			if tc.wantValid {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1, "%v", errs)
			assert.Equal(t, "spec.cache.semantic.threshold", errs[0].Field)
		})
	}
}
