package promtext

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exposition is /metrics as client_golang writes it.
const exposition = `# HELP tollgate_requests_total Requests by outcome.
# TYPE tollgate_requests_total counter
tollgate_requests_total{model="gpt-4o-mini",outcome="success",provider="openai"} 3
tollgate_requests_total{model="gpt-4o",outcome="success",provider="openai"} 2
tollgate_requests_total{model="claude-sonnet-4-5",outcome="tollgate_budget_exhausted",provider="claude"} 1
# HELP tollgate_circuit_breaker_state 0 closed, 1 half-open, 2 open.
# TYPE tollgate_circuit_breaker_state gauge
tollgate_circuit_breaker_state{model="gpt-4o-mini",provider="openai"} 2
# HELP tollgate_cost_usd_total Spend.
# TYPE tollgate_cost_usd_total counter
tollgate_cost_usd_total{model="gpt-4o-mini"} 0.25
tollgate_cost_usd_total{model="gpt-4o"} 0.35
# HELP tollgate_request_duration_seconds Latency.
# TYPE tollgate_request_duration_seconds histogram
tollgate_request_duration_seconds_bucket{provider="openai",le="0.1"} 4
tollgate_request_duration_seconds_bucket{provider="openai",le="+Inf"} 5
tollgate_request_duration_seconds_sum{provider="openai"} 0.75
tollgate_request_duration_seconds_count{provider="openai"} 5
# HELP go_gc_duration_seconds A summary of the GC pauses.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 0.001
go_gc_duration_seconds_sum 0.5
go_gc_duration_seconds_count 12
untyped_thing{a="with \"quotes\", and a comma"} 7
`

func TestSum(t *testing.T) {
	tests := map[string]struct {
		name   string
		labels []string
		want   float64
	}{
		"every series of a counter without labels": {name: "tollgate_requests_total", want: 6},
		"the series with one label":                {name: "tollgate_requests_total", labels: []string{"provider", "openai"}, want: 5},
		"the series with all the labels": {name: "tollgate_requests_total",
			labels: []string{"provider", "openai", "model", "gpt-4o-mini", "outcome", "success"}, want: 3},
		"no series with a label's other value":   {name: "tollgate_requests_total", labels: []string{"provider", "gemini"}, want: 0},
		"no series with a label it lacks":        {name: "tollgate_cost_usd_total", labels: []string{"provider", "openai"}, want: 0},
		"a metric that is not exposed":           {name: "tollgate_config_reload_total", labels: []string{"result", "error"}, want: 0},
		"a gauge":                                {name: "tollgate_circuit_breaker_state", labels: []string{"model", "gpt-4o-mini"}, want: 2},
		"fractions":                              {name: "tollgate_cost_usd_total", want: 0.6},
		"a histogram's count":                    {name: "tollgate_request_duration_seconds_count", labels: []string{"provider", "openai"}, want: 5},
		"a histogram's sum":                      {name: "tollgate_request_duration_seconds_sum", want: 0.75},
		"a summary's count":                      {name: "go_gc_duration_seconds_count", want: 12},
		"an untyped metric, its label unescaped": {name: "untyped_thing", labels: []string{"a", `with "quotes", and a comma`}, want: 7},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Sum(exposition, tc.name, tc.labels...)
			require.NoError(t, err)
			assert.InDelta(t, tc.want, got, 1e-12)
		})
	}
}

func TestSum_SaysWhatItCannotSum(t *testing.T) {
	tests := map[string]struct {
		exposition string
		name       string
		labels     []string
		wantErr    string
	}{
		"labels that are not pairs": {exposition: exposition, name: "tollgate_requests_total", labels: []string{"provider"},
			wantErr: "are not name, value pairs"},
		"a histogram by its own name": {exposition: exposition, name: "tollgate_request_duration_seconds",
			wantErr: "it is a histogram; sum tollgate_request_duration_seconds_count or tollgate_request_duration_seconds_sum"},
		"text that is not an exposition": {exposition: "<html>502 Bad Gateway</html>\n", name: "tollgate_requests_total",
			wantErr: "text format parsing error"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Sum(tc.exposition, tc.name, tc.labels...)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
