package sidecar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
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

// fullReport sets every field a request line can show.
func fullReport(t *testing.T) *llmclient.Report {
	t.Helper()
	usd := func(s string) proxyconfig.USD {
		v, err := proxyconfig.ParseUSD(s)
		require.NoError(t, err)
		return v
	}
	return &llmclient.Report{
		RequestID:    "req-9",
		Policy:       "ns/p",
		Provider:     "openai",
		Model:        "gpt-4o",
		Stream:       true,
		Status:       502,
		Attempts:     3,
		BreakerState: "half-open",
		Latency:      1234 * time.Millisecond,
		TTFT:         210 * time.Millisecond,
		Usage:        provider.Usage{InputTokens: 100, CachedInputTokens: 20, CacheWriteTokens: 10, CacheWrite1hTokens: 5, OutputTokens: 7, Known: true},
		End:          "upstream_error",
		Failure:      "none",
		Priced:       true,
		CostUSD:      usd("0.0123"),
		Estimated:    "no_usage",
		Cache:        "miss",
		Semantic: &llmclient.SemanticReport{
			Result: "miss", Similarity: 0.912345, Guard: "temperature", EmbeddingError: "timeout", Attempts: 2, Latency: 40 * time.Millisecond,
			Usage: provider.Usage{InputTokens: 8, Known: true}, CostUSD: usd("0.000002"), Priced: true, Estimated: "no_usage",
		},
		Validation:        "invalid",
		ValidationReason:  "schema",
		ValidationKeyword: "x-custom",
		Discarded:         []llmclient.Discarded{{CostUSD: usd("0.001")}, {CostUSD: usd("0.002")}},
		BudgetState:       "soft-limit",
		DryRun:            proxyconfig.DryRunBudgetExhausted,
		Rung:              2,
		Served:            policy.Target{Provider: "claude", Model: "claude-haiku-4-5"},
	}
}

// fullLine is fullReport's line, keys in their order, as the field list
// of zap.Fields that requestLine replaced wrote it (but for "ts").
const fullLine = `{"level":"warn","logger":"sidecar","msg":"request","request_id":"req-9","policy":"ns/p","provider":"openai","model":"gpt-4o","stream":true,"status":502,"attempts":3,"breaker":"half-open","latency_ms":1234,"ttft_ms":210,"usage_known":true,"input_tokens":100,"output_tokens":7,"end":"upstream_error","cost_usd":"0.0123","usage":"estimated","estimate_reason":"no_usage","cache":"miss","semantic":"miss","similarity":0.9123,"semantic_guard":"temperature","embedding_error":"timeout","embedding_attempts":2,"embedding_ms":40,"embedding_tokens":8,"embedding_cost_usd":"0.000002","embedding_estimate_reason":"no_usage","validation":"invalid","validation_reason":"schema","validation_keyword":"(other)","discarded_answers":2,"discarded_cost_usd":"0.003","budget":"soft-limit","dry_run":"budget_exhausted","cached_input_tokens":20,"cache_write_tokens":10,"cache_write_1h_tokens":5,"fallback_rung":2,"served_by":"claude/claude-haiku-4-5","error_type":"upstream_error"}`

func TestLogRequest_AFullReportsLineKeepsEveryKeyInItsOrder(t *testing.T) {
	var out bytes.Buffer
	logRequest(newLogger(&out, zap.InfoLevel), fullReport(t))
	got := regexp.MustCompile(`"ts":"[^"]*",`).ReplaceAllString(strings.TrimSpace(out.String()), "")
	assert.Equal(t, fullLine, got)
}
