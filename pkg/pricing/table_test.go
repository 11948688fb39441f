package pricing

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// show renders a price as "input/cached/output" for readable diffs.
func show(p Price) string {
	return p.InputPerMillion.String() + "/" + p.CachedInputPerMillion.String() + "/" + p.OutputPerMillion.String()
}

func TestTable_LookupOfBuiltinPrices(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		model    string
		want     string // input/cached/output, "" when not priced
	}{
		"exact name":                                    {proxyconfig.OpenAI, "gpt-4o", "2.5/1.25/10"},
		"gpt-4o-mini never prices as gpt-4o":            {proxyconfig.OpenAI, "gpt-4o-mini", "0.15/0.075/0.6"},
		"a gpt-4o-mini snapshot prices as gpt-4o-mini":  {proxyconfig.OpenAI, "gpt-4o-mini-2024-07-18", "0.15/0.075/0.6"},
		"OpenAI dated snapshot":                         {proxyconfig.OpenAI, "gpt-4o-2024-08-06", "2.5/1.25/10"},
		"a snapshot with its own entry is not stripped": {proxyconfig.OpenAI, "gpt-4o-2024-05-13", "5/5/15"},
		"o3 snapshot":                                   {proxyconfig.OpenAI, "o3-2025-04-16", "2/0.5/8"},
		"o3-mini snapshot is not o3":                    {proxyconfig.OpenAI, "o3-mini-2025-01-31", "1.1/0.55/4.4"},
		"gpt-5-nano snapshot":                           {proxyconfig.OpenAI, "gpt-5-nano-2025-08-07", "0.05/0.005/0.4"},
		"gpt-4.1-nano is not gpt-4.1":                   {proxyconfig.OpenAI, "gpt-4.1-nano-2025-04-14", "0.1/0.025/0.4"},
		"older four-digit snapshot":                     {proxyconfig.OpenAI, "gpt-4-0613", "30/30/60"},
		"an alias prices as its model":                  {proxyconfig.OpenAI, "gpt-4-1106-preview", "10/10/30"},
		"embeddings have no output price":               {proxyconfig.OpenAI, "text-embedding-3-small", "0.02/0.02/0"},
		"Azure OpenAI uses OpenAI's prices":             {proxyconfig.AzureOpenAI, "gpt-4.1-mini", "0.4/0.1/1.6"},
		"Azure's model spelling":                        {proxyconfig.AzureOpenAI, "gpt-35-turbo", "0.5/0.5/1.5"},
		"Anthropic dated snapshot":                      {proxyconfig.Anthropic, "claude-sonnet-4-5-20250929", "3/0.3/15"},
		"claude-opus-4-5 is not claude-opus-4":          {proxyconfig.Anthropic, "claude-opus-4-5-20251101", "5/0.5/25"},
		"claude-opus-4 snapshot":                        {proxyconfig.Anthropic, "claude-opus-4-20250514", "15/1.5/75"},
		"Anthropic -latest alias":                       {proxyconfig.Anthropic, "claude-3-5-haiku-latest", "0.8/0.08/4"},
		"Anthropic -0 alias":                            {proxyconfig.Anthropic, "claude-sonnet-4-0", "3/0.3/15"},
		"claude-haiku-4-5 snapshot":                     {proxyconfig.Anthropic, "claude-haiku-4-5-20251001", "1/0.1/5"},
		"Gemini resource name":                          {proxyconfig.Gemini, "models/gemini-2.5-flash", "0.3/0.03/2.5"},
		"Gemini version suffix":                         {proxyconfig.Gemini, "gemini-2.0-flash-001", "0.1/0.025/0.4"},
		"Gemini flash-lite is not flash":                {proxyconfig.Gemini, "models/gemini-2.0-flash-lite-001", "0.075/0.075/0.3"},
		"Gemini dated preview":                          {proxyconfig.Gemini, "gemini-2.5-flash-lite-preview-09-2025", "0.1/0.01/0.4"},
		"Gemini preview of a day":                       {proxyconfig.Gemini, "gemini-2.5-pro-preview-06-05", "1.25/0.125/10"},
		"Gemini -latest alias":                          {proxyconfig.Gemini, "gemini-flash-latest", "0.3/0.03/2.5"},
		"a model only in preview":                       {proxyconfig.Gemini, "gemini-3-pro-preview", "2/0.2/12"},

		"unknown model":                       {proxyconfig.OpenAI, "gpt-7", ""},
		"no model":                            {proxyconfig.OpenAI, "", ""},
		"a prefix of a known name is unknown": {proxyconfig.Gemini, "gemini-2.5", ""},
		"a longer name does not fall back to its prefix": {proxyconfig.OpenAI, "gpt-4o-mini-tts", ""},
		"a preview of an unknown variant is unknown":     {proxyconfig.OpenAI, "gpt-4o-audio-preview", ""},
		"experimental models are not priced":             {proxyconfig.Gemini, "gemini-2.0-flash-exp", ""},
		"a partial date is not a suffix":                 {proxyconfig.OpenAI, "gpt-4o-2024-08", ""},
		"another family's model is unknown":              {proxyconfig.Anthropic, "gpt-4o", ""},
		"OpenAI's prices do not cover Claude":            {proxyconfig.OpenAI, "claude-sonnet-4-5", ""},
		"OpenAI-compatible servers have no list prices":  {proxyconfig.OpenAICompatible, "gpt-4o", ""},
		"an unknown provider type has no list prices":    {proxyconfig.ProviderType("Bedrock"), "claude-sonnet-4-5", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := Builtin().Lookup(tc.provider, tc.model)
			if tc.want == "" {
				assert.False(t, ok, "priced at %s", show(got))
				return
			}
			if assert.True(t, ok, "not priced") {
				assert.Equal(t, tc.want, show(got))
			}
		})
	}
}

func TestCandidates_StripsOneWholeSuffixAtATime(t *testing.T) {
	tests := map[string]struct {
		model string
		want  []string
	}{
		"a plain name is itself":      {"gpt-4o", []string{"gpt-4o"}},
		"OpenAI snapshot":             {"gpt-4o-2024-08-06", []string{"gpt-4o-2024-08-06", "gpt-4o"}},
		"Anthropic snapshot":          {"claude-sonnet-4-5-20250929", []string{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"}},
		"Gemini resource and version": {"models/gemini-2.0-flash-001", []string{"models/gemini-2.0-flash-001", "gemini-2.0-flash-001", "gemini-2.0-flash"}},
		"two suffixes":                {"gemini-2.5-pro-preview-06-05-latest", []string{"gemini-2.5-pro-preview-06-05-latest", "gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"}},
		"model-size digits stay":      {"claude-3-5-haiku", []string{"claude-3-5-haiku"}},
		"a bare suffix is a name":     {"-latest", []string{"-latest"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, candidates(tc.model))
		})
	}
}

func TestFamily(t *testing.T) {
	tests := map[proxyconfig.ProviderType]string{
		proxyconfig.OpenAI:           FamilyOpenAI,
		proxyconfig.AzureOpenAI:      FamilyOpenAI,
		proxyconfig.Anthropic:        FamilyAnthropic,
		proxyconfig.Gemini:           FamilyGemini,
		proxyconfig.OpenAICompatible: "",
		"":                           "",
	}
	for pt, want := range tests {
		assert.Equal(t, want, Family(pt), "provider type %q", pt)
	}
}

func TestBuiltin_KnowsTheOutputLimitsOfChatModels(t *testing.T) {
	for _, tc := range []struct {
		pt    proxyconfig.ProviderType
		model string
		want  int64
	}{
		{proxyconfig.OpenAI, "gpt-4o-mini", 16384},
		{proxyconfig.OpenAI, "o3", 100000},
		{proxyconfig.Anthropic, "claude-sonnet-4-5-20250929", 64000},
		{proxyconfig.Gemini, "gemini-2.5-flash", 65536},
	} {
		p, ok := Builtin().Lookup(tc.pt, tc.model)
		require.True(t, ok, tc.model)
		assert.Equal(t, tc.want, p.MaxOutputTokens, tc.model)
	}
}

func TestTable_EntryNamesWhatPricesAModel(t *testing.T) {
	table, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{{Model: "llama-3.1-8b"}})
	require.NoError(t, err)
	tests := map[string]struct {
		provider proxyconfig.ProviderType
		model    string
		want     string // "" when nothing prices it
	}{
		"an exact list price":                       {proxyconfig.OpenAI, "gpt-4o", "gpt-4o"},
		"a snapshot: the model it is priced as":     {proxyconfig.OpenAI, "gpt-4o-2024-08-06", "gpt-4o"},
		"any number of made-up snapshots: one name": {proxyconfig.OpenAI, "gpt-4o-99999999", "gpt-4o"},
		"an alias is its own entry":                 {proxyconfig.Anthropic, "claude-opus-4-0", "claude-opus-4-0"},
		"an override, on any provider type":         {proxyconfig.OpenAICompatible, "llama-3.1-8b-20250101", "llama-3.1-8b"},
		"an unknown model":                          {proxyconfig.OpenAI, "my-fine-tune", ""},
		"another family's model":                    {proxyconfig.Anthropic, "gpt-4o", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := table.Entry(tc.provider, tc.model)
			assert.Equal(t, tc.want != "", ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestTable_ModelsListsEveryEntryOnce(t *testing.T) {
	table, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{{Model: "gpt-4o"}, {Model: "llama-3.1-8b"}})
	require.NoError(t, err)
	models := table.Models(proxyconfig.OpenAI)
	assert.Equal(t, []string{"gpt-4o", "llama-3.1-8b"}, models[:2], "overrides first")
	assert.Contains(t, models, "gpt-4o-mini")
	assert.Contains(t, models, "gpt-35-turbo", "aliases")
	assert.NotContains(t, models, "claude-sonnet-4-5")
	seen := map[string]bool{}
	for _, m := range models {
		assert.False(t, seen[m], "%s listed twice", m)
		seen[m] = true
		_, ok := table.Entry(proxyconfig.OpenAI, m)
		assert.True(t, ok, "%s is priced", m)
	}
	for _, m := range Builtin().Models(proxyconfig.Anthropic) {
		name, _ := Builtin().Entry(proxyconfig.Anthropic, m)
		assert.Equal(t, m, name, "without overrides each listed name is its own entry")
	}
	assert.Equal(t, []string{"gpt-4o", "llama-3.1-8b"}, table.Models(proxyconfig.OpenAICompatible))
}

// versionSuffixRE is the regular expression versionSuffixAt stands for:
// the oracle of TestVersionSuffixAt_IsTheRegularExpression.
var versionSuffixRE = regexp.MustCompile(`-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|latest|preview(-\d{2}-\d{2}|-\d{2}-\d{4})?)$`)

func TestVersionSuffixAt_IsTheRegularExpression(t *testing.T) {
	parts := []string{"gpt", "4o", "mini", "2024", "08", "06", "20250929", "0613", "001", "latest", "preview", "17", "2025", "1", "12345", "x9", "", "exp"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		var b strings.Builder
		for j := range 1 + rng.IntN(6) {
			if j > 0 || rng.IntN(4) == 0 {
				b.WriteByte('-')
			}
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		name := b.String()
		want := -1
		if loc := versionSuffixRE.FindStringIndex(name); loc != nil {
			want = loc[0]
		}
		require.Equal(t, want, versionSuffixAt(name), "%q", name)
	}
}

func TestTable_LookupAllocatesNothing(t *testing.T) {
	table := Builtin()
	for _, model := range []string{"gpt-4o-mini", "gpt-4o-mini-2024-07-18", "models/gemini-2.0-flash-001", "made-up-model"} {
		allocs := testing.AllocsPerRun(100, func() { table.Lookup(proxyconfig.OpenAI, model) })
		assert.Zero(t, allocs, model)
	}
}

func TestTable_RemembersLookupsUpToABound(t *testing.T) {
	table, err := Builtin().WithOverrides([]proxyconfig.ModelPrice{{Model: "my-model", InputPerMillion: proxyconfig.MustUSD("1"), OutputPerMillion: proxyconfig.MustUSD("2")}})
	require.NoError(t, err)
	for range 2 {
		p, ok := table.Lookup(proxyconfig.OpenAI, "gpt-4o-mini-2024-07-18")
		require.True(t, ok)
		want, _ := Builtin().Lookup(proxyconfig.OpenAI, "gpt-4o-mini")
		assert.Equal(t, want, p, "a dated snapshot, found and then remembered")
		name, ok := table.Entry(proxyconfig.Anthropic, "my-model")
		assert.True(t, ok)
		assert.Equal(t, "my-model", name)
		_, ok = table.Lookup(proxyconfig.Anthropic, "gpt-4o-mini")
		assert.False(t, ok, "remembered per family: OpenAI's list prices do not price Anthropic models")
	}
	for i := range maxFound + 10 {
		_, ok := table.Lookup(proxyconfig.OpenAI, fmt.Sprintf("unknown-%d", i))
		assert.False(t, ok)
	}
	_, ok := table.Lookup(proxyconfig.OpenAI, "gpt-4o")
	assert.True(t, ok, "past the bound, models are still found")
	assert.Len(t, table.found.byName, maxFound)
}
