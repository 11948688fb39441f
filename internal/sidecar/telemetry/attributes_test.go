package telemetry

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func values(attrs []attribute.KeyValue) map[string]any {
	out := map[string]any{}
	for _, kv := range attrs {
		out[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

// answered is a chat that openai answered at the first attempt.
func answered() *llmclient.Report {
	return &llmclient.Report{
		RequestID: "req-1", Policy: "team-a/chat", Provider: "openai", Model: "gpt-4o", Shape: provider.ShapeOpenAIChat,
		Served: policy.Target{Provider: "openai", Model: "gpt-4o"}, Status: 200, Attempts: 1, BreakerState: "closed",
		Failure: "none", End: "complete", ResponseModel: "gpt-4o-2024-08-06", Priced: true, CostUSD: proxyconfig.USDFromDecimal(decimal.RequireFromString("0.0001234")),
		Usage: provider.Usage{InputTokens: 120, CachedInputTokens: 100, CacheWriteTokens: 3, CacheWrite1hTokens: 4, OutputTokens: 50, ReasoningTokens: 20, Known: true},
		TTFT:  300 * time.Millisecond, Latency: time.Second,
	}
}

var openaiServer = server{genai: genaiconv.ProviderNameOpenAI, address: "api.openai.com", port: 443}

func TestSpanAttributes(t *testing.T) {
	tests := map[string]struct {
		report   func(r *llmclient.Report)
		want     map[string]any
		wantNone []string
	}{
		"a chat answered with its usage and cost": {
			report: func(*llmclient.Report) {},
			want: map[string]any{
				"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
				"gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.request.stream": false,
				"gen_ai.usage.input_tokens": int64(120), "gen_ai.usage.output_tokens": int64(50),
				"gen_ai.usage.cache_read.input_tokens": int64(100), "gen_ai.usage.cache_creation.input_tokens": int64(7),
				"gen_ai.usage.reasoning.output_tokens": int64(20),
				"server.address":                       "api.openai.com", "server.port": int64(443), "http.response.status_code": int64(200),
				"tollgate.policy": "team-a/chat", "tollgate.provider": "openai", "tollgate.attempts": int64(1),
				"tollgate.fallback.rung": int64(0), "tollgate.cost.usd": "0.0001234", "tollgate.circuit_breaker.state": "closed",
				"tollgate.end": "complete", "tollgate.request_id": "req-1",
			},
			wantNone: []string{"error.type", "gen_ai.response.time_to_first_chunk", "tollgate.served_by", "tollgate.cache", "tollgate.usage.estimated"},
		},
		"a stream has its time to first chunk": {
			report: func(r *llmclient.Report) { r.Stream, r.AnswerBytes = true, 900 },
			want:   map[string]any{"gen_ai.request.stream": true, "gen_ai.response.time_to_first_chunk": 0.3},
		},
		"an answer without usage reports no tokens, and its estimate": {
			report: func(r *llmclient.Report) {
				r.Usage, r.End, r.Estimated = provider.Usage{}, "upstream_error", llmclient.EstimateCutShort
			},
			want:     map[string]any{"error.type": "upstream_error", "tollgate.usage.estimated": "cut_short", "tollgate.end": "upstream_error"},
			wantNone: []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"},
		},
		"a provider's error answer": {
			report: func(r *llmclient.Report) {
				r.Status, r.Failure, r.Usage, r.Priced = 429, "rate_limited", provider.Usage{}, false
			},
			want:     map[string]any{"error.type": "rate_limited", "http.response.status_code": int64(429)},
			wantNone: []string{"tollgate.cost.usd"},
		},
		"Tollgate's refusal": {
			report: func(r *llmclient.Report) { r.Status, r.Refusal, r.Attempts = 429, llmclient.CodeRateLimited, 0 },
			want:   map[string]any{"error.type": "tollgate_rate_limited", "tollgate.attempts": int64(0)},
		},
		"a fallback rung served": {
			report: func(r *llmclient.Report) {
				r.Rung, r.Served = 2, policy.Target{Provider: "claude", Model: "claude-haiku-4-5"}
			},
			want: map[string]any{"tollgate.fallback.rung": int64(2), "tollgate.served_by": "claude/claude-haiku-4-5"},
		},
		"the cachedResponse rung served the last good answer": {
			report: func(r *llmclient.Report) { r.Rung, r.Stale = 1, true },
			want:   map[string]any{"tollgate.served_by": "cache", "tollgate.cache": "stale"},
		},
		"the static response": {
			report: func(r *llmclient.Report) { r.Rung, r.Static = 1, true },
			want:   map[string]any{"tollgate.served_by": "static"},
		},
		"a cache hit": {
			report: func(r *llmclient.Report) { r.Cache = llmclient.CacheHit },
			want:   map[string]any{"tollgate.cache": "hit"},
		},
		"a semantic cache hit": {
			report: func(r *llmclient.Report) { r.Cache = llmclient.CacheSemanticHit },
			want:   map[string]any{"tollgate.cache": "semantic_hit"},
		},
		"structured output that failed its check": {
			report: func(r *llmclient.Report) { r.Validation, r.Failure = llmclient.ValidationFailed, "invalid_output" },
			want:   map[string]any{"tollgate.validation": "failed", "error.type": "invalid_output"},
		},
		"a budget's state": {
			report: func(r *llmclient.Report) { r.BudgetState = "SoftLimit" },
			want:   map[string]any{"tollgate.budget.state": "SoftLimit"},
		},
		"what the app chose is cut and made valid UTF-8": {
			report: func(r *llmclient.Report) { r.Model, r.RequestID = strings.Repeat("m", 300), "bad\xffid" },
			want:   map[string]any{"gen_ai.request.model": strings.Repeat("m", 256), "tollgate.request_id": "bad\uFFFDid"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := answered()
			tc.report(r)
			_, upstream := served(r)
			got := values(spanAttributes(r, operation(r.Shape), openaiServer, upstream))
			for k, v := range tc.want {
				assert.Equal(t, v, got[k], "%s", k)
			}
			for _, k := range tc.wantNone {
				assert.NotContains(t, got, k)
			}
			for k := range got {
				assert.False(t, strings.HasPrefix(k, "gen_ai.input") || strings.HasPrefix(k, "gen_ai.output") || k == "gen_ai.system_instructions",
					"content attribute %s", k)
			}
		})
	}
}

func TestSpanAttributes_TollgateItselfIsNoServer(t *testing.T) {
	for name, mutate := range map[string]func(*llmclient.Report){
		"static":    func(r *llmclient.Report) { r.Static = true },
		"stale":     func(r *llmclient.Report) { r.Stale = true },
		"cache hit": func(r *llmclient.Report) { r.Cache = llmclient.CacheHit },
		"semantic":  func(r *llmclient.Report) { r.Cache = llmclient.CacheSemanticHit },
	} {
		r := answered()
		mutate(r)
		_, upstream := served(r)
		got := values(spanAttributes(r, operation(r.Shape), openaiServer, upstream))
		assert.NotContains(t, got, "server.address", name)
		assert.Equal(t, "openai", got["gen_ai.provider.name"], name)
	}
}

func TestMetricAttributes_AreBoundedByThePolicy(t *testing.T) {
	r := answered()
	r.Model, r.ResponseModel = "my-own-model-8c1f", "my-own-model-8c1f-v2"
	var asked [][2]string
	label := func(p, m string) string {
		asked = append(asked, [2]string{p, m})
		return "(other)"
	}
	got := values(metricAttributes(r, openaiServer, true, label))
	assert.Equal(t, map[string]any{
		"gen_ai.request.model": "(other)", "gen_ai.response.model": "(other)",
		"server.address": "api.openai.com", "server.port": int64(443),
	}, got)
	assert.Equal(t, [][2]string{{"openai", "my-own-model-8c1f"}, {"openai", "my-own-model-8c1f-v2"}}, asked)

	r.Refusal = llmclient.CodeBudgetExhausted
	assert.Equal(t, "tollgate_budget_exhausted", values(metricAttributes(r, openaiServer, true, label))["error.type"])
}

func TestOperation(t *testing.T) {
	for shape, want := range map[provider.Shape]genaiconv.OperationNameAttr{
		provider.ShapeOpenAIChat: "chat", provider.ShapeOpenAIResponses: "chat", provider.ShapeAnthropicMessages: "chat",
		provider.ShapeOpenAIEmbeddings: "embeddings", provider.ShapeGeminiGenerate: "generate_content",
		provider.ShapeOther: "", "": "",
	} {
		assert.Equal(t, want, operation(shape), "%q", shape)
	}
}

func TestServerOf(t *testing.T) {
	tests := map[string]struct {
		provider proxyconfig.Provider
		want     server
	}{
		"OpenAI": {proxyconfig.Provider{Type: proxyconfig.OpenAI, BaseURL: "https://api.openai.com"}, server{"openai", "api.openai.com", 443}},
		"Anthropic": {proxyconfig.Provider{Type: proxyconfig.Anthropic, BaseURL: "https://api.anthropic.com"},
			server{"anthropic", "api.anthropic.com", 443}},
		"Azure OpenAI": {proxyconfig.Provider{Type: proxyconfig.AzureOpenAI, BaseURL: "https://acme.openai.azure.com/openai"},
			server{"azure.ai.openai", "acme.openai.azure.com", 443}},
		"Gemini": {proxyconfig.Provider{Type: proxyconfig.Gemini, BaseURL: "https://generativelanguage.googleapis.com"},
			server{"gcp.gemini", "generativelanguage.googleapis.com", 443}},
		"a compatible vendor the conventions name": {proxyconfig.Provider{Type: proxyconfig.OpenAICompatible, BaseURL: "https://api.deepseek.com/v1"},
			server{"deepseek", "api.deepseek.com", 443}},
		"a self-hosted server is openai, as its client knows it": {proxyconfig.Provider{Type: proxyconfig.OpenAICompatible, BaseURL: "http://vllm.models.svc:8000/v1"},
			server{"openai", "vllm.models.svc", 8000}},
		"plain http defaults to port 80": {proxyconfig.Provider{Type: proxyconfig.OpenAICompatible, BaseURL: "http://ollama"},
			server{"openai", "ollama", 80}},
	}
	for name, tc := range tests {
		assert.Equal(t, tc.want, serverOf(tc.provider), name)
	}
}

func TestSpanName(t *testing.T) {
	assert.Equal(t, "chat gpt-4o", spanName(genaiconv.OperationNameChat, "gpt-4o"))
	assert.Equal(t, "embeddings", spanName(genaiconv.OperationNameEmbeddings, ""))
}

func TestKnownErrorType(t *testing.T) {
	assert.Equal(t, "tollgate_no_policy", knownErrorType(llmclient.CodeNoPolicy))
	assert.Equal(t, "_OTHER", knownErrorType("whatever an upstream said"))
	assert.Equal(t, "_OTHER", knownErrorType(""))
}
