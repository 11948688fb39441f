package pricing

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
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
	Model                 string `yaml:"model"`
	InputPerMillion       string `yaml:"inputPerMillion"`
	OutputPerMillion      string `yaml:"outputPerMillion"`
	CachedInputPerMillion string `yaml:"cachedInputPerMillion"`
	// Aliases are other names of the same model that suffix stripping
	// does not reach (claude-opus-4-0, gemini-flash-latest).
	Aliases []string `yaml:"aliases"`
}

// modelPrice is m as a spec.pricing entry.
func (m modelFile) modelPrice() proxyconfig.ModelPrice {
	return proxyconfig.ModelPrice{
		Model:                 m.Model,
		InputPerMillion:       m.InputPerMillion,
		OutputPerMillion:      m.OutputPerMillion,
		CachedInputPerMillion: m.CachedInputPerMillion,
	}
}

// usdSyntax is a price as policies and prices.yaml write it: digits with
// an optional fraction; no sign, exponent or spaces.
var usdSyntax = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

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
	t := &Table{asOf: f.AsOf, builtin: make(map[string]map[string]Price, len(f.Families))}
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
		p, err := parsePrice(m.modelPrice())
		if err != nil {
			return nil, err
		}
		for _, name := range append([]string{m.Model}, m.Aliases...) {
			if _, dup := prices[name]; dup {
				return nil, fmt.Errorf("model %q is listed more than once", name)
			}
			prices[name] = p
		}
	}
	return prices, nil
}

// parsePrice parses the decimal strings of mp; an empty cached input
// price defaults to the input price.
func parsePrice(mp proxyconfig.ModelPrice) (Price, error) {
	var p Price
	fields := []struct {
		name, value string
		into        *decimal.Decimal
	}{
		{"inputPerMillion", mp.InputPerMillion, &p.InputPerMillion},
		{"outputPerMillion", mp.OutputPerMillion, &p.OutputPerMillion},
		{"cachedInputPerMillion", mp.CachedInputPerMillion, &p.CachedInputPerMillion},
	}
	for _, f := range fields {
		if f.value == "" && f.name == "cachedInputPerMillion" {
			p.CachedInputPerMillion = p.InputPerMillion
			continue
		}
		d, err := parseUSD(f.value)
		if err != nil {
			return Price{}, fmt.Errorf("pricing of model %q: %s %q %w", mp.Model, f.name, f.value, err)
		}
		*f.into = d
	}
	return p, nil
}

// errNotUSD ends the message of a price that does not parse.
var errNotUSD = errors.New(`is not a USD price per million tokens; write a non-negative decimal such as "2.50"`)

// parseUSD parses a non-negative decimal such as "2.50".
func parseUSD(s string) (decimal.Decimal, error) {
	if !usdSyntax.MatchString(s) {
		return decimal.Decimal{}, errNotUSD
	}
	return decimal.NewFromString(s)
}
