package metrics

import (
	"testing"
	"time"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// benchReport is a priced chat completion of model from provider.
func benchReport(providerName, model string) *llmclient.Report {
	cost, _ := proxyconfig.ParseUSD("0.000123")
	return &llmclient.Report{
		Provider: providerName, Model: model, Status: 200, End: "complete", Failure: "none", Attempts: 1,
		Latency: 40 * time.Millisecond, TTFT: 20 * time.Millisecond, Priced: true, CostUSD: cost,
		Usage: provider.Usage{InputTokens: 300, OutputTokens: 40, Known: true},
	}
}

// BenchmarkRequest is the metrics' share of one request, on the request
// path (the Transport's OnDone): for a model the price table has, a dated
// snapshot of one, a name nothing knows, and a path that names no
// provider.
func BenchmarkRequest(b *testing.B) {
	for name, r := range map[string]*llmclient.Report{
		"known":            benchReport("openai", "gpt-4o-mini"),
		"snapshot":         benchReport("openai", "gpt-4o-mini-2024-07-18"),
		"unknown_model":    benchReport("openai", "made-up-model-123"),
		"unknown_provider": {Provider: "aaa", Status: 404, Refusal: llmclient.CodeUnknownProvider, Failure: "none", End: "complete"},
	} {
		b.Run(name, func(b *testing.B) {
			m := benchSidecar(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.Request(r)
				}
			})
		})
	}
}
