package install

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	promparser "github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// dashboardFile is the dashboard the chart ships, relative to the
// repository root.
const dashboardFile = chartDir + "/dashboards/tollgate.json"

// grafanaDashboard is the part of a Grafana dashboard's JSON the tests read.
type grafanaDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasourceRef  `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

type grafanaPanel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []grafanaTarget `json:"targets"`
	// Panels are a collapsed row's.
	Panels []grafanaPanel `json:"panels"`
}

type grafanaTarget struct {
	RefID        string         `json:"refId"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat"`
	Datasource   *datasourceRef `json:"datasource"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// datasourceVariable is the dashboard's data source variable: every query
// uses the Prometheus the viewer picks.
const datasourceVariable = "${datasource}"

func readDashboard(t *testing.T) (raw []byte, d grafanaDashboard) {
	t.Helper()
	raw = []byte(readFile(t, dashboardFile))
	require.NoError(t, json.Unmarshal(raw, &d))
	return raw, d
}

// queries returns every panel of d, rows' panels included, that has
// queries.
func panelsOf(d grafanaDashboard) []grafanaPanel {
	var out []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

func TestGrafanaDashboard_RendersOnlyWhenEnabled(t *testing.T) {
	for _, o := range helmTemplate(t, operatorNamespace) {
		assert.NotContains(t, o.GetLabels(), "grafana_dashboard", "%s: the dashboard is opt-in", id(o))
	}

	objects := helmTemplate(t, operatorNamespace, "--set", "grafanaDashboard.enabled=true")
	cm := typed[corev1.ConfigMap](t, find(t, objects, "ConfigMap", "tollgate-dashboard"))
	assert.Equal(t, operatorNamespace, cm.Namespace)
	assert.Equal(t, "1", cm.Labels["grafana_dashboard"], "the label Grafana's dashboard sidecar looks for by default")
	assert.Equal(t, "tollgate", cm.Labels["app.kubernetes.io/name"])
	assert.Empty(t, cm.Annotations)
	require.Equal(t, []string{"tollgate.json"}, keys(cm.Data))
	assert.JSONEq(t, readFile(t, dashboardFile), cm.Data["tollgate.json"], "the ConfigMap holds %s as it is", dashboardFile)

	objects = helmTemplate(t, operatorNamespace, "--set", "grafanaDashboard.enabled=true",
		"--set", "grafanaDashboard.label=example.com/dashboard", "--set", "grafanaDashboard.labelValue=tollgate",
		"--set", "grafanaDashboard.namespace=monitoring", "--set", "grafanaDashboard.annotations.grafana_folder=LLM")
	cm = typed[corev1.ConfigMap](t, find(t, objects, "ConfigMap", "tollgate-dashboard"))
	assert.Equal(t, "monitoring", cm.Namespace, "where Grafana's sidecar watches")
	assert.Equal(t, "tollgate", cm.Labels["example.com/dashboard"])
	assert.NotContains(t, cm.Labels, "grafana_dashboard")
	assert.Equal(t, map[string]string{"grafana_folder": "LLM"}, cm.Annotations)
}

// TestGrafanaDashboard_IsAValidGrafanaDashboard decodes the dashboard with
// Grafana's own schema (the Grafana Foundation SDK's strict decoding, which
// refuses unknown fields, wrong types and missing required fields, panel
// options and Prometheus queries included), then checks what a schema does
// not: unique panel ids, a layout inside Grafana's 24 columns without
// overlaps, every query on the data source variable, and every variable a
// query uses defined.
func TestGrafanaDashboard_IsAValidGrafanaDashboard(t *testing.T) {
	raw, d := readDashboard(t)
	plugins.RegisterDefaultPlugins()
	var strict dashboard.Dashboard
	err := strict.UnmarshalJSONStrict(raw)
	if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
		err = nil // the SDK returns its error list even when empty
	}
	require.NoError(t, err, "Grafana's dashboard schema refuses %s", dashboardFile)

	assert.Equal(t, "tollgate-overview", d.UID, "a fixed uid keeps links to the dashboard working across upgrades")
	assert.NotEmpty(t, d.Title)

	vars := map[string]grafanaVariable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	require.Contains(t, vars, "datasource")
	assert.Equal(t, "datasource", vars["datasource"].Type)
	assert.JSONEq(t, `"prometheus"`, string(vars["datasource"].Query))

	ids := map[int]string{}
	var cells []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if other, dup := ids[p.ID]; dup {
				t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			cells = append(cells, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for i, a := range cells {
		g := a.GridPos
		assert.True(t, g.W > 0 && g.H > 0 && g.X >= 0 && g.Y >= 0 && g.X+g.W <= 24, "panel %q lies outside the 24 columns: %+v", a.Title, g)
		for _, b := range cells[i+1:] {
			h := b.GridPos
			overlap := g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H
			assert.False(t, overlap, "panels %q and %q overlap", a.Title, b.Title)
		}
	}

	used := regexp.MustCompile(`\$\{?(\w+)\}?`)
	for _, p := range panelsOf(d) {
		assert.NotEmpty(t, p.Description, "panel %q says what it shows", p.Title)
		require.NotNil(t, p.Datasource, "panel %q", p.Title)
		assert.Equal(t, datasourceRef{Type: "prometheus", UID: datasourceVariable}, *p.Datasource, "panel %q", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		refs := map[string]bool{}
		for _, q := range p.Targets {
			assert.False(t, refs[q.RefID], "panel %q has two queries %s", p.Title, q.RefID)
			refs[q.RefID] = true
			require.NotNil(t, q.Datasource, "panel %q query %s", p.Title, q.RefID)
			assert.Equal(t, datasourceRef{Type: "prometheus", UID: datasourceVariable}, *q.Datasource, "panel %q query %s", p.Title, q.RefID)
			for _, m := range used.FindAllStringSubmatch(q.Expr, -1) {
				if !strings.HasPrefix(m[1], "__") {
					assert.Contains(t, vars, m[1], "panel %q uses $%s, which the dashboard does not define", p.Title, m[1])
				}
			}
		}
	}
	for _, name := range []string{"namespace", "provider"} {
		v := vars[name]
		require.NotNil(t, v.Datasource, name)
		assert.Equal(t, datasourceVariable, v.Datasource.UID, "variable %s", name)
		assert.True(t, v.Multi && v.IncludeAll, "variable %s takes several values and All", name)
		assert.Equal(t, ".*", v.AllValue, "All of %s also matches values the variable's own query does not list (a policy's namespace without sidecars)", name)
	}
}

// grafanaBuiltins are the interval variables Grafana fills in, with values
// to parse the queries with.
var grafanaBuiltins = map[string]string{"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}

// placeholder stands for a dashboard variable's value in a query.
const placeholder = "__dashboard_variable__"

// withVariables replaces Grafana's variables in a query by values
// Prometheus' parser accepts: intervals by durations, the dashboard's own
// variables by placeholder.
func withVariables(query string) string {
	for v, d := range grafanaBuiltins {
		query = strings.ReplaceAll(query, v, d)
	}
	return regexp.MustCompile(`\$\{?\w+\}?`).ReplaceAllString(query, placeholder)
}

// legendLabels are the labels a legend format names ({{label}}).
var legendLabels = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

// TestGrafanaDashboard_QueriesReadWhatTollgateExports parses every query
// of the dashboard and of its variables with Prometheus' PromQL parser and
// checks it against what the sidecar's and the operator's registries
// describe (see exportedMetrics), as the alerts are checked: metrics,
// labels and label values exist; and every label a legend names is one the
// query's series carry.
func TestGrafanaDashboard_QueriesReadWhatTollgateExports(t *testing.T) {
	exported := exportedMetrics(t)
	_, d := readDashboard(t)
	for _, p := range panelsOf(d) {
		for _, q := range p.Targets {
			t.Run(p.Title+"/"+q.RefID, func(t *testing.T) {
				c := &queryChecker{metrics: exported, placeholder: placeholder}
				expr, kept := c.check(withVariables(q.Expr))
				assert.Empty(t, c.problems, "query %q", q.Expr)
				require.NotNil(t, expr)
				assert.Equal(t, promparser.ValueTypeVector, expr.Type())
				for _, m := range legendLabels.FindAllStringSubmatch(q.LegendFormat, -1) {
					assert.Contains(t, kept, m[1], "the legend %q names a label the query's series do not carry", q.LegendFormat)
				}
			})
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		t.Run("variable "+v.Name, func(t *testing.T) {
			var q struct {
				Query string `json:"query"`
			}
			require.NoError(t, json.Unmarshal(v.Query, &q))
			m := labelValues.FindStringSubmatch(q.Query)
			require.NotNil(t, m, "variable %s: %q is not label_values(<selector>, <label>)", v.Name, q.Query)
			c := &queryChecker{metrics: exported, placeholder: placeholder}
			_, kept := c.check(withVariables(m[1]))
			assert.Empty(t, c.problems, "variable %s", v.Name)
			assert.Contains(t, kept, m[2], "variable %s lists values of %s, which %s does not carry", v.Name, m[2], m[1])
		})
	}
}

// TestGrafanaDashboard_HasThePromisedPanels pins the panels the chart
// promises (README: Observability), the metrics each reads, and the
// percentiles of the latency panels.
func TestGrafanaDashboard_HasThePromisedPanels(t *testing.T) {
	want := map[string][]string{
		"Requests by outcome":            {"tollgate_requests_total"},
		"Errors by reason":               {"tollgate_requests_total"},
		"Retries by reason":              {"tollgate_retries_total"},
		"Circuit breaker state":          {"tollgate_circuit_breaker_state"},
		"Time to first token (streams)":  {"tollgate_time_to_first_token_seconds_bucket"},
		"Request latency":                {"tollgate_request_duration_seconds_bucket"},
		"Cache hit rate":                 {"tollgate_cache_requests_total"},
		"Spend vs budget per policy":     {"tollgate_budget_spent_usd", "tollgate_budget_limit_usd"},
		"Sidecars refusing their policy": {"tollgate_config_last_reload_successful"},
		"Output validation":              {"tollgate_output_validations_total"},
		"Semantic cache lookups":         {"tollgate_semantic_cache_lookups_total", "tollgate_semantic_cache_embedding_errors_total"},
		"Charged an estimate":            {"tollgate_usage_estimated_total"},
		"Dry-run decisions":              {"tollgate_dryrun_decisions_total"},
		"Failure records":                {"tollgate_failure_records_total", "tollgate_failure_records_disk_errors_total"},
	}
	_, d := readDashboard(t)
	got := map[string]grafanaPanel{}
	for _, p := range panelsOf(d) {
		require.NotContains(t, got, p.Title, "two panels titled %q", p.Title)
		got[p.Title] = p
	}
	for title, metrics := range want {
		p, ok := got[title]
		if !assert.True(t, ok, "no panel %q among %v", title, keys(got)) {
			continue
		}
		var read []string
		for _, q := range p.Targets {
			expr, err := promparser.NewParser(promparser.Options{}).ParseExpr(withVariables(q.Expr))
			require.NoError(t, err)
			read = append(read, selectors(expr)...)
		}
		assert.Subset(t, read, metrics, "panel %q", title)
	}
	for _, title := range []string{"Time to first token (streams)", "Request latency"} {
		var quantiles []string
		for _, q := range got[title].Targets {
			expr, err := promparser.NewParser(promparser.Options{}).ParseExpr(withVariables(q.Expr))
			require.NoError(t, err)
			call, ok := expr.(*promparser.Call)
			require.True(t, ok && call.Func.Name == "histogram_quantile", "panel %q: %s", title, q.Expr)
			quantiles = append(quantiles, call.Args[0].String())
		}
		assert.Equal(t, []string{"0.5", "0.9", "0.99"}, quantiles, "panel %q shows p50, p90 and p99", title)
	}
	assert.Contains(t, got["Time to first token (streams)"].Targets[0].Expr, `stream="true"`, "TTFT is a stream's")
}

// TestGrafanaDashboard_KustomizeHoldsTheSameDashboard catches a stale copy:
// config/grafana holds the chart's dashboard byte for byte, since
// kustomize refuses files outside a kustomization's directory.
func TestGrafanaDashboard_KustomizeHoldsTheSameDashboard(t *testing.T) {
	assert.True(t, readFile(t, dashboardFile) == readFile(t, "config/grafana/tollgate.json"),
		"config/grafana/tollgate.json differs from %s: cp %[1]s config/grafana/", dashboardFile)
}
