package harness

import "fmt"

// policyTemplate is the LLMPolicy the sidecar enforces: what a platform
// team would start from (timeouts, retries with backoff, a circuit
// breaker), with no rate limit or cache, which would measure the limiter
// or the cache instead of the proxy. %s is the mock's URL.
const policyTemplate = `apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata:
  name: bench
  namespace: bench
spec:
  providers:
    - name: openai
      type: OpenAI
      baseURL: %s
  timeouts:
    connect: 5s
    firstToken: 30s
    total: 5m
  retry:
    maxAttempts: 3
    backoff:
      initial: 200ms
      max: 5s
      jitter: Full
  circuitBreaker:
    failureRateThreshold: 50
    minimumRequests: 20
    window: 60s
    openDuration: 30s
`

// Policy returns the benchmark's LLMPolicy for a mock at mockURL.
func Policy(mockURL string) string {
	return fmt.Sprintf(policyTemplate, mockURL)
}

// Request bodies: an OpenAI chat completion, and the same streamed with
// usage in the last event, as SDKs that count tokens ask for it.
const (
	chatBody   = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in one sentence."}]}`
	streamBody = `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in one sentence."}]}`
)

// chatPath is the chat completions path at the mock; the proxies take it
// after the provider's name, providerPath.
const (
	chatPath     = "/v1/chat/completions"
	providerPath = "/openai"
)

// The CPUs processes are pinned to.
const (
	cpuLoad  = 0 // the load generator and the mock
	cpuProxy = 1 // the proxies under measurement
)
