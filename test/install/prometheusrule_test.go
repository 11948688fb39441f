package install

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/prometheus/common/model"
	promparser "github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestPrometheusRule_RendersOnlyWhenEnabled(t *testing.T) {
	assert.False(t, has(helmTemplate(t, operatorNamespace), "PrometheusRule"))

	objects := helmTemplate(t, operatorNamespace, "--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=kube-prometheus-stack")
	rule := find(t, objects, "PrometheusRule", "tollgate-operator")
	assert.Equal(t, "monitoring.coreos.com/v1", rule.GetAPIVersion())
	assert.Equal(t, operatorNamespace, rule.GetNamespace())
	assert.Equal(t, "kube-prometheus-stack", rule.GetLabels()["release"], "the label the Prometheus operator's ruleSelector matches")
	assert.Equal(t, "tollgate", rule.GetLabels()["app.kubernetes.io/name"])
}

// TestPrometheusRule_AlertsOnWhatTheOperatorExports lints every alert with
// Prometheus' own PromQL parser and checks it against the metrics the
// operator registers (read from its source, so the check cannot drift): each
// metric exists, each label a matcher or a grouping names is one of the
// metric's, and each annotation names only labels the alert keeps.
func TestPrometheusRule_AlertsOnWhatTheOperatorExports(t *testing.T) {
	exported := operatorMetrics(t)
	rule := typed[prometheusRuleSpec](t, find(t, helmTemplate(t, operatorNamespace, "--set", "prometheusRule.enabled=true"), "PrometheusRule", "tollgate-operator"))

	// The alerts this chart promises, and the metric each reads.
	want := map[string]string{
		"TollgateBudgetSoftLimitReached":    "tollgate_budget_state",
		"TollgateBudgetExhausted":           "tollgate_budget_state",
		"TollgateBudgetSpendUnverified":     "tollgate_budget_unverified_usd",
		"TollgateLedgerStatusWritesFailing": "tollgate_ledger_status_writes_total",
		"TollgatePodsUninjected":            "tollgate_pods_uninjected",
	}
	got := map[string]string{}
	p := promparser.NewParser(promparser.Options{})
	for _, g := range rule.Spec.Groups {
		require.NotEmpty(t, g.Name)
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				_, dup := got[r.Alert]
				require.False(t, dup, "two alerts named %s", r.Alert)
				expr, err := p.ParseExpr(r.Expr)
				require.NoError(t, err, "expr %q", r.Expr)
				assert.Equal(t, promparser.ValueTypeVector, expr.Type(), "an alert's expression is an instant vector")

				var metrics []string
				promparser.Inspect(expr, func(node promparser.Node, _ []promparser.Node) error {
					switch n := node.(type) {
					case *promparser.VectorSelector:
						labels, ok := exported[n.Name]
						if !assert.True(t, ok, "%s reads %q, which the operator does not export (it exports %v)", r.Alert, n.Name, keys(exported)) {
							return nil
						}
						metrics = append(metrics, n.Name)
						for _, m := range n.LabelMatchers {
							if m.Name != model.MetricNameLabel {
								assert.Contains(t, labels, m.Name, "%s matches on a label %s does not have", r.Alert, n.Name)
							}
						}
					case *promparser.AggregateExpr:
						inner := outputLabels(t, n.Expr, exported)
						for _, l := range n.Grouping {
							assert.Contains(t, inner, l, "%s groups by a label its input does not have", r.Alert)
						}
					}
					return nil
				})
				require.NotEmpty(t, metrics, "%s reads no metric", r.Alert)
				got[r.Alert] = metrics[0]

				if r.For != "" {
					_, err := model.ParseDuration(r.For)
					assert.NoError(t, err, "for: %q", r.For)
				}
				assert.Contains(t, []string{"info", "warning", "critical"}, r.Labels["severity"])
				assert.NotEmpty(t, r.Annotations["summary"])
				assert.NotEmpty(t, r.Annotations["description"])
				kept := outputLabels(t, expr, exported)
				for name, text := range r.Annotations {
					assert.NoError(t, expandAnnotation(text, kept), "annotation %s of %s", name, r.Alert)
				}
			})
		}
	}
	assert.Equal(t, want, got)
}

// outputLabels returns the labels the series of expr carry, for the forms
// the chart's alerts use; Prometheus adds target labels (pod, instance) to
// raw series, which alerts aggregate away so that they keep their identity
// when the leader changes.
func outputLabels(t *testing.T, expr promparser.Expr, exported map[string][]string) []string {
	t.Helper()
	switch n := expr.(type) {
	case *promparser.VectorSelector:
		return exported[n.Name]
	case *promparser.MatrixSelector:
		return outputLabels(t, n.VectorSelector, exported)
	case *promparser.ParenExpr:
		return outputLabels(t, n.Expr, exported)
	case *promparser.NumberLiteral:
		return nil
	case *promparser.AggregateExpr:
		require.False(t, n.Without, "teach outputLabels about without(): %s", n)
		return n.Grouping
	case *promparser.Call:
		switch n.Func.Name {
		case "rate", "irate", "increase", "delta", "deriv", "max_over_time", "min_over_time", "avg_over_time":
			return outputLabels(t, n.Args[0], exported)
		}
	case *promparser.BinaryExpr:
		// A filter against a number keeps the vector's labels.
		if n.LHS.Type() == promparser.ValueTypeVector && n.RHS.Type() == promparser.ValueTypeScalar {
			return outputLabels(t, n.LHS, exported)
		}
		if n.RHS.Type() == promparser.ValueTypeVector && n.LHS.Type() == promparser.ValueTypeScalar {
			return outputLabels(t, n.RHS, exported)
		}
	}
	require.Failf(t, "unknown expression form", "teach outputLabels about %T: %s", expr, expr)
	return nil
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

// operatorMetrics reads the Prometheus metrics internal/operator registers
// from its source: each prometheus.New* call with a literal Name, and the
// label names of the *Vec ones. Histograms add their _bucket, _sum and
// _count series.
func operatorMetrics(t *testing.T) map[string][]string {
	t.Helper()
	metrics := map[string][]string{}
	root := filepath.Join(env.RepoRoot, "internal", "operator")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !strings.HasPrefix(sel.Sel.Name, "New") || len(call.Args) == 0 {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" {
				return true
			}
			opts, ok := call.Args[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			name := stringField(t, fset, opts, "Name")
			if name == "" {
				return true
			}
			var labels []string
			if strings.HasSuffix(sel.Sel.Name, "Vec") {
				require.Len(t, call.Args, 2, "%s: %s", fset.Position(call.Pos()), sel.Sel.Name)
				list, ok := call.Args[1].(*ast.CompositeLit)
				require.True(t, ok, "%s: the labels of %s are not a literal []string: teach operatorMetrics", fset.Position(call.Pos()), name)
				for _, e := range list.Elts {
					labels = append(labels, stringLit(t, fset, e))
				}
			}
			metrics[name] = labels
			if strings.HasPrefix(sel.Sel.Name, "NewHistogram") {
				metrics[name+"_bucket"] = append(slices.Clone(labels), "le")
				metrics[name+"_sum"] = labels
				metrics[name+"_count"] = labels
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	// What the alerts read must be among what was found, or the scan is broken.
	require.Contains(t, metrics, "tollgate_budget_state", "no metrics found in %s", root)
	require.Contains(t, metrics, "tollgate_pods_uninjected", "no metrics found in %s", root)
	return metrics
}

// stringField returns the string literal of a composite literal's field,
// "" when it has none.
func stringField(t *testing.T, fset *token.FileSet, lit *ast.CompositeLit, field string) string {
	t.Helper()
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if key, ok := kv.Key.(*ast.Ident); ok && key.Name == field {
			return stringLit(t, fset, kv.Value)
		}
	}
	return ""
}

func stringLit(t *testing.T, fset *token.FileSet, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	require.True(t, ok && lit.Kind == token.STRING, "%s: not a string literal: teach operatorMetrics", fset.Position(e.Pos()))
	s, err := strconv.Unquote(lit.Value)
	require.NoError(t, err)
	return s
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
