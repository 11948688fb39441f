package pricing

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestBuiltin_EmbeddedTableIsWellFormed(t *testing.T) {
	// parseTable refuses bad prices, duplicates, unknown fields and
	// families, and a missing asOf or source (TestParseTable_Refuses...);
	// here the shipped file must pass it.
	table, err := parseTable(pricesYAML)
	require.NoError(t, err)

	asOf, err := time.Parse(time.DateOnly, table.AsOf())
	require.NoError(t, err)
	assert.True(t, asOf.After(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), "asOf %s is older than the models listed", table.AsOf())

	assert.ElementsMatch(t, []string{FamilyOpenAI, FamilyAnthropic, FamilyGemini}, slices.Collect(maps.Keys(table.builtin)))
	for family, prices := range table.builtin {
		for model, p := range prices {
			// Sanity checks of the data that catch swapped columns: every
			// provider discounts cached input, and output costs at least
			// as much as input except for embeddings, which have none.
			assert.False(t, p.InputPerMillion.IsNegative(), "%s %s", family, model)
			assert.True(t, p.CachedInputPerMillion.LessThanOrEqual(p.InputPerMillion), "%s %s: cached input above input", family, model)
			assert.True(t, p.CacheWritePerMillion.GreaterThanOrEqual(p.InputPerMillion), "%s %s: cache writes below input", family, model)
			assert.True(t, p.CacheWrite1hPerMillion.GreaterThanOrEqual(p.CacheWritePerMillion), "%s %s: one-hour writes below 5-minute ones", family, model)
			if !strings.Contains(model, "embedding") {
				assert.True(t, p.OutputPerMillion.GreaterThanOrEqual(p.InputPerMillion), "%s %s: output below input", family, model)
				assert.True(t, p.InputPerMillion.IsPositive(), "%s %s: free input", family, model)
			} else {
				assert.True(t, p.OutputPerMillion.IsZero(), "%s %s: embeddings have no output", family, model)
			}
		}
	}
}

func TestBuiltin_IsParsedOnce(t *testing.T) {
	assert.Same(t, Builtin(), Builtin())
}

func TestBuiltin_PricesTheCurrentModels(t *testing.T) {
	models := map[proxyconfig.ProviderType][]string{
		proxyconfig.OpenAI: {
			"gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
			"gpt-4o", "gpt-4o-mini", "o3", "o4-mini", "text-embedding-3-small", "text-embedding-3-large",
		},
		proxyconfig.Anthropic: {
			"claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-5", "claude-sonnet-4",
			"claude-haiku-4-5", "claude-3-5-haiku",
		},
		proxyconfig.Gemini: {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"},
	}
	for pt, names := range models {
		for _, model := range names {
			_, ok := Builtin().Lookup(pt, model)
			assert.True(t, ok, "%s %s has no list price", pt, model)
		}
	}
}

func TestParseTable_RefusesMalformedTables(t *testing.T) {
	const good = `
asOf: "2025-12-01"
families:
  openai:
    source: https://example.com/pricing
    models:
      - {model: m, inputPerMillion: "1", outputPerMillion: "2"}
`
	tests := map[string]struct {
		yaml    string
		wantErr string
	}{
		"a price that is not a decimal": {
			yaml:    strings.Replace(good, `inputPerMillion: "1"`, `inputPerMillion: "one"`, 1),
			wantErr: `model "m": inputPerMillion: "one" is not a USD amount`,
		},
		"a negative price": {
			yaml:    strings.Replace(good, `outputPerMillion: "2"`, `outputPerMillion: "-2"`, 1),
			wantErr: `outputPerMillion: "-2" is not a USD amount`,
		},
		"a model listed twice": {
			yaml:    good + `      - {model: m, inputPerMillion: "1", outputPerMillion: "2"}` + "\n",
			wantErr: `model "m" is listed more than once`,
		},
		"an alias that is another model's name": {
			yaml:    good + `      - {model: m2, inputPerMillion: "1", outputPerMillion: "2", aliases: [m]}` + "\n",
			wantErr: `model "m" is listed more than once`,
		},
		"no asOf": {
			yaml:    strings.Replace(good, `asOf: "2025-12-01"`, ``, 1),
			wantErr: `asOf "" must be the date`,
		},
		"an asOf that is not a date": {
			yaml:    strings.Replace(good, `asOf: "2025-12-01"`, `asOf: "December 2025"`, 1),
			wantErr: `asOf "December 2025" must be the date`,
		},
		"no source": {
			yaml:    strings.Replace(good, `source: https://example.com/pricing`, ``, 1),
			wantErr: `family "openai" has no source`,
		},
		"an unknown family": {
			yaml:    strings.Replace(good, `openai:`, `mistral:`, 1),
			wantErr: `family "mistral" is not one of`,
		},
		"an unknown field": {
			yaml:    strings.Replace(good, `inputPerMillion: "1"`, `inputPerMilion: "1", inputPerMillion: "1"`, 1),
			wantErr: `field inputPerMilion not found`,
		},
		"a family listed twice": {
			yaml:    good + "  openai:\n    source: x\n    models: []\n",
			wantErr: `mapping key "openai" already defined`,
		},
		"a family without models": {
			yaml:    strings.Replace(good, `      - {model: m, inputPerMillion: "1", outputPerMillion: "2"}`, `      []`, 1),
			wantErr: `family "openai": lists no models`,
		},
		"a model without a name": {
			yaml:    strings.Replace(good, `model: m, `, ``, 1),
			wantErr: `models[0] names no model`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseTable([]byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}

	t.Run("the good table parses", func(t *testing.T) {
		table, err := parseTable([]byte(good))
		require.NoError(t, err)
		p, ok := table.Lookup(proxyconfig.OpenAI, "m")
		require.True(t, ok)
		assert.Equal(t, "1/1/2", show(p))
	})
}
