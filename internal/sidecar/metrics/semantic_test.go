package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

const semanticSpec = `
  providers:
    - {name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9", models: [gpt-4o-mini]}
    - {name: claude, type: Anthropic, baseURL: "http://127.0.0.1:9"}
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small}
`

func TestSemantic_SeriesExistFromTheLoadAndGoWithTheSemanticCache(t *testing.T) {
	m := New()
	m.Configure(transport(t, semanticSpec))
	for _, p := range []string{"openai", "claude"} {
		for _, result := range []string{"hit", "miss", "error"} {
			assert.Contains(t, seriesOf(t, m, "tollgate_semantic_cache_lookups_total"), prometheus.Labels{"provider": p, "result": result})
		}
		assert.Contains(t, seriesOf(t, m, "tollgate_cache_requests_total"), prometheus.Labels{"provider": p, "result": "semantic_hit"})
	}
	assert.Len(t, seriesOf(t, m, "tollgate_semantic_cache_embedding_errors_total"), len(llmclient.EmbeddingErrors()))
	assert.Contains(t, seriesOf(t, m, "tollgate_cost_usd_total"), prometheus.Labels{"provider": "openai", "model": "text-embedding-3-small"},
		"the embedding model is one the policy names")

	m.Configure(transport(t, `
  providers:
    - {name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9", models: [gpt-4o-mini]}
  cache: {}
`))
	assert.Empty(t, seriesOf(t, m, "tollgate_semantic_cache_lookups_total"))
	assert.Empty(t, seriesOf(t, m, "tollgate_semantic_cache_embedding_errors_total"))
	assert.NotContains(t, seriesOf(t, m, "tollgate_cache_requests_total"), prometheus.Labels{"provider": "openai", "result": "semantic_hit"})
	assert.Contains(t, seriesOf(t, m, "tollgate_cache_requests_total"), prometheus.Labels{"provider": "openai", "result": "hit"})
}

func TestSemantic_CountsTheLookupAndTheEmbeddingUnderItsOwnModel(t *testing.T) {
	m := New()
	m.Configure(transport(t, semanticSpec))
	cost := proxyconfig.MustUSD("0.000002")
	m.Request(&llmclient.Report{Provider: "claude", Model: "claude-haiku-4-5", Status: 200, Failure: "none", Cache: llmclient.CacheSemanticHit,
		Semantic: &llmclient.SemanticReport{Result: llmclient.SemanticHit, Similarity: 0.97, Provider: "openai", Model: "text-embedding-3-small",
			Attempts: 1, Usage: provider.Usage{InputTokens: 10, Known: true}, CostUSD: cost, Priced: true}})
	m.Request(&llmclient.Report{Provider: "openai", Model: "gpt-4o-mini", Status: 200, Failure: "none", Cache: llmclient.CacheMiss,
		Semantic: &llmclient.SemanticReport{Result: llmclient.SemanticError, EmbeddingError: llmclient.EmbeddingTimeout, Provider: "openai", Model: "text-embedding-3-small"}})

	assert.Equal(t, 1.0, testutil.ToFloat64(m.semanticLookups.WithLabelValues("claude", "hit")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.cache.WithLabelValues("claude", "semantic_hit")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.semanticLookups.WithLabelValues("openai", "error")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.embeddingErrors.WithLabelValues("timeout")))
	assert.Equal(t, 10.0, testutil.ToFloat64(m.tokens.WithLabelValues("openai", "text-embedding-3-small", "input")))
	assert.InDelta(t, cost.Float64(), testutil.ToFloat64(m.cost.WithLabelValues("openai", "text-embedding-3-small")), 1e-15)
	assert.Zero(t, testutil.ToFloat64(m.cost.WithLabelValues("claude", "claude-haiku-4-5")), "the hit itself costs nothing")
	assert.Equal(t, 1, testutil.CollectAndCount(m.semanticSimilarity), "one lookup found a candidate")
}
