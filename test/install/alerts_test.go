package install

import (
	"context"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrape is the interval of the synthetic scrapes and of the rule
// evaluations below.
const scrape = time.Minute

// scraped is one synthetic series: its labels (the metric's own, and the
// namespace and pod Prometheus adds) and its value at each minute of the
// run; NaN leaves the minute without a sample.
type scraped struct {
	labels map[string]string
	value  func(minute int) float64
}

// counter is a counter growing by perMinute from minute from on (flat
// before).
func counter(perMinute float64, from int) func(int) float64 {
	return func(m int) float64 { return perMinute * float64(max(0, m-from)) }
}

// gauge is v from minute from on, 0 before.
func gauge(v float64, from int) func(int) float64 {
	return func(m int) float64 {
		if m < from {
			return 0
		}
		return v
	}
}

// sidecarSeries labels a sidecar's metric as Prometheus stores it: pod
// chat-1 of namespace shop.
func sidecarSeries(name string, labels map[string]string, value func(int) float64) scraped {
	l := map[string]string{"__name__": name, "namespace": "shop", "pod": "chat-1", "job": "tollgate-sidecars"}
	for k, v := range labels {
		l[k] = v
	}
	return scraped{labels: l, value: value}
}

// operatorSeries labels an operator's metric as the ServiceMonitor with
// honorLabels stores it.
func operatorSeries(name string, labels map[string]string, value func(int) float64) scraped {
	l := map[string]string{"__name__": name, "namespace": "tollgate-system", "pod": "tollgate-operator-0", "job": "tollgate-operator-metrics"}
	for k, v := range labels {
		l[k] = v // a budget metric's own namespace wins
	}
	return scraped{labels: l, value: value}
}

func requests(outcome string, perMinute float64) scraped {
	return sidecarSeries("tollgate_requests_total", map[string]string{"provider": "openai", "model": "gpt-4o", "outcome": outcome}, counter(perMinute, 0))
}

// TestAlerts_FireWhenTheREADMESays evaluates the chart's alerts with
// Prometheus' own query engine over an hour of synthetic scrapes shaped as
// the sidecar and the operator export them, with Prometheus' semantics of
// for (an alert is pending from its first evaluation with a result and
// fires once it has had one at every evaluation for that long), and
// checks which alerts fire at which minute: the behaviour the README's
// Observability section describes.
func TestAlerts_FireWhenTheREADMESays(t *testing.T) {
	tests := map[string]struct {
		series []scraped
		// wantFiring is the alerts firing at each minute listed, by name,
		// with the labels that identify them.
		wantFiring map[int][]string
	}{
		"a breaker that stays open while requests come fires after 5m": {
			series: []scraped{
				sidecarSeries("tollgate_circuit_breaker_state", map[string]string{"provider": "openai", "model": "gpt-4o"}, gauge(2, 10)),
				requests("success", 60), // a fallback answers
			},
			wantFiring: map[int][]string{9: nil, 14: nil, 15: {"TollgateCircuitBreakerOpen shop/openai/gpt-4o"}, 40: {"TollgateCircuitBreakerOpen shop/openai/gpt-4o"}},
		},
		"half-open counts as not closed": {
			series: []scraped{
				sidecarSeries("tollgate_circuit_breaker_state", map[string]string{"provider": "openai", "model": "gpt-4o"}, func(m int) float64 { return float64(1 + m%2) }),
				requests("success", 60),
			},
			// The request rate exists from minute 1, the second sample.
			wantFiring: map[int][]string{5: nil, 6: {"TollgateCircuitBreakerOpen shop/openai/gpt-4o"}},
		},
		"a breaker left open by an outage with no requests since stays quiet": {
			series: []scraped{
				sidecarSeries("tollgate_circuit_breaker_state", map[string]string{"provider": "openai", "model": "gpt-4o"}, gauge(2, 10)),
				sidecarSeries("tollgate_requests_total", map[string]string{"provider": "openai", "model": "gpt-4o", "outcome": "success"}, func(m int) float64 { return float64(min(m, 5)) }),
			},
			wantFiring: map[int][]string{15: nil, 59: nil},
		},
		"9% of requests failing fires after 10m": {
			series: []scraped{requests("success", 91), requests("server_error", 5), requests("tollgate_timeout", 4)},
			wantFiring: map[int][]string{
				10: nil, // the ratio has held since the first evaluation with a 5m rate, minute 1
				11: {"TollgateErrorRatioHigh shop/openai"},
			},
		},
		"half of a trickle of requests failing stays quiet": {
			// 2 requests a minute, 10 in the 5m window: below minRequests.
			series:     []scraped{requests("success", 1), requests("server_error", 1)},
			wantFiring: map[int][]string{59: nil},
		},
		"half failing at 100 requests a minute fires": {
			series:     []scraped{requests("success", 50), requests("server_error", 50)},
			wantFiring: map[int][]string{10: nil, 11: {"TollgateErrorRatioHigh shop/openai"}},
		},
		"3% failing stays below the 5% threshold": {
			series:     []scraped{requests("success", 97), requests("server_error", 3)},
			wantFiring: map[int][]string{30: nil},
		},
		"refusals that are policy, not failure, do not count": {
			series:     []scraped{requests("success", 50), requests("tollgate_budget_exhausted", 30), requests("tollgate_rate_limited", 20), requests("client_error", 10)},
			wantFiring: map[int][]string{30: nil},
		},
		"a refused policy fires at once, lasts while it stands, and clears when a good one is in force": {
			series: []scraped{sidecarSeries("tollgate_config_last_reload_successful", nil, func(m int) float64 {
				if m >= 20 && m < 45 {
					return 0
				}
				return 1
			})},
			wantFiring: map[int][]string{19: nil, 20: {"TollgateConfigReloadFailed shop"}, 44: {"TollgateConfigReloadFailed shop"}, 45: nil},
		},
		"a budget past its soft limit": {
			series:     []scraped{operatorSeries("tollgate_budget_state", map[string]string{"namespace": "shop", "policy": "chat"}, gauge(1, 20))},
			wantFiring: map[int][]string{19: nil, 20: {"TollgateBudgetSoftLimitReached shop/chat"}},
		},
		"an exhausted budget is past its soft limit too": {
			series:     []scraped{operatorSeries("tollgate_budget_state", map[string]string{"namespace": "shop", "policy": "chat"}, gauge(2, 20))},
			wantFiring: map[int][]string{20: {"TollgateBudgetExhausted shop/chat", "TollgateBudgetSoftLimitReached shop/chat"}},
		},
		"unverified spend": {
			series:     []scraped{operatorSeries("tollgate_budget_unverified_usd", map[string]string{"namespace": "shop", "policy": "chat"}, gauge(0.42, 20))},
			wantFiring: map[int][]string{19: nil, 20: {"TollgateBudgetSpendUnverified shop/chat"}},
		},
		"ledger status writes failing for 5m": {
			series: []scraped{
				operatorSeries("tollgate_ledger_status_writes_total", map[string]string{"result": "error"}, counter(3, 20)),
				operatorSeries("tollgate_ledger_status_writes_total", map[string]string{"result": "success"}, counter(30, 0)),
			},
			wantFiring: map[int][]string{25: nil, 26: {"TollgateLedgerStatusWritesFailing"}},
		},
		"pods without the sidecar for 5m": {
			series:     []scraped{operatorSeries("tollgate_pods_uninjected", map[string]string{"namespace": "shop"}, gauge(2, 20))},
			wantFiring: map[int][]string{24: nil, 25: {"TollgatePodsUninjected shop"}},
		},
		"a healthy namespace fires nothing": {
			series: []scraped{
				sidecarSeries("tollgate_circuit_breaker_state", map[string]string{"provider": "openai", "model": "gpt-4o"}, gauge(0, 0)),
				requests("success", 100), requests("server_error", 1),
				sidecarSeries("tollgate_config_last_reload_successful", nil, gauge(1, 0)),
				operatorSeries("tollgate_budget_state", map[string]string{"namespace": "shop", "policy": "chat"}, gauge(0, 0)),
				operatorSeries("tollgate_budget_unverified_usd", map[string]string{"namespace": "shop", "policy": "chat"}, gauge(0, 0)),
				operatorSeries("tollgate_ledger_status_writes_total", map[string]string{"result": "error"}, gauge(0, 0)),
				operatorSeries("tollgate_pods_uninjected", map[string]string{"namespace": "shop"}, gauge(0, 0)),
			},
			wantFiring: map[int][]string{59: nil},
		},
	}
	rules := alerts(t)
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			store := memoryStorage(tc.series, 60)
			last := slices.Max(keys2(tc.wantFiring))
			firing := evaluate(t, engine, store, rules, last)
			for minute, want := range tc.wantFiring {
				assert.ElementsMatch(t, want, firing[minute], "alerts firing at minute %d", minute)
			}
		})
	}
}

// evaluate evaluates every rule once a minute from minute 0 to last and
// returns the alerts firing at each minute, as "<alert> <labels>".
func evaluate(t *testing.T, engine *promql.Engine, store storage.Queryable, rules map[string]alertRule, last int) map[int][]string {
	t.Helper()
	firing := map[int][]string{}
	for name, r := range rules {
		hold := time.Duration(0)
		if r.For != "" {
			d, err := model.ParseDuration(r.For)
			require.NoError(t, err)
			hold = time.Duration(d)
		}
		activeAt := map[string]int{}
		for minute := 0; minute <= last; minute++ {
			q, err := engine.NewInstantQuery(context.Background(), store, nil, r.Expr, at(minute))
			require.NoError(t, err, "%s: %s", name, r.Expr)
			res := q.Exec(context.Background())
			require.NoError(t, res.Err, "%s: %s", name, r.Expr)
			vec, err := res.Vector()
			require.NoError(t, err)
			present := map[string]bool{}
			for _, s := range vec {
				key := name + identity(s.Metric)
				present[key] = true
				if _, ok := activeAt[key]; !ok {
					activeAt[key] = minute
				}
				if time.Duration(minute-activeAt[key])*scrape >= hold {
					firing[minute] = append(firing[minute], key)
				}
			}
			for key := range activeAt {
				if !present[key] {
					delete(activeAt, key) // pending resets when the condition breaks
				}
			}
			q.Close()
		}
	}
	return firing
}

// identity writes an alert's labels as " a/b/c", in the order namespace,
// policy, provider, model: enough to tell the alerts above apart.
func identity(l labels.Labels) string {
	out := ""
	for _, name := range []string{"namespace", "policy", "provider", "model"} {
		if v := l.Get(name); v != "" {
			if out == "" {
				out = " " + v
			} else {
				out += "/" + v
			}
		}
	}
	return out
}

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(minute int) time.Time { return start.Add(time.Duration(minute) * scrape) }

// memoryStorage holds the series' samples for minutes 0 to minutes, for
// Prometheus' engine to query.
func memoryStorage(series []scraped, minutes int) storage.Queryable {
	var all []storage.Series
	for _, s := range series {
		var samples []chunks.Sample
		for m := 0; m <= minutes; m++ {
			if v := s.value(m); !math.IsNaN(v) {
				samples = append(samples, floatSample{t: at(m).UnixMilli(), f: v})
			}
		}
		all = append(all, storage.NewListSeries(labels.FromMap(s.labels), samples))
	}
	return &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(sortSeries bool, _ *storage.SelectHints, matchers ...*labels.Matcher) storage.SeriesSet {
			var out []storage.Series
			for _, s := range all {
				if matchesAll(s.Labels(), matchers) {
					out = append(out, s)
				}
			}
			if sortSeries {
				sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Labels(), out[j].Labels()) < 0 })
			}
			return &seriesSet{series: out, i: -1}
		},
	}}
}

func matchesAll(l labels.Labels, matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

// seriesSet iterates over series.
type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series                { return s.series[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// floatSample is a float sample at t (milliseconds).
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                      { return s.t }
func (s floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                    { return s.f }
func (s floatSample) H() *histogram.Histogram       { return nil }
func (s floatSample) FH() *histogram.FloatHistogram { return nil }
func (s floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample           { return s }

func keys2[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
