package pricing

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"sync"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Families of the built-in table: the providers whose list prices it holds.
const (
	FamilyOpenAI    = "openai"
	FamilyAnthropic = "anthropic"
	FamilyGemini    = "gemini"
)

// Table prices models: a policy's overrides first, then the built-in list
// prices of the provider's family. A Table is immutable and safe for
// concurrent use.
type Table struct {
	asOf string
	// builtin maps family to model name (or alias) to price. It is shared
	// by every Table derived from Builtin and never written after parsing.
	builtin map[string]map[string]Price
	// overrides maps model name to the price a policy set for it, for
	// every provider of the policy.
	overrides map[string]Price
	// found remembers the lookups of this table.
	found *found
}

//go:embed prices.yaml
var pricesYAML []byte

// builtin parses the embedded table once; TestBuiltin_EmbeddedTableIsWellFormed
// keeps the panic from ever happening in a released binary.
var builtin = sync.OnceValue(func() *Table {
	t, err := parseTable(pricesYAML)
	if err != nil {
		panic(fmt.Sprintf("pricing: embedded prices.yaml: %v", err))
	}
	return t
})

// Builtin returns the built-in table of list prices, parsed once from the
// embedded prices.yaml. Callers share it; derive a policy's table with
// WithOverrides.
func Builtin() *Table { return builtin() }

// AsOf is the date (YYYY-MM-DD) the built-in list prices were taken.
func (t *Table) AsOf() string { return t.asOf }

// Family returns the family of the built-in table whose prices apply to
// providers of type pt, or "" for types without list prices
// (OpenAICompatible servers, whose prices only a policy knows).
func Family(pt proxyconfig.ProviderType) string {
	switch pt {
	case proxyconfig.OpenAI, proxyconfig.AzureOpenAI:
		return FamilyOpenAI
	case proxyconfig.Anthropic:
		return FamilyAnthropic
	case proxyconfig.Gemini:
		return FamilyGemini
	}
	return ""
}

// WithOverrides returns a table in which prices, a policy's spec.pricing,
// override t for the models they name, for every provider type, including
// models t does not know. An override also prices the model's dated
// snapshots (an override of gpt-4o prices gpt-4o-2024-08-06) unless the
// overrides name the snapshot itself. CachedInputPerMillion defaults to
// InputPerMillion. Overrides of t are kept unless prices names the same
// model again.
//
// An entry without a model, or a model named twice, is an error naming the
// entry; the prices themselves were parsed with the contract.
func (t *Table) WithOverrides(prices []proxyconfig.ModelPrice) (*Table, error) {
	overrides := maps.Clone(t.overrides)
	if overrides == nil {
		overrides = make(map[string]Price, len(prices))
	}
	seen := make(map[string]bool, len(prices))
	for i, mp := range prices {
		if mp.Model == "" {
			return nil, fmt.Errorf("pricing[%d] names no model; set model to the name the app requests, e.g. gpt-4o-mini", i)
		}
		if seen[mp.Model] {
			return nil, fmt.Errorf("pricing lists model %q more than once; keep one entry", mp.Model)
		}
		seen[mp.Model] = true
		overrides[mp.Model] = priceOf(mp)
	}
	return &Table{asOf: t.asOf, builtin: t.builtin, overrides: overrides, found: newFound()}, nil
}

// Lookup returns the price of model on a provider of type providerType,
// and false when neither the overrides nor the family's list prices know
// the model. See the package documentation for how names match.
func (t *Table) Lookup(providerType proxyconfig.ProviderType, model string) (Price, bool) {
	_, p, ok := t.find(providerType, model)
	if !ok {
		return Price{}, false
	}
	return p.forType(providerType), true
}

// Entry returns the name of the entry that prices model on a provider of
// type providerType, as Lookup finds it: an override's model, or a list
// price's model or alias (gpt-4o for gpt-4o-2024-08-06); false when there
// is none. The names are the table's, a bounded set whatever model names
// apps send: metrics label models by them.
func (t *Table) Entry(providerType proxyconfig.ProviderType, model string) (string, bool) {
	name, _, ok := t.find(providerType, model)
	return name, ok
}

// Models returns the names of every entry that prices models on providers
// of type providerType, overrides first, then the family's list prices
// with their aliases, each name once, sorted within each part.
func (t *Table) Models(providerType proxyconfig.ProviderType) []string {
	names := slices.Sorted(maps.Keys(t.overrides))
	for _, name := range slices.Sorted(maps.Keys(t.builtin[Family(providerType)])) {
		if _, ok := t.overrides[name]; !ok {
			names = append(names, name)
		}
	}
	return names
}

// find returns the entry that prices model and its price, as search finds
// them, remembered.
func (t *Table) find(providerType proxyconfig.ProviderType, model string) (string, Price, bool) {
	if model == "" {
		return "", Price{}, false
	}
	if t.found == nil {
		return t.search(providerType, model)
	}
	key := foundKey{family: Family(providerType), model: model}
	if e, ok := t.found.get(key); ok {
		return e.name, e.price, e.ok
	}
	name, p, ok := t.search(providerType, model)
	t.found.put(key, foundEntry{name: name, price: p, ok: ok})
	return name, p, ok
}

// search looks for the entry that prices model: the overrides, then the
// family's list prices, by each of the model's candidate names.
func (t *Table) search(providerType proxyconfig.ProviderType, model string) (string, Price, bool) {
	var buf [maxCandidates]string
	names := appendCandidates(buf[:0], model)
	for _, name := range names {
		if p, ok := t.overrides[name]; ok {
			return name, p, true
		}
	}
	prices := t.builtin[Family(providerType)]
	for _, name := range names {
		if p, ok := prices[name]; ok {
			return name, p, true
		}
	}
	return "", Price{}, false
}
