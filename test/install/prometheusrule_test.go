package install

import (
	"slices"
	"strings"
	"testing"
	"text/template"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	promparser "github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
)

// alertRule is one alerting rule of a PrometheusRule's spec.groups.
type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// prometheusRuleSpec is the part of a PrometheusRule the tests read.
type prometheusRuleSpec struct {
	Spec struct {
		Groups []struct {
			Name  string      `json:"name"`
			Rules []alertRule `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// alerts renders the chart with the PrometheusRule and extra --set values,
// and returns its alerts by name, failing on a name given twice.
func alerts(t *testing.T, set ...string) map[string]alertRule {
	t.Helper()
	args := []string{"--set", "prometheusRule.enabled=true"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	rule := typed[prometheusRuleSpec](t, find(t, helmTemplate(t, operatorNamespace, args...), "PrometheusRule", "tollgate-operator"))
	out := map[string]alertRule{}
	for _, g := range rule.Spec.Groups {
		require.NotEmpty(t, g.Name)
		for _, r := range g.Rules {
			require.NotContains(t, out, r.Alert, "two alerts named %s", r.Alert)
			out[r.Alert] = r
		}
	}
	return out
}

func TestPrometheusRule_RendersOnlyWhenEnabled(t *testing.T) {
	assert.False(t, has(helmTemplate(t, operatorNamespace), "PrometheusRule"))

	objects := helmTemplate(t, operatorNamespace, "--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=kube-prometheus-stack")
	rule := find(t, objects, "PrometheusRule", "tollgate-operator")
	assert.Equal(t, "monitoring.coreos.com/v1", rule.GetAPIVersion())
	assert.Equal(t, operatorNamespace, rule.GetNamespace())
	assert.Equal(t, "kube-prometheus-stack", rule.GetLabels()["release"], "the label the Prometheus operator's ruleSelector matches")
	assert.Equal(t, "tollgate", rule.GetLabels()["app.kubernetes.io/name"])

	// The Prometheus operator's own API types know every field.
	var typedRule monitoringv1.PrometheusRule
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(rule.Object, &typedRule, true))
}

// TestPrometheusRule_AlertsOnWhatTollgateExports lints every alert with
// Prometheus' own PromQL parser and checks it against the metrics the
// sidecar's and the operator's registries describe (see exportedMetrics):
// each metric exists, each label a matcher, a grouping or an on() names is
// the metric's or one Prometheus adds, each literal label value is one the
// metric takes, rate() reads counters, and each annotation names only
// labels the alert keeps.
func TestPrometheusRule_AlertsOnWhatTollgateExports(t *testing.T) {
	exported := exportedMetrics(t)
	// The alerts this chart promises, and the metrics each reads.
	want := map[string][]string{
		"TollgateCircuitBreakerOpen":        {"tollgate_circuit_breaker_state", "tollgate_requests_total"},
		"TollgateErrorRatioHigh":            {"tollgate_requests_total"},
		"TollgateConfigReloadFailed":        {"tollgate_config_last_reload_successful"},
		"TollgateBudgetSoftLimitReached":    {"tollgate_budget_state"},
		"TollgateBudgetExhausted":           {"tollgate_budget_state"},
		"TollgateBudgetSpendUnverified":     {"tollgate_budget_unverified_usd"},
		"TollgateLedgerStatusWritesFailing": {"tollgate_ledger_status_writes_total"},
		"TollgatePodsUninjected":            {"tollgate_pods_uninjected"},
	}
	got := map[string][]string{}
	for name, r := range alerts(t) {
		t.Run(name, func(t *testing.T) {
			c := &queryChecker{metrics: exported}
			expr, kept := c.check(r.Expr)
			assert.Empty(t, c.problems, "expr %q", r.Expr)
			require.NotNil(t, expr)
			assert.Equal(t, promparser.ValueTypeVector, expr.Type(), "an alert's expression is an instant vector")
			got[name] = slices.Compact(selectors(expr))

			if r.For != "" {
				_, err := model.ParseDuration(r.For)
				assert.NoError(t, err, "for: %q", r.For)
			}
			assert.Contains(t, []string{"info", "warning", "critical"}, r.Labels["severity"])
			assert.NotEmpty(t, r.Annotations["summary"])
			assert.NotEmpty(t, r.Annotations["description"])
			for annotation, text := range r.Annotations {
				assert.NoError(t, expandAnnotation(text, kept), "annotation %s of %s", annotation, name)
			}
		})
	}
	assert.Equal(t, want, got)
}

// TestPrometheusRule_ThresholdsAndDurationsAreValues sets every value of
// prometheusRule.alerts and finds each in the alert it tunes.
func TestPrometheusRule_ThresholdsAndDurationsAreValues(t *testing.T) {
	got := alerts(t,
		"prometheusRule.alerts.circuitBreakerOpen.for=15m", "prometheusRule.alerts.circuitBreakerOpen.window=10m",
		"prometheusRule.alerts.errorRatio.threshold=0.2", "prometheusRule.alerts.errorRatio.window=30m",
		"prometheusRule.alerts.errorRatio.for=1h", "prometheusRule.alerts.errorRatio.minRequests=300", "prometheusRule.alerts.errorRatio.outcomes={server_error,tollgate_timeout}",
		"prometheusRule.alerts.configReloadFailed.for=2h",
		"prometheusRule.alerts.budgetSoftLimit.for=1m", "prometheusRule.alerts.budgetExhausted.for=2m",
		"prometheusRule.alerts.budgetUnverified.for=3m",
		"prometheusRule.alerts.ledgerStatusWritesFailing.window=7m", "prometheusRule.alerts.ledgerStatusWritesFailing.for=8m",
		"prometheusRule.alerts.podsUninjected.for=9m",
	)
	tests := map[string]struct {
		wantFor  string
		wantExpr []string
	}{
		"TollgateCircuitBreakerOpen":        {wantFor: "15m", wantExpr: []string{"[10m]"}},
		"TollgateErrorRatioHigh":            {wantFor: "1h", wantExpr: []string{"[30m]", "> 0.2", `outcome=~"server_error|tollgate_timeout"`, ">= 300"}},
		"TollgateConfigReloadFailed":        {wantFor: "2h"},
		"TollgateBudgetSoftLimitReached":    {wantFor: "1m"},
		"TollgateBudgetExhausted":           {wantFor: "2m"},
		"TollgateBudgetSpendUnverified":     {wantFor: "3m"},
		"TollgateLedgerStatusWritesFailing": {wantFor: "8m", wantExpr: []string{"[7m]"}},
		"TollgatePodsUninjected":            {wantFor: "9m"},
	}
	require.ElementsMatch(t, keys(tests), keys(got))
	exported := exportedMetrics(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := got[name]
			if tc.wantFor != "" {
				assert.Equal(t, tc.wantFor, r.For)
			}
			for _, want := range tc.wantExpr {
				assert.Contains(t, r.Expr, want)
			}
			c := &queryChecker{metrics: exported}
			c.check(r.Expr)
			assert.Empty(t, c.problems)
			for _, text := range r.Annotations {
				assert.NotContains(t, text, "<no value>")
			}
		})
	}
	assert.Contains(t, got["TollgateErrorRatioHigh"].Annotations["description"], "{{ 0.2 | humanizePercentage }}", "the description states the threshold")
}

// TestPrometheusRule_AnOutcomeTheSidecarNeverCountsIsCaught guards the
// check above: a value of errorRatio.outcomes that tollgate_requests_total
// never takes (a typo, or a refusal that never reaches the metrics) would
// leave the alert blind to it.
func TestPrometheusRule_AnOutcomeTheSidecarNeverCountsIsCaught(t *testing.T) {
	for _, outcome := range []string{"server_errors", "tollgate_no_policy"} {
		t.Run(outcome, func(t *testing.T) {
			r := alerts(t, "prometheusRule.alerts.errorRatio.outcomes={server_error,"+outcome+"}")["TollgateErrorRatioHigh"]
			c := &queryChecker{metrics: exportedMetrics(t)}
			c.check(r.Expr)
			require.Len(t, c.problems, 1)
			assert.Contains(t, c.problems[0], `alternative "`+outcome+`" tollgate_requests_total never takes`)
		})
	}
}

// expandAnnotation expands an annotation as Prometheus does (text/template
// with $labels, $value and the external labels defined), failing on a label
// the alert does not carry.
func expandAnnotation(text string, labels []string) error {
	// Prometheus' own definitions, prepended to every alert template.
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	// The functions Prometheus adds that an annotation may use; stubs are
	// enough to parse.
	stub := func(any) string { return "x" }
	funcs := template.FuncMap{}
	for _, name := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "title", "toUpper", "toLower"} {
		funcs[name] = stub
	}
	tmpl, err := template.New("annotation").Funcs(funcs).Option("missingkey=error").Parse(defs + text)
	if err != nil {
		return err
	}
	data := struct {
		Labels, ExternalLabels map[string]string
		ExternalURL            string
		Value                  float64
	}{Labels: map[string]string{}, Value: 1.5}
	for _, l := range labels {
		data.Labels[l] = "x"
	}
	var out strings.Builder
	return tmpl.Execute(&out, data)
}
