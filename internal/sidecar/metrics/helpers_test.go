package metrics

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/loader"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// transport compiles the LLMPolicy whose spec is spec (indented by two
// spaces, as under "spec:").
func transport(tb testing.TB, spec string) *llmclient.Transport {
	tb.Helper()
	return transportWith(tb, spec, llmclient.Options{})
}

// transportWith is transport with opts.
func transportWith(tb testing.TB, spec string, opts llmclient.Options) *llmclient.Transport {
	tb.Helper()
	res, err := loader.Parse([]byte("apiVersion: tollgate.dev/v1alpha1\nkind: LLMPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n"+strings.TrimLeft(spec, "\n")), nil)
	require.NoError(tb, err)
	t, err := llmclient.New(*res.Policy, opts)
	require.NoError(tb, err)
	return t
}

// failing answers every request with a 503.
type failing struct{}

func (failing) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// seriesOf returns the labels of the series of the metric named name.
func seriesOf(tb testing.TB, m *Sidecar, name string) []prometheus.Labels {
	tb.Helper()
	families, err := m.Registry.Gather()
	require.NoError(tb, err)
	var out []prometheus.Labels
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			s := prometheus.Labels{}
			for _, lp := range metric.GetLabel() {
				s[lp.GetName()] = lp.GetValue()
			}
			out = append(out, s)
		}
	}
	return out
}

// perProvider are the metrics with a provider label.
var perProvider = []string{
	"tollgate_requests_total", "tollgate_upstream_attempts_total", "tollgate_retries_total", "tollgate_fallbacks_total",
	"tollgate_request_duration_seconds", "tollgate_time_to_first_token_seconds", "tollgate_circuit_breaker_state",
	"tollgate_tokens_total", "tollgate_cost_usd_total", "tollgate_unpriced_tokens_total", "tollgate_cache_requests_total",
	"tollgate_usage_estimated_total", "tollgate_semantic_cache_lookups_total", "tollgate_semantic_cache_similarity",
}
