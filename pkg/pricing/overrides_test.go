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
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: usd("2.00"), OutputPerMillion: usd("8.00"), CachedInputPerMillion: usdp("1.00")}},
			lookups:   []lookup{{proxyconfig.OpenAI, "gpt-4o", "2/1/8"}},
		},
		"the cached input price defaults to the input price": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: usd("2.00"), OutputPerMillion: usd("8.00")}},
			lookups:   []lookup{{proxyconfig.OpenAI, "gpt-4o", "2/2/8"}},
		},
		"an override applies to every provider of the policy": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: usd("2"), OutputPerMillion: usd("8")}},
			lookups: []lookup{
				{proxyconfig.AzureOpenAI, "gpt-4o", "2/2/8"},
				{proxyconfig.OpenAICompatible, "gpt-4o", "2/2/8"},
				{proxyconfig.Anthropic, "gpt-4o", "2/2/8"},
			},
		},
		"an override prices a model the table does not know": {
			overrides: []proxyconfig.ModelPrice{{Model: "llama-3.1-8b-instruct", InputPerMillion: usd("0.05"), OutputPerMillion: usd("0.08")}},
			lookups: []lookup{
				{proxyconfig.OpenAICompatible, "llama-3.1-8b-instruct", "0.05/0.05/0.08"},
				{proxyconfig.OpenAICompatible, "llama-3.1-70b-instruct", ""},
			},
		},
		"an override prices its model's snapshots, even one with a list price": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: usd("2"), OutputPerMillion: usd("8")}},
			lookups: []lookup{
				{proxyconfig.OpenAI, "gpt-4o-2024-08-06", "2/2/8"},
				{proxyconfig.OpenAI, "gpt-4o-2024-05-13", "2/2/8"},
			},
		},
		"an override of a snapshot leaves its model at the list price": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o-2024-08-06", InputPerMillion: usd("2"), OutputPerMillion: usd("8")}},
			lookups: []lookup{
				{proxyconfig.OpenAI, "gpt-4o-2024-08-06", "2/2/8"},
				{proxyconfig.OpenAI, "gpt-4o", "2.5/1.25/10"},
			},
		},
		"an override of one model leaves the others at their list prices": {
			overrides: []proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: usd("2"), OutputPerMillion: usd("8")}},
			lookups:   []lookup{{proxyconfig.OpenAI, "gpt-4o-mini", "0.15/0.075/0.6"}},
		},
		"free self-hosted model": {
			overrides: []proxyconfig.ModelPrice{{Model: "qwen2.5", InputPerMillion: usd("0"), OutputPerMillion: usd("0")}},
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

func TestTable_CacheWritePrices(t *testing.T) {
	tests := map[string]struct {
		overrides         []proxyconfig.ModelPrice
		provider          proxyconfig.ProviderType
		model             string
		wantWrite, want1h string
	}{
		"the list price of a Claude model writes at 1.25 and 2 times its input price": {
			provider: proxyconfig.Anthropic, model: "claude-sonnet-4-5-20250929", wantWrite: "3.75", want1h: "6",
		},
		"an override without cache-write prices gets the same defaults": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-claude", InputPerMillion: usd("0.80"), OutputPerMillion: usd("4")}},
			provider:  proxyconfig.OpenAICompatible, model: "my-claude", wantWrite: "1", want1h: "1.6",
		},
		"cache-write prices an override sets are kept": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-claude", InputPerMillion: usd("3"), OutputPerMillion: usd("15"), CacheWritePerMillion: usdp("3.5"), CacheWrite1hPerMillion: usdp("5")}},
			provider:  proxyconfig.Anthropic, model: "my-claude", wantWrite: "3.5", want1h: "5",
		},
		"one set, the other defaulted": {
			overrides: []proxyconfig.ModelPrice{{Model: "my-claude", InputPerMillion: usd("3"), OutputPerMillion: usd("15"), CacheWrite1hPerMillion: usdp("7")}},
			provider:  proxyconfig.Anthropic, model: "my-claude", wantWrite: "3.75", want1h: "7",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			table, err := Builtin().WithOverrides(tc.overrides)
			require.NoError(t, err)
			got, ok := table.Lookup(tc.provider, tc.model)
			require.True(t, ok)
			assert.Equal(t, tc.wantWrite, got.CacheWritePerMillion.String())
			assert.Equal(t, tc.want1h, got.CacheWrite1hPerMillion.String())
		})
	}
}

func TestTable_WithOverridesLeavesTheBuiltinTableAlone(t *testing.T) {
	derived, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{{Model: "gpt-4o", InputPerMillion: usd("1"), OutputPerMillion: usd("1")}})
	require.NoError(t, err)

	got, _ := Builtin().Lookup(proxyconfig.OpenAI, "gpt-4o")
	assert.Equal(t, "2.5/1.25/10", show(got))
	assert.Equal(t, Builtin().AsOf(), derived.AsOf())
}

func TestTable_WithOverridesStacks(t *testing.T) {
	first, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{
		{Model: "a", InputPerMillion: usd("1"), OutputPerMillion: usd("1")},
		{Model: "b", InputPerMillion: usd("2"), OutputPerMillion: usd("2")},
	})
	require.NoError(t, err)
	second, err := first.WithOverrides([]proxyconfig.ModelPrice{{Model: "b", InputPerMillion: usd("3"), OutputPerMillion: usd("3")}})
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

func TestTable_WithOverridesRefusesBadEntries(t *testing.T) {
	tests := map[string]struct {
		overrides []proxyconfig.ModelPrice
		wantErr   []string // substrings of the error
	}{
		"an entry without a model": {
			overrides: []proxyconfig.ModelPrice{{InputPerMillion: usd("1"), OutputPerMillion: usd("1")}},
			wantErr:   []string{"pricing[0]", "names no model"},
		},
		"a model named twice": {
			overrides: []proxyconfig.ModelPrice{
				{Model: "gpt-4o", InputPerMillion: usd("1"), OutputPerMillion: usd("1")},
				{Model: "gpt-4o", InputPerMillion: usd("2"), OutputPerMillion: usd("2")},
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

// usd parses an amount known to be valid.
func usd(s string) proxyconfig.USD { return proxyconfig.MustUSD(s) }

// usdp is usd for an optional amount.
func usdp(s string) *proxyconfig.USD {
	u := usd(s)
	return &u
}

func TestTable_CacheWritePremiumIsOnlyWhereProvidersChargeIt(t *testing.T) {
	table, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: usd("2"), OutputPerMillion: usd("8")}})
	require.NoError(t, err)
	for pt, want := range map[proxyconfig.ProviderType]string{
		proxyconfig.Anthropic:        "2.5/4",
		proxyconfig.OpenAICompatible: "2.5/4",
		proxyconfig.OpenAI:           "2/2",
		proxyconfig.AzureOpenAI:      "2/2",
		proxyconfig.Gemini:           "2/2",
	} {
		p, ok := table.Lookup(pt, "my-model")
		require.True(t, ok)
		assert.Equal(t, want, p.CacheWritePerMillion.String()+"/"+p.CacheWrite1hPerMillion.String(), "%s", pt)
	}
	explicit, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{{Model: "m", InputPerMillion: usd("2"), OutputPerMillion: usd("8"), CacheWritePerMillion: usdp("3")}})
	require.NoError(t, err)
	p, _ := explicit.Lookup(proxyconfig.OpenAI, "m")
	assert.Equal(t, "3", p.CacheWritePerMillion.String(), "a price the policy sets is kept")
}
