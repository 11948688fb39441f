package pricing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestTable_WithOverrides(t *testing.T) {
	type lookup struct {
		provider proxyconfig.ProviderType
		model    string
		want     string // input/cached/output, "" when not priced
	}
	tests := map[string]struct {
		overrides []proxyconfig.ModelPrice
		lookups   []lookup
	}{
		"an override wins over the list price": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: "2.00", OutputPerMillion: "8.00", CachedInputPerMillion: "1.00"}},
			lookups:   []lookup{{proxyconfig.OpenAI, "gpt-4o", "2/1/8"}},
		},
		"the cached input price defaults to the input price": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: "2.00", OutputPerMillion: "8.00"}},
			lookups:   []lookup{{proxyconfig.OpenAI, "gpt-4o", "2/2/8"}},
		},
		"an override applies to every provider of the policy": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: "2", OutputPerMillion: "8"}},
			lookups: []lookup{
				{proxyconfig.AzureOpenAI, "gpt-4o", "2/2/8"},
				{proxyconfig.OpenAICompatible, "gpt-4o", "2/2/8"},
				{proxyconfig.Anthropic, "gpt-4o", "2/2/8"},
			},
		},
		"an override prices a model the table does not know": {
			overrides: []proxyconfig.ModelPrice{{Model: "llama-3.1-8b-instruct", InputPerMillion: "0.05", OutputPerMillion: "0.08"}},
			lookups: []lookup{
				{proxyconfig.OpenAICompatible, "llama-3.1-8b-instruct", "0.05/0.05/0.08"},
				{proxyconfig.OpenAICompatible, "llama-3.1-70b-instruct", ""},
			},
		},
		"an override prices its model's snapshots, even one with a list price": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: "2", OutputPerMillion: "8"}},
			lookups: []lookup{
				{proxyconfig.OpenAI, "gpt-4o-2024-08-06", "2/2/8"},
				{proxyconfig.OpenAI, "gpt-4o-2024-05-13", "2/2/8"},
			},
		},
		"an override of a snapshot leaves its model at the list price": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o-2024-08-06", InputPerMillion: "2", OutputPerMillion: "8"}},
			lookups: []lookup{
				{proxyconfig.OpenAI, "gpt-4o-2024-08-06", "2/2/8"},
				{proxyconfig.OpenAI, "gpt-4o", "2.5/1.25/10"},
			},
		},
		"an override of one model leaves the others at their list prices": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: "2", OutputPerMillion: "8"}},
			lookups:   []lookup{{proxyconfig.OpenAI, "gpt-4o-mini", "0.15/0.075/0.6"}},
		},
		"free self-hosted model": {
			overrides: []proxyconfig.ModelPrice{{Model: "qwen2.5", InputPerMillion: "0", OutputPerMillion: "0"}},
			lookups:   []lookup{{proxyconfig.OpenAICompatible, "qwen2.5", "0/0/0"}},
		},
		"no overrides: the list prices": {
			lookups: []lookup{{proxyconfig.OpenAI, "gpt-4o", "2.5/1.25/10"}, {proxyconfig.OpenAICompatible, "gpt-4o", ""}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			table, err := Builtin().WithOverrides(tc.overrides)
			require.NoError(t, err)
			for _, l := range tc.lookups {
				got, ok := table.Lookup(l.provider, l.model)
				if l.want == "" {
					assert.False(t, ok, "%s %s priced at %s", l.provider, l.model, show(got))
					continue
				}
				if assert.True(t, ok, "%s %s not priced", l.provider, l.model) {
					assert.Equal(t, l.want, show(got), "%s %s", l.provider, l.model)
				}
			}
		})
	}
}

func TestTable_WithOverridesLeavesTheBuiltinTableAlone(t *testing.T) {
	derived, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: "1", OutputPerMillion: "1"}})
	require.NoError(t, err)

	got, _ := Builtin().Lookup(proxyconfig.OpenAI, "gpt-4o")
	assert.Equal(t, "2.5/1.25/10", show(got))
	assert.Equal(t, Builtin().AsOf(), derived.AsOf())
}

func TestTable_WithOverridesStacks(t *testing.T) {
	first, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{
		{Model: "a", InputPerMillion: "1", OutputPerMillion: "1"},
		{Model: "b", InputPerMillion: "2", OutputPerMillion: "2"},
	})
	require.NoError(t, err)
	second, err := first.WithOverrides([]proxyconfig.ModelPrice{{Model: "b", InputPerMillion: "3", OutputPerMillion: "3"}})
	require.NoError(t, err)

	a, okA := second.Lookup(proxyconfig.OpenAICompatible, "a")
	b, okB := second.Lookup(proxyconfig.OpenAICompatible, "b")
	require.True(t, okA)
	require.True(t, okB)
	assert.Equal(t, "1/1/1", show(a), "an earlier override is kept")
	assert.Equal(t, "3/3/3", show(b), "a later override of the same model wins")
	b, _ = first.Lookup(proxyconfig.OpenAICompatible, "b")
	assert.Equal(t, "2/2/2", show(b), "the table derived from is unchanged")
}

func TestTable_WithOverridesRefusesBadPrices(t *testing.T) {
	tests := map[string]struct {
		overrides []proxyconfig.ModelPrice
		wantErr   []string // substrings of the error
	}{
		"a comma for a decimal point": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: "2,50", OutputPerMillion: "10"}},
			wantErr:   []string{`"my-model"`, "inputPerMillion", `"2,50"`, `such as "2.50"`},
		},
		"a negative price": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: "1", OutputPerMillion: "-1"}},
			wantErr:   []string{`"my-model"`, "outputPerMillion", `"-1"`},
		},
		"a currency sign": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: "1", OutputPerMillion: "1", CachedInputPerMillion: "$0.10"}},
			wantErr:   []string{`"my-model"`, "cachedInputPerMillion", `"$0.10"`},
		},
		"NaN": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: "NaN", OutputPerMillion: "1"}},
			wantErr:   []string{`"my-model"`, "inputPerMillion", `"NaN"`},
		},
		"an exponent": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: "1e3", OutputPerMillion: "1"}},
			wantErr:   []string{`"my-model"`, "inputPerMillion", `"1e3"`},
		},
		"a missing output price": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: "1"}},
			wantErr:   []string{`"my-model"`, "outputPerMillion", `""`},
		},
		"the second entry's error names the second model": {
			overrides: []proxyconfig.ModelPrice{
				{Model: "good", InputPerMillion: "1", OutputPerMillion: "1"},
				{Model: "bad", InputPerMillion: "one", OutputPerMillion: "1"},
			},
			wantErr: []string{`"bad"`, "inputPerMillion", `"one"`},
		},
		"an entry without a model": {
			overrides: []proxyconfig.ModelPrice{{InputPerMillion: "1", OutputPerMillion: "1"}},
			wantErr:   []string{"pricing[0]", "names no model"},
		},
		"a model named twice": {
			overrides: []proxyconfig.ModelPrice{
				{Model: "gpt-4o", InputPerMillion: "1", OutputPerMillion: "1"},
				{Model: "gpt-4o", InputPerMillion: "2", OutputPerMillion: "2"},
			},
			wantErr: []string{`"gpt-4o"`, "more than once"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			table, err := Builtin().WithOverrides(tc.overrides)
			require.Error(t, err)
			assert.Nil(t, table)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}
