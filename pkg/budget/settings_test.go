package budget

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestSettingsFrom(t *testing.T) {
	gpt4oMini := &proxyconfig.ModelRef{Provider: "openai", Model: "gpt-4o-mini"}
	cases := map[string]struct {
		budget     proxyconfig.Budget
		want       Settings
		wantErrors []string
		// notErrors are messages that must not appear.
		notErrors []string
	}{
		"a complete budget is taken as written": {
			budget: proxyconfig.Budget{Period: proxyconfig.Weekly, Limit: "19.99", SoftLimitPercent: 50, OnExhausted: proxyconfig.Downgrade, DowngradeTo: gpt4oMini},
			want:   Settings{Period: proxyconfig.Weekly, Limit: usd("19.99"), SoftLimitPercent: 50, OnExhausted: proxyconfig.Downgrade, DowngradeTo: gpt4oMini},
		},
		"empty fields take the API defaults": {
			budget: proxyconfig.Budget{Limit: "250"},
			want:   Settings{Period: proxyconfig.Monthly, Limit: usd("250"), SoftLimitPercent: 80, OnExhausted: proxyconfig.Block},
		},
		"a limit with six decimals keeps them all": {
			budget: proxyconfig.Budget{Period: proxyconfig.Daily, Limit: "0.000001", SoftLimitPercent: 100, OnExhausted: proxyconfig.Block},
			want:   Settings{Period: proxyconfig.Daily, Limit: usd("0.000001"), SoftLimitPercent: 100, OnExhausted: proxyconfig.Block},
		},
		"a limit that is not a number is refused": {
			budget:     proxyconfig.Budget{Limit: "$250"},
			wantErrors: []string{`budget.limit: "$250" is not a USD amount`},
			notErrors:  []string{"budget.limit: is 0"}, // reported once, not again as a zero limit
		},
		"an empty limit is refused": {
			budget:     proxyconfig.Budget{},
			wantErrors: []string{`budget.limit: "" is not a USD amount`},
		},
		"a zero limit is refused": {
			budget:     proxyconfig.Budget{Limit: "0.00"},
			wantErrors: []string{"budget.limit: is 0; set a USD amount above zero"},
		},
		"a negative limit is refused": {
			budget:     proxyconfig.Budget{Limit: "-5"},
			wantErrors: []string{"budget.limit: is -5; set a USD amount above zero"},
		},
		"a soft limit above 100 percent is refused": {
			budget:     proxyconfig.Budget{Limit: "10", SoftLimitPercent: 101},
			wantErrors: []string{"budget.softLimitPercent: is 101; set a percentage between 1 and 100"},
		},
		"an unknown period is refused": {
			budget:     proxyconfig.Budget{Limit: "10", Period: "Yearly"},
			wantErrors: []string{`budget.period: "Yearly" is not one of Daily, Weekly, Monthly`},
		},
		"an unknown action is refused": {
			budget:     proxyconfig.Budget{Limit: "10", OnExhausted: "Throttle"},
			wantErrors: []string{`budget.onExhausted: "Throttle" is not one of Block, Downgrade`},
		},
		"downgrade without a model to downgrade to is refused": {
			budget:     proxyconfig.Budget{Limit: "10", OnExhausted: proxyconfig.Downgrade, DowngradeTo: &proxyconfig.ModelRef{Provider: "openai"}},
			wantErrors: []string{"budget.downgradeTo: needs a provider and a model when onExhausted is Downgrade"},
		},
		"every problem is reported at once": {
			budget: proxyconfig.Budget{Limit: "lots", Period: "Hourly", SoftLimitPercent: -1},
			wantErrors: []string{
				`budget.limit: "lots" is not a USD amount`,
				`budget.period: "Hourly" is not one of`,
				"budget.softLimitPercent: is -1",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := SettingsFrom(&tc.budget)
			if len(tc.wantErrors) > 0 {
				require.Error(t, err)
				for _, want := range tc.wantErrors {
					assert.Contains(t, err.Error(), want)
				}
				for _, notWant := range tc.notErrors {
					assert.NotContains(t, err.Error(), notWant)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want.Period, got.Period)
			assertUSD(t, tc.want.Limit.String(), got.Limit)
			assert.Equal(t, tc.want.SoftLimitPercent, got.SoftLimitPercent)
			assert.Equal(t, tc.want.OnExhausted, got.OnExhausted)
			assert.Equal(t, tc.want.DowngradeTo, got.DowngradeTo)
		})
	}
}

func TestSettingsFrom_NoBudgetIsErrNoBudget(t *testing.T) {
	_, err := SettingsFrom(nil)
	require.ErrorIs(t, err, ErrNoBudget)
}

func TestSettingsFrom_DoesNotShareDowngradeToWithTheBundle(t *testing.T) {
	b := proxyconfig.Budget{Limit: "10", OnExhausted: proxyconfig.Downgrade, DowngradeTo: &proxyconfig.ModelRef{Provider: "openai", Model: "gpt-4o-mini"}}
	s, err := SettingsFrom(&b)
	require.NoError(t, err)
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
