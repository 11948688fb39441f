package metrics

import "testing"

// benchSidecar is the metrics of a sidecar with a one-provider policy.
func benchSidecar(tb testing.TB) *Sidecar {
	m := New()
	m.Configure(transport(tb, `
  providers: [{name: openai, type: OpenAI, baseURL: "http://127.0.0.1:9"}]
  retry: {maxAttempts: 3}
  circuitBreaker: {consecutiveFailures: 5, openDuration: 10s}
`))
	return m
}
