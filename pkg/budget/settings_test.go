package budget

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestSettingsFrom_TakesTheBudgetAsWritten(t *testing.T) {
	gpt4oMini := &proxyconfig.ModelRef{Provider: "openai", Model: "gpt-4o-mini"}
	b := proxyconfig.Budget{Period: proxyconfig.Weekly, Limit: usd("0.000001"), SoftLimitPercent: 50, OnExhausted: proxyconfig.Downgrade, DowngradeTo: gpt4oMini}
	assert.Equal(t, Settings{Period: proxyconfig.Weekly, Limit: usd("0.000001"), SoftLimitPercent: 50, OnExhausted: proxyconfig.Downgrade, DowngradeTo: gpt4oMini}, SettingsFrom(b))
}

func TestSettingsFrom_DoesNotShareDowngradeToWithTheBundle(t *testing.T) {
	b := proxyconfig.Budget{Limit: usd("10"), OnExhausted: proxyconfig.Downgrade, DowngradeTo: &proxyconfig.ModelRef{Provider: "openai", Model: "gpt-4o-mini"}}
	s := SettingsFrom(b)
	b.DowngradeTo.Model = "gpt-4o"
	assert.Equal(t, "gpt-4o-mini", s.DowngradeTo.Model)
}

func TestSettings_SoftLimitIsAnExactShareOfTheLimit(t *testing.T) {
	cases := map[string]struct {
		limit   string
		percent int
		want    string
	}{
		"80 percent of 250":          {"250", 80, "200"},
		"80 percent of 19.99":        {"19.99", 80, "15.992"},
		"1 percent of one micro-USD": {"0.000001", 1, "0.00000001"},
		"100 percent is the limit":   {"7.5", 100, "7.5"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := blockAt(tc.limit)
			s.SoftLimitPercent = tc.percent
			assertUSD(t, tc.want, s.SoftLimit())
		})
	}
}
