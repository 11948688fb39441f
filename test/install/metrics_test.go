package install

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	// Every package the operator binary links, so that controller-runtime's
	// registry holds what cmd/operator serves on /metrics.
	_ "tollgate.dev/tollgate/internal/operator"
	"tollgate.dev/tollgate/internal/sidecar/loader"
	sidecarmetrics "tollgate.dev/tollgate/internal/sidecar/metrics"
	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// exportedMetric is one name a query may select, as a registry of the
// sidecar's or the operator's describes it: a counter's, a gauge's, or one
// of a histogram's _bucket, _sum and _count.
type exportedMetric struct {
	// labels are the metric's own label names.
	labels []string
	// kind is the family's type; unknown while the registry holds no series
	// of it to tell (a vector nothing has written yet).
	kind dto.MetricType
	// known reports whether kind was read from a series.
	known bool
	// values are the label values of the series the registry holds, by
	// label name.
	values map[string]map[string]bool
	// exporters names who exports it: sidecar, operator, or both.
	exporters []string
}

// counter reports whether rate() and increase() apply: a counter, or a
// histogram's series.
func (m *exportedMetric) counter() bool {
	return m.known && (m.kind == dto.MetricType_COUNTER || m.kind == dto.MetricType_HISTOGRAM)
}

// targetLabels are the labels Prometheus adds to every series it scrapes
// through the Prometheus operator's PodMonitor and ServiceMonitor (the
// chart's, or anyone's): the pod's namespace and name, its container, the
// job and the address. A metric's own label of the same name wins when the
// scrape honours labels (the chart's ServiceMonitor does).
var targetLabels = []string{"namespace", "pod", "container", "job", "instance", "endpoint"}

var (
	exportedOnce sync.Once
	exportedSet  map[string]*exportedMetric
	exportedErr  error
)

// exportedMetrics returns what the sidecar and the operator export, read
// from their own registries rather than from a list: the sidecar's
// (internal/sidecar/metrics, which cmd/sidecar serves on :15020/metrics),
// after it loaded a policy that uses every feature and counted a request
// of each kind, and controller-runtime's (which cmd/operator serves on
// :8080/metrics), with every package of the operator linked in. A vector
// that holds no series yet (the budget gauges before a policy's first
// sync, say) is known by its registered description: its name and labels,
// not its type.
func exportedMetrics(t *testing.T) map[string]*exportedMetric {
	t.Helper()
	exportedOnce.Do(func() {
		var sidecar *prometheus.Registry
		sidecar, exportedErr = sidecarRegistry()
		if exportedErr != nil {
			return
		}
		operator, ok := crmetrics.Registry.(interface {
			prometheus.Collector
			prometheus.Gatherer
		})
		if !ok {
			exportedErr = errUnexpectedRegistry
			return
		}
		exportedSet = map[string]*exportedMetric{}
		for _, src := range []struct {
			name string
			reg  interface {
				prometheus.Collector
				prometheus.Gatherer
			}
		}{{"sidecar", sidecar}, {"operator", operator}} {
			if exportedErr = readRegistry(src.reg, src.name, exportedSet); exportedErr != nil {
				return
			}
		}
	})
	require.NoError(t, exportedErr)
	// What the alerts and the dashboard read must be among what was found,
	// or the reading is broken.
	for _, name := range []string{"tollgate_requests_total", "tollgate_time_to_first_token_seconds_bucket", "tollgate_budget_state", "tollgate_pods_uninjected"} {
		require.Contains(t, exportedSet, name, "the registries do not describe %s: is exportedMetrics broken?", name)
	}
	return exportedSet
}

type registryError string

func (e registryError) Error() string { return string(e) }

const errUnexpectedRegistry = registryError("controller-runtime's metrics.Registry is no longer a *prometheus.Registry: teach exportedMetrics to read it")

// sidecarPolicy turns on everything that adds a metric or a label value:
// two providers, retries on every failure, a breaker, the cache, fallback
// rungs (the last good answer, a model and the static answer), a budget,
// the check of structured output, and DryRun mode (its decisions' series).
const sidecarPolicy = `apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: everything, namespace: shop}
spec:
  mode: DryRun
  providers:
    - {name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9", models: [gpt-4o-mini, gpt-4o]}
    - {name: claude, type: Anthropic, baseURL: "http://127.0.0.1:9"}
  retry: {maxAttempts: 3}
  circuitBreaker: {consecutiveFailures: 5, openDuration: 30s}
  cache: {enabled: true, semantic: {embedding: {provider: openai, model: text-embedding-3-small}, threshold: "0.95"}}
  fallbacks:
    - cachedResponse: {}
    - {provider: claude, model: claude-haiku-4-5}
    - staticResponse: {content: busy}
  budget: {limit: "100"}
  validation: {}
`

// sidecarRegistry returns the registry of the sidecar's metrics after it
// loaded sidecarPolicy and counted a streamed and an unstreamed request
// for each provider, a semantic cache lookup whose embedding failed, and a
// ledger sync: the histograms, the semantic cache's and the ledger's
// counters have series only from their first event.
func sidecarRegistry() (*prometheus.Registry, error) {
	res, err := loader.Parse([]byte(sidecarPolicy), nil)
	if err != nil {
		return nil, err
	}
	tr, err := llmclient.New(*res.Policy, llmclient.Options{})
	if err != nil {
		return nil, err
	}
	m := sidecarmetrics.New()
	m.Configure(tr)
	for _, p := range res.Policy.Providers {
		for _, stream := range []bool{false, true} {
			m.Request(&llmclient.Report{
				Provider: p.Name, Model: "gpt-4o", Stream: stream, Status: 200, Attempts: 1, Failure: "none",
				Latency: time.Second, TTFT: 100 * time.Millisecond,
			})
		}
	}
	m.Request(&llmclient.Report{
		Provider: "openai", Model: "gpt-4o", Status: 200, Attempts: 1, Failure: "none", Latency: time.Second, TTFT: 100 * time.Millisecond,
		Semantic: &llmclient.SemanticReport{Result: llmclient.SemanticError, EmbeddingError: llmclient.EmbeddingTimeout, Provider: "openai", Model: "text-embedding-3-small", Similarity: 0.9},
	})
	m.LedgerSync("success", proxyconfig.MustUSD("1"))
	return m.Registry, nil
}

// descPattern reads a prometheus.Desc's String(): client_golang keeps a
// Desc's fields to itself.
var (
	descPattern  = regexp.MustCompile(`^Desc\{fqName: "((?:[^"\\]|\\.)*)", help: "(?:[^"\\]|\\.)*", unit: "(?:[^"\\]|\\.)*", constLabels: \{(.*)\}, variableLabels: \{([^{}]*)\}\}$`)
	constPattern = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)
)

// readRegistry adds what reg describes and holds to set, naming exporter:
// each family's labels from its description, its type and label values
// from its series.
func readRegistry(reg interface {
	prometheus.Collector
	prometheus.Gatherer
}, exporter string, set map[string]*exportedMetric) error {
	type family struct {
		labels []string
		kind   *dto.MetricType
		values map[string]map[string]bool
	}
	families := map[string]*family{}
	descs := make(chan *prometheus.Desc)
	go func() {
		reg.Describe(descs)
		close(descs)
	}()
	var bad []string
	for d := range descs {
		m := descPattern.FindStringSubmatch(d.String())
		if m == nil {
			bad = append(bad, d.String())
			continue
		}
		f := &family{values: map[string]map[string]bool{}}
		for _, c := range constPattern.FindAllStringSubmatch(m[2], -1) {
			f.labels = append(f.labels, c[1])
		}
		for _, v := range strings.Split(m[3], ",") {
			if v = strings.TrimSuffix(strings.TrimPrefix(v, "c("), ")"); v != "" {
				f.labels = append(f.labels, v)
			}
		}
		families[m[1]] = f
	}
	if len(bad) > 0 {
		return registryError("client_golang's Desc.String() changed form, teach readRegistry: " + strings.Join(bad, "; "))
	}
	gathered, err := reg.Gather()
	if err != nil {
		return err
	}
	for _, mf := range gathered {
		f := families[mf.GetName()]
		if f == nil { // an unchecked collector: known by its series only
			f = &family{values: map[string]map[string]bool{}}
			families[mf.GetName()] = f
		}
		f.kind = mf.Type.Enum()
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if !slices.Contains(f.labels, lp.GetName()) {
					f.labels = append(f.labels, lp.GetName())
				}
				if f.values[lp.GetName()] == nil {
					f.values[lp.GetName()] = map[string]bool{}
				}
				f.values[lp.GetName()][lp.GetValue()] = true
			}
		}
	}
	add := func(name string, f *family, labels []string) {
		m := set[name]
		if m == nil {
			m = &exportedMetric{values: map[string]map[string]bool{}}
			set[name] = m
		}
		m.exporters = append(m.exporters, exporter)
		for _, l := range labels {
			if !slices.Contains(m.labels, l) {
				m.labels = append(m.labels, l)
			}
		}
		if f.kind != nil {
			m.kind, m.known = *f.kind, true
		}
		for l, vs := range f.values {
			if m.values[l] == nil {
				m.values[l] = map[string]bool{}
			}
			for v := range vs {
				m.values[l][v] = true
			}
		}
	}
	for name, f := range families {
		switch {
		case f.kind != nil && (*f.kind == dto.MetricType_HISTOGRAM || *f.kind == dto.MetricType_GAUGE_HISTOGRAM):
			add(name+"_bucket", f, append(slices.Clone(f.labels), "le"))
			add(name+"_sum", f, f.labels)
			add(name+"_count", f, f.labels)
		case f.kind != nil && *f.kind == dto.MetricType_SUMMARY:
			add(name, f, append(slices.Clone(f.labels), "quantile"))
			add(name+"_sum", f, f.labels)
			add(name+"_count", f, f.labels)
		default:
			add(name, f, f.labels)
		}
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
