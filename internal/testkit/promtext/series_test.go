package promtext

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeries(t *testing.T) {
	tests := map[string]struct {
		name   string
		labels []string
		want   []map[string]string
	}{
		"every series of a counter": {name: "tollgate_requests_total", want: []map[string]string{
			{"model": "gpt-4o-mini", "outcome": "success", "provider": "openai"},
			{"model": "gpt-4o", "outcome": "success", "provider": "openai"},
			{"model": "claude-sonnet-4-5", "outcome": "tollgate_budget_exhausted", "provider": "claude"},
		}},
		"those with a label": {name: "tollgate_requests_total", labels: []string{"provider", "claude"}, want: []map[string]string{
			{"model": "claude-sonnet-4-5", "outcome": "tollgate_budget_exhausted", "provider": "claude"},
		}},
		"a histogram, once":    {name: "tollgate_request_duration_seconds", want: []map[string]string{{"provider": "openai"}}},
		"a metric not exposed": {name: "tollgate_retries_total"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Series(exposition, tc.name, tc.labels...)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
