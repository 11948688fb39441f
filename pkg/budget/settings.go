package budget

import (
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Settings is a budget in the form the gate enforces.
type Settings struct {
	// Period is how often spend resets, at 00:00 UTC.
	Period proxyconfig.BudgetPeriod
	// Limit is the most that may be spent per period; above zero.
	Limit proxyconfig.USD
	// SoftLimitPercent is the share of Limit, 1 to 100, at which the gate
	// reports the soft limit.
	SoftLimitPercent int
	// OnExhausted says what a decision does once the limit is reached.
	OnExhausted proxyconfig.ExhaustedAction
	// DowngradeTo is the model exhausted requests go to; set when
	// OnExhausted is Downgrade, ignored otherwise.
	DowngradeTo *proxyconfig.ModelRef
}

// SettingsFrom returns the settings of a bundle's budget. The bundle was
// validated when it was read (proxyconfig.Policy.Validate), so the gate
// trusts it: defaults were applied by the API server or by the standalone
// file's defaulting, never here.
func SettingsFrom(b proxyconfig.Budget) Settings {
	s := Settings{
		Period:           b.Period,
		Limit:            b.Limit,
		SoftLimitPercent: b.SoftLimitPercent,
		OnExhausted:      b.OnExhausted,
	}
	if b.DowngradeTo != nil {
		to := *b.DowngradeTo // the gate must not change when the bundle does
		s.DowngradeTo = &to
	}
	return s
}

// SoftLimit is the spend at which the soft limit is reached:
// SoftLimitPercent of Limit, exactly.
func (s Settings) SoftLimit() proxyconfig.USD {
	return s.Limit.Percent(s.SoftLimitPercent)
}
