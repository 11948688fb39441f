package pricing

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// tableFile is the schema of prices.yaml. It is read with go.yaml.in/yaml
// rather than sigs.k8s.io/yaml so that pkg/ stays free of k8s.io modules.
type tableFile struct {
	// AsOf is the date the list prices were taken, YYYY-MM-DD.
	AsOf     string                `yaml:"asOf"`
	Families map[string]familyFile `yaml:"families"`
}

// familyFile is one provider family's list prices.
type familyFile struct {
	// Source is where the prices were read.
	Source string      `yaml:"source"`
	Models []modelFile `yaml:"models"`
}

// modelFile is one model's list price, with the fields of a policy's
// spec.pricing entry, and the other names the model goes by.
type modelFile struct {
	Model                  string `yaml:"model"`
	InputPerMillion        string `yaml:"inputPerMillion"`
	OutputPerMillion       string `yaml:"outputPerMillion"`
	CachedInputPerMillion  string `yaml:"cachedInputPerMillion"`
	CacheWritePerMillion   string `yaml:"cacheWritePerMillion"`
	CacheWrite1hPerMillion string `yaml:"cacheWrite1hPerMillion"`
	// MaxOutputTokens is the model's documented output limit.
	MaxOutputTokens int64 `yaml:"maxOutputTokens"`
	// Aliases are other names of the same model that suffix stripping
	// does not reach (claude-opus-4-0, gemini-flash-latest).
	Aliases []string `yaml:"aliases"`
}

// modelPrice parses m's prices, written as a spec.pricing entry writes
// them, into one.
func (m modelFile) modelPrice() (proxyconfig.ModelPrice, error) {
	mp := proxyconfig.ModelPrice{Model: m.Model, MaxOutputTokens: m.MaxOutputTokens}
	var err error
	if mp.InputPerMillion, err = proxyconfig.ParseUSD(m.InputPerMillion); err != nil {
		return mp, fmt.Errorf("model %q: inputPerMillion: %w", m.Model, err)
	}
	if mp.OutputPerMillion, err = proxyconfig.ParseUSD(m.OutputPerMillion); err != nil {
		return mp, fmt.Errorf("model %q: outputPerMillion: %w", m.Model, err)
	}
	for _, opt := range []struct {
		name, value string
		dst         **proxyconfig.USD
	}{
		{"cachedInputPerMillion", m.CachedInputPerMillion, &mp.CachedInputPerMillion},
		{"cacheWritePerMillion", m.CacheWritePerMillion, &mp.CacheWritePerMillion},
		{"cacheWrite1hPerMillion", m.CacheWrite1hPerMillion, &mp.CacheWrite1hPerMillion},
	} {
		if opt.value == "" {
			continue
		}
		v, err := proxyconfig.ParseUSD(opt.value)
		if err != nil {
			return mp, fmt.Errorf("model %q: %s: %w", m.Model, opt.name, err)
		}
		*opt.dst = &v
	}
	return mp, nil
}

// parseTable parses and checks a price table in the prices.yaml schema.
func parseTable(data []byte) (*Table, error) {
	var f tableFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse price table: %w", err)
	}
	if _, err := time.Parse(time.DateOnly, f.AsOf); err != nil {
		return nil, fmt.Errorf("asOf %q must be the date the prices were taken, as YYYY-MM-DD", f.AsOf)
	}
	known := []string{FamilyOpenAI, FamilyAnthropic, FamilyGemini}
	t := &Table{asOf: f.AsOf, builtin: make(map[string]map[string]Price, len(f.Families)), found: newFound()}
	for name, fam := range f.Families {
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("family %q is not one of %v", name, known)
		}
		if fam.Source == "" {
			return nil, fmt.Errorf("family %q has no source; say where its prices were read", name)
		}
		prices, err := parseFamily(fam.Models)
		if err != nil {
			return nil, fmt.Errorf("family %q: %w", name, err)
		}
		t.builtin[name] = prices
	}
	return t, nil
}

// parseFamily parses a family's models into a map from every model name
// and alias to its price.
func parseFamily(models []modelFile) (map[string]Price, error) {
	if len(models) == 0 {
		return nil, errors.New("lists no models")
	}
	prices := make(map[string]Price, len(models))
	for i, m := range models {
		if m.Model == "" {
			return nil, fmt.Errorf("models[%d] names no model", i)
		}
		mp, err := m.modelPrice()
		if err != nil {
			return nil, err
		}
		p := priceOf(mp)
		for _, name := range append([]string{m.Model}, m.Aliases...) {
			if _, dup := prices[name]; dup {
				return nil, fmt.Errorf("model %q is listed more than once", name)
			}
			prices[name] = p
		}
	}
	return prices, nil
}

// Anthropic's cache-write premiums over the input price, the defaults of
// every model whose price does not say otherwise. Providers that report no
// cache writes (OpenAI, Gemini) are not charged them.
var (
	cacheWriteRate   = decimal.RequireFromString("1.25")
	cacheWrite1hRate = decimal.NewFromInt(2)
)

// priceOf is mp's price. An absent cached input price is the input price;
// absent cache-write prices are 1.25 × (5 minutes) and 2 × (one hour) the
// input price.
func priceOf(mp proxyconfig.ModelPrice) Price {
	in := mp.InputPerMillion
	or := func(v *proxyconfig.USD, def proxyconfig.USD) proxyconfig.USD {
		if v != nil {
			return *v
		}
		return def
	}
	return Price{
		InputPerMillion:        in,
		OutputPerMillion:       mp.OutputPerMillion,
		CachedInputPerMillion:  or(mp.CachedInputPerMillion, in),
		CacheWritePerMillion:   or(mp.CacheWritePerMillion, proxyconfig.USDFromDecimal(in.Decimal().Mul(cacheWriteRate))),
		CacheWrite1hPerMillion: or(mp.CacheWrite1hPerMillion, proxyconfig.USDFromDecimal(in.Decimal().Mul(cacheWrite1hRate))),
		writesDefaulted:        mp.CacheWritePerMillion == nil && mp.CacheWrite1hPerMillion == nil,
		MaxOutputTokens:        mp.MaxOutputTokens,
	}
}

// forType is p as a provider of type pt charges it. OpenAI, Azure OpenAI
// and Gemini bill no premium for writing the prompt cache, so write
// prices that were not set explicitly are the input price there: a
// budget's reservation then does not assume a premium those providers
// never charge.
func (p Price) forType(pt proxyconfig.ProviderType) Price {
	switch pt {
	case proxyconfig.OpenAI, proxyconfig.AzureOpenAI, proxyconfig.Gemini:
		if p.writesDefaulted {
			p.CacheWritePerMillion, p.CacheWrite1hPerMillion = p.InputPerMillion, p.InputPerMillion
		}
	}
	return p
}
