package sidecar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// cacheWriteReport is an Anthropic answer that wrote the prompt cache.
func cacheWriteReport(t *testing.T) *llmclient.Report {
	t.Helper()
	cost, err := proxyconfig.ParseUSD("0.00783")
	require.NoError(t, err)
	return &llmclient.Report{
		RequestID: "req-1", Policy: "ns/p", Provider: "claude", Model: "claude-sonnet-4-5",
		Status: 200, End: "complete", Failure: "none", Priced: true, CostUSD: cost,
		Usage: provider.Usage{InputTokens: 1510, CacheWriteTokens: 1000, CacheWrite1hTokens: 500, OutputTokens: 40, Known: true},
	}
}

func TestLogRequest_ReportsCacheWritesAndWhetherUsageIsKnown(t *testing.T) {
	tests := map[string]struct {
		report    func(t *testing.T) *llmclient.Report
		wantField map[string]any
		wantNone  []string
	}{
		"an answer that wrote the prompt cache": {
			report: cacheWriteReport,
			wantField: map[string]any{
				"usage_known": true, "input_tokens": 1510.0, "cache_write_tokens": 1000.0,
				"cache_write_1h_tokens": 500.0, "output_tokens": 40.0, "cost_usd": "0.00783",
			},
			wantNone: []string{"cached_input_tokens"},
		},
		"an answer without usage": {
			report: func(*testing.T) *llmclient.Report {
				return &llmclient.Report{RequestID: "req-2", Status: 200, End: "complete", Failure: "none"}
			},
			wantField: map[string]any{"usage_known": false},
			wantNone:  []string{"cost_usd", "cache_write_tokens", "cache_write_1h_tokens"},
		},
		"the cachedResponse rung's answer": {
			report: func(*testing.T) *llmclient.Report {
				return &llmclient.Report{RequestID: "req-3", Status: 200, End: "complete", Failure: "none", Attempts: 2,
					Rung: 1, Stale: true, StaleAge: 90*time.Minute + 59*time.Second, Priced: true}
			},
			wantField: map[string]any{"served_by": "cache", "fallback_rung": 1.0, "cache_age_s": 5459.0, "cost_usd": "0", "usage_known": false, "level": "info"},
			wantNone:  []string{"error_type"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			logRequest(newLogger(&out, zap.InfoLevel), tc.report(t))
			var line map[string]any
			require.NoError(t, json.Unmarshal(out.Bytes(), &line))
			for k, want := range tc.wantField {
				assert.Equal(t, want, line[k], k)
			}
			for _, k := range tc.wantNone {
				assert.NotContains(t, line, k)
			}
		})
	}
}

func TestLogNotices_WarnsOfBoundedlyManyUnpricedModels(t *testing.T) {
	var out bytes.Buffer
	log := newLogger(&out, zap.InfoLevel)
	unpriced := &warned{}
	for i := range maxWarned + 50 {
		for range 2 {
			logNotices(log, &llmclient.Report{Provider: "openai", Model: fmt.Sprintf("m-%d", i), Usage: provider.Usage{Known: true}}, unpriced)
		}
	}
	assert.Equal(t, maxWarned, strings.Count(out.String(), "model has no price"), "each model once, up to the limit")
	assert.Equal(t, 1, strings.Count(out.String(), "more models have no price"))
	assert.Len(t, unpriced.seen, maxWarned)
}
