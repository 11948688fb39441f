package budget

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Defaults applied by SettingsFrom to fields a bundle leaves empty; they are
// the LLMPolicy API's defaults.
const (
	DefaultPeriod           = proxyconfig.Monthly
	DefaultSoftLimitPercent = 80
	DefaultOnExhausted      = proxyconfig.Block
)

// ErrNoBudget is returned by SettingsFrom for a policy without a budget.
var ErrNoBudget = errors.New("budget: the policy has no budget")

// Settings is a budget in the form the gate enforces: the limit parsed into
// a decimal, defaults applied.
type Settings struct {
	// Period is how often spend resets, at 00:00 UTC.
	Period proxyconfig.BudgetPeriod
	// Limit is the most that may be spent per period, in USD; above zero.
	Limit decimal.Decimal
	// SoftLimitPercent is the share of Limit, 1 to 100, at which the gate
	// reports the soft limit.
	SoftLimitPercent int
	// OnExhausted says what a decision does once the limit is reached.
	OnExhausted proxyconfig.ExhaustedAction
	// DowngradeTo is the model exhausted requests go to; required when
	// OnExhausted is Downgrade, ignored otherwise.
	DowngradeTo *proxyconfig.ModelRef
}

// SettingsFrom parses and validates a bundle's budget. Empty period,
// softLimitPercent and onExhausted take the API defaults (Monthly, 80,
// Block). Errors name the field as in the LLMPolicy spec.
func SettingsFrom(b *proxyconfig.Budget) (Settings, error) {
	if b == nil {
		return Settings{}, ErrNoBudget
	}
	s := Settings{
		Period:           b.Period,
		SoftLimitPercent: b.SoftLimitPercent,
		OnExhausted:      b.OnExhausted,
	}
	if b.DowngradeTo != nil {
		to := *b.DowngradeTo // the gate must not change when the bundle does
		s.DowngradeTo = &to
	}
	if s.Period == "" {
		s.Period = DefaultPeriod
	}
	if s.SoftLimitPercent == 0 {
		s.SoftLimitPercent = DefaultSoftLimitPercent
	}
	if s.OnExhausted == "" {
		s.OnExhausted = DefaultOnExhausted
	}
	limit, err := decimal.NewFromString(b.Limit)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("budget.limit: %q is not a USD amount; write a decimal string such as \"250\" or \"19.99\"", b.Limit))
	}
	s.Limit = limit
	// A limit that did not parse is reported above, not again as zero.
	errs = append(errs, s.validate(err == nil)...)
	if len(errs) > 0 {
		return Settings{}, errors.Join(errs...)
	}
	return s, nil
}

// Validate reports every field that is out of range, naming it as in the
// LLMPolicy spec.
func (s Settings) Validate() error {
	return errors.Join(s.validate(true)...)
}

func (s Settings) validate(checkLimit bool) []error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, fmt.Errorf("budget.%s: %s", field, msg)) }
	switch s.Period {
	case proxyconfig.Daily, proxyconfig.Weekly, proxyconfig.Monthly:
	default:
		add("period", fmt.Sprintf("%q is not one of Daily, Weekly, Monthly", s.Period))
	}
	if checkLimit && !s.Limit.IsPositive() {
		add("limit", fmt.Sprintf("is %s; set a USD amount above zero, such as \"250\"", s.Limit))
	}
	if s.SoftLimitPercent < 1 || s.SoftLimitPercent > 100 {
		add("softLimitPercent", fmt.Sprintf("is %d; set a percentage between 1 and 100", s.SoftLimitPercent))
	}
	switch s.OnExhausted {
	case proxyconfig.Block:
	case proxyconfig.Downgrade:
		if s.DowngradeTo == nil || s.DowngradeTo.Provider == "" || s.DowngradeTo.Model == "" {
			add("downgradeTo", "needs a provider and a model when onExhausted is Downgrade")
		}
	default:
		add("onExhausted", fmt.Sprintf("%q is not one of Block, Downgrade", s.OnExhausted))
	}
	return errs
}

// SoftLimit is the spend at which the soft limit is reached:
// SoftLimitPercent of Limit, exactly.
func (s Settings) SoftLimit() decimal.Decimal {
	return s.Limit.Mul(decimal.NewFromInt(int64(s.SoftLimitPercent))).Shift(-2)
}
