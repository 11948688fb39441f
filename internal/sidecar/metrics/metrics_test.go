package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/provider"
)

func TestRequest_CountsTokensByType(t *testing.T) {
	m := New()
	m.Request(&llmclient.Report{
		Provider: "claude", Model: "claude-sonnet-4-5", Status: 200, Failure: "none",
		Usage: provider.Usage{InputTokens: 3100, CachedInputTokens: 1600, CacheWriteTokens: 1000, CacheWrite1hTokens: 500, OutputTokens: 40, Known: true},
	})
	for typ, want := range map[string]float64{"input": 3100, "cached_input": 1600, "cache_write": 1000, "cache_write_1h": 500, "output": 40} {
		assert.Equal(t, want, testutil.ToFloat64(m.tokens.WithLabelValues("claude", "claude-sonnet-4-5", typ)), typ)
	}
}
