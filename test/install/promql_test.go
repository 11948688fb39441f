package install

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	promparser "github.com/prometheus/prometheus/promql/parser"
)

// queryChecker checks PromQL queries against what Tollgate exports: every
// metric a query selects exists, every label it matches, groups by or
// reads is one the series have, every literal label value it matches is
// one the metric takes, and rate() and histogram_quantile() get what they
// need. It collects problems rather than failing at the first.
type queryChecker struct {
	metrics map[string]*exportedMetric
	// placeholder is a label value that stands for a dashboard variable:
	// any value matches it.
	placeholder string
	problems    []string
}

func (c *queryChecker) problemf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// check parses query and checks it, and returns the expression and the
// labels of its result; nil when it does not parse.
func (c *queryChecker) check(query string) (promparser.Expr, []string) {
	expr, err := promparser.NewParser(promparser.Options{}).ParseExpr(query)
	if err != nil {
		c.problemf("%q does not parse: %v", query, err)
		return nil, nil
	}
	return expr, c.outputLabels(expr)
}

// selected checks a selector and returns the labels of its series: the
// metric's own and the target labels Prometheus adds.
func (c *queryChecker) selected(n *promparser.VectorSelector) []string {
	if n.Name == "" {
		c.problemf("%s selects no metric by name", n)
		return nil
	}
	m, ok := c.metrics[n.Name]
	if !ok {
		var ours []string
		for _, name := range keys(c.metrics) {
			if strings.HasPrefix(name, "tollgate_") {
				ours = append(ours, name)
			}
		}
		c.problemf("%s reads %s, which neither the sidecar nor the operator exports (Tollgate's own metrics: %s)", n, n.Name, strings.Join(ours, ", "))
		return nil
	}
	out := slices.Clone(m.labels)
	for _, l := range targetLabels {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	for _, lm := range n.LabelMatchers {
		if lm.Name == labels.MetricName {
			continue
		}
		if !slices.Contains(out, lm.Name) {
			c.problemf("%s matches label %s, which %s does not have (it has %s; Prometheus adds %s)", n, lm.Name, n.Name, strings.Join(m.labels, ", "), strings.Join(targetLabels, ", "))
			continue
		}
		c.value(n, m, lm)
	}
	return out
}

// value checks that a matcher's literal value is one of the values the
// metric's series take, when the registry holds series to tell.
func (c *queryChecker) value(n *promparser.VectorSelector, m *exportedMetric, lm *labels.Matcher) {
	seen := m.values[lm.Name]
	if len(seen) == 0 || (c.placeholder != "" && strings.Contains(lm.Value, c.placeholder)) {
		return
	}
	switch lm.Type {
	case labels.MatchEqual, labels.MatchNotEqual:
		if !seen[lm.Value] {
			c.problemf("%s matches %s %s %q, a value %s never takes (it takes %s)", n, lm.Name, lm.Type, lm.Value, n.Name, strings.Join(keys(seen), ", "))
		}
	case labels.MatchRegexp, labels.MatchNotRegexp:
		if alternatives, ok := literals(lm.Value); ok {
			for _, a := range alternatives {
				if !seen[a] {
					c.problemf("%s matches %s %s %q, whose alternative %q %s never takes (it takes %s)", n, lm.Name, lm.Type, lm.Value, a, n.Name, strings.Join(keys(seen), ", "))
				}
			}
			return
		}
		for v := range seen {
			if lm.Matches(v) == (lm.Type == labels.MatchRegexp) {
				return
			}
		}
		c.problemf("%s matches %s %s %q, which selects none of the values %s takes (%s)", n, lm.Name, lm.Type, lm.Value, n.Name, strings.Join(keys(seen), ", "))
	}
}

// literals returns the alternatives of a regular expression that is only
// an alternation of literal strings, such as "a|b|c".
func literals(re string) ([]string, bool) {
	parts := strings.Split(re, "|")
	for _, p := range parts {
		if p == "" || regexp.QuoteMeta(p) != p {
			return nil, false
		}
	}
	return parts, true
}

// counterArgument checks that a function of counters (rate, increase,
// irate) reads a counter.
func (c *queryChecker) counterArgument(call *promparser.Call) {
	sel := selectorOf(call.Args[0])
	if sel == nil {
		return
	}
	m, ok := c.metrics[sel.Name]
	if !ok {
		return // reported by selected
	}
	if !m.known {
		c.problemf("%s takes the %s of %s, whose type the registry cannot tell without a series: make exportedMetrics write one", call, call.Func.Name, sel.Name)
		return
	}
	if !m.counter() {
		c.problemf("%s takes the %s of %s, a %s: %s is for counters", call, call.Func.Name, sel.Name, strings.ToLower(m.kind.String()), call.Func.Name)
	}
}

// selectorOf returns the selector a range or instant vector argument
// reads, nil for anything else.
func selectorOf(e promparser.Expr) *promparser.VectorSelector {
	switch n := e.(type) {
	case *promparser.MatrixSelector:
		return selectorOf(n.VectorSelector)
	case *promparser.VectorSelector:
		return n
	case *promparser.ParenExpr:
		return selectorOf(n.Expr)
	}
	return nil
}

// outputLabels checks expr and returns the labels its series carry, for
// the forms Tollgate's alerts and dashboard use; other forms are reported
// for the checker to learn.
func (c *queryChecker) outputLabels(expr promparser.Expr) []string {
	switch n := expr.(type) {
	case *promparser.VectorSelector:
		return c.selected(n)
	case *promparser.MatrixSelector:
		return c.outputLabels(n.VectorSelector)
	case *promparser.ParenExpr:
		return c.outputLabels(n.Expr)
	case *promparser.UnaryExpr:
		return c.outputLabels(n.Expr)
	case *promparser.NumberLiteral, *promparser.StringLiteral:
		return nil
	case *promparser.AggregateExpr:
		inner := c.outputLabels(n.Expr)
		if n.Param != nil {
			c.outputLabels(n.Param)
		}
		for _, l := range n.Grouping {
			if !slices.Contains(inner, l) {
				c.problemf("%s groups by %s, a label its input does not have (it has %s)", n, l, strings.Join(inner, ", "))
			}
		}
		switch {
		case n.Op == promparser.TOPK || n.Op == promparser.BOTTOMK:
			return inner
		case n.Without:
			return slices.DeleteFunc(slices.Clone(inner), func(l string) bool { return slices.Contains(n.Grouping, l) })
		}
		return n.Grouping
	case *promparser.Call:
		switch n.Func.Name {
		case "rate", "irate", "increase":
			c.counterArgument(n)
			return c.outputLabels(n.Args[0])
		case "delta", "idelta", "deriv", "max_over_time", "min_over_time", "avg_over_time", "last_over_time",
			"abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "sort", "sort_desc":
			for _, a := range n.Args[1:] {
				c.outputLabels(a)
			}
			return c.outputLabels(n.Args[0])
		case "histogram_quantile":
			c.outputLabels(n.Args[0])
			inner := c.outputLabels(n.Args[1])
			if !slices.Contains(inner, "le") {
				c.problemf("%s: histogram_quantile's input has no le label (keep it: sum by (le, ...))", n)
			}
			if sel := firstSelector(n.Args[1]); sel != nil && !strings.HasSuffix(sel.Name, "_bucket") {
				c.problemf("%s: histogram_quantile reads %s, not a histogram's _bucket series", n, sel.Name)
			}
			return slices.DeleteFunc(slices.Clone(inner), func(l string) bool { return l == "le" })
		case "vector", "time":
			return nil
		}
	case *promparser.BinaryExpr:
		lhs, rhs := c.outputLabels(n.LHS), c.outputLabels(n.RHS)
		lt, rt := n.LHS.Type(), n.RHS.Type()
		switch {
		case lt != promparser.ValueTypeVector:
			return rhs
		case rt != promparser.ValueTypeVector:
			return lhs
		}
		m := n.VectorMatching
		if m != nil && m.On {
			for _, l := range m.MatchingLabels {
				if !slices.Contains(lhs, l) || !slices.Contains(rhs, l) {
					c.problemf("%s matches on %s, which both sides must have (left: %s; right: %s)", n, l, strings.Join(lhs, ", "), strings.Join(rhs, ", "))
				}
			}
			if n.Op == promparser.LAND || n.Op == promparser.LUNLESS {
				return lhs // a filter keeps the left side's series
			}
			return m.MatchingLabels
		}
		if m != nil && len(m.MatchingLabels) > 0 {
			c.problemf("teach outputLabels about ignoring(): %s", n)
			return lhs
		}
		// One to one on every label: both sides must carry the same.
		if !sameSet(lhs, rhs) {
			c.problemf("%s: the two sides have different labels (%s; %s) and match nothing: aggregate them alike or say on(...)", n, strings.Join(lhs, ", "), strings.Join(rhs, ", "))
		}
		return lhs
	}
	c.problemf("teach outputLabels about %T: %s", expr, expr)
	return nil
}

// firstSelector returns the first vector selector in e.
func firstSelector(e promparser.Expr) *promparser.VectorSelector {
	var found *promparser.VectorSelector
	promparser.Inspect(e, func(node promparser.Node, _ []promparser.Node) error {
		if s, ok := node.(*promparser.VectorSelector); ok && found == nil {
			found = s
		}
		return nil
	})
	return found
}

// selectors returns the names of the metrics e selects, in order.
func selectors(e promparser.Expr) []string {
	var out []string
	promparser.Inspect(e, func(node promparser.Node, _ []promparser.Node) error {
		if s, ok := node.(*promparser.VectorSelector); ok {
			out = append(out, s.Name)
		}
		return nil
	})
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
