package v1alpha1

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The rejection cases shared with the API server live in test/crd, which runs
// each through both. These cover what only Go checks, and the helpers.

func TestDuration_Parse(t *testing.T) {
	tests := map[string]struct {
		in      Duration
		want    time.Duration
		wantErr string
	}{
		"empty is zero":           {in: "", want: 0},
		"milliseconds":            {in: "500ms", want: 500 * time.Millisecond},
		"compound":                {in: "1h30m", want: 90 * time.Minute},
		"fractional":              {in: "1.5s", want: 1500 * time.Millisecond},
		"not a duration":          {in: "soon", wantErr: `"soon" is not a duration; write it like 500ms, 30s or 2m`},
		"zero is not positive":    {in: "0s", wantErr: `"0s" must be positive`},
		"negative is not allowed": {in: "-1s", wantErr: `"-1s" must be positive`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.in.Parse()
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

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
			p.Default()
			errs := p.Validate()
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
	p.Spec.Retry = &Retry{MaxAttempts: 5, RetryOn: []RetryCondition{RetryOnServerError}}
	p.Spec.Budget = &Budget{Limit: "1"}
	p.Default()

	assert.Equal(t, &Timeouts{Connect: "5s", FirstToken: "60s", Total: "10m"}, p.Spec.Timeouts)
	assert.Equal(t, int32(5), p.Spec.Retry.MaxAttempts, "set values are kept")
	assert.Equal(t, []RetryCondition{RetryOnServerError}, p.Spec.Retry.RetryOn, "set lists are kept")
	assert.Equal(t, &Backoff{Initial: "500ms", Max: "10s", Jitter: JitterFull}, p.Spec.Retry.Backoff)
	assert.Equal(t, ExhaustedBlock, p.Spec.Budget.OnExhausted)
	assert.Nil(t, p.Spec.CircuitBreaker, "absent optional blocks stay absent")
	assert.Nil(t, p.Spec.Cache)
	assert.Empty(t, p.Validate())
}

func TestValidate_ReportsEveryProblemWithItsPath(t *testing.T) {
	p := minimal()
	p.Spec.Providers[0].Name = "Bad Name"
	p.Spec.Timeouts = &Timeouts{Connect: "1s", FirstToken: "5m", Total: "1m"}
	p.Default()
	var fields []string
	for _, e := range p.Validate() {
		fields = append(fields, e.Field)
	}
	assert.ElementsMatch(t, []string{"spec.providers[0].name", "spec.timeouts.firstToken"}, fields)
}

func minimal() *LLMPolicy {
	return &LLMPolicy{Spec: LLMPolicySpec{Providers: []Provider{{Name: "openai", Type: ProviderOpenAI}}}}
}
