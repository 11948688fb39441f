package inprocess

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap/zapcore"

	"tollgate.dev/tollgate/bench/internal/plainproxy"
	"tollgate.dev/tollgate/internal/sidecar"
	"tollgate.dev/tollgate/internal/sidecar/telemetry"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// Stack is the mock provider with the two proxies in front of it, all
// serving on 127.0.0.1 inside this process.
type Stack struct {
	// Mock is the mock provider; script it with SetDefault.
	Mock *mockprovider.Server
	// Direct, ReverseProxy and Sidecar are the chat completions URLs of
	// the three ways of reaching the mock.
	Direct, ReverseProxy, Sidecar string

	stop func()
}

// policy is the LLMPolicy of the process-level benchmark: retries and a
// circuit breaker, no rate limit, no cache.
const policy = `apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: bench, namespace: bench}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: %s}
  timeouts: {connect: 5s, firstToken: 30s, total: 5m}
  retry: {maxAttempts: 3, backoff: {initial: 200ms, max: 5s, jitter: Full}}
  circuitBreaker: {failureRateThreshold: 50, minimumRequests: 20, window: 60s, openDuration: 30s}
`

// Options say what the sidecar enforces beyond the benchmark's policy.
type Options struct {
	// Spec is added to the policy's spec: YAML members indented by two
	// spaces, such as "  budget: {period: Monthly, limit: \"1000\"}\n".
	Spec string
	// Ledger runs a budget ledger in the process (see ledger) and points
	// the sidecar at it, so that the policy's budget is enforced on the
	// allowance the sidecar draws from it, as in a cluster.
	Ledger bool
	// Telemetry is what the sidecar exports over OTLP (its exporters read
	// the rest of the OTEL_EXPORTER_OTLP_* variables themselves); the zero
	// value exports nothing.
	Telemetry telemetry.Config
}

// Start starts the stack; the sidecar logs its JSON lines to sidecarLog,
// as the real one logs to its stderr. dir holds the policy file.
func Start(dir string, sidecarLog io.Writer) (*Stack, error) {
	return StartWith(dir, sidecarLog, Options{})
}

// StartWith starts the stack with the sidecar enforcing what o adds.
func StartWith(dir string, sidecarLog io.Writer, o Options) (*Stack, error) {
	mock, err := mockprovider.Start("127.0.0.1:0", mockprovider.WithHistory(0))
	if err != nil {
		return nil, err
	}
	target, err := url.Parse(mock.URL())
	if err != nil {
		_ = mock.Close()
		return nil, err
	}
	rp := httptest.NewServer(plainproxy.New(target, "/openai"))

	path := filepath.Join(dir, "policy.yaml")
	var led *ledger
	closeAll := func() {
		rp.Close()
		_ = mock.Close()
		if led != nil {
			led.close()
		}
	}
	if err := os.WriteFile(path, append(fmt.Appendf(nil, policy, mock.URL()), o.Spec...), 0o600); err != nil {
		closeAll()
		return nil, err
	}
	opts := sidecar.Options{
		PolicyFile: path, Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", LogLevel: zapcore.InfoLevel, LogFlushInterval: sidecar.DefaultLogFlushInterval,
		MaxRequestBytes: llmclient.DefaultMaxRequestBytes, MaxBufferedBytes: llmclient.DefaultMaxBufferedBytes,
		ReloadInterval: 10 * time.Second, ShutdownGrace: time.Second, Telemetry: o.Telemetry,
	}
	if o.Ledger {
		led = startLedger()
		if opts.Ledger, err = led.options(dir); err != nil {
			closeAll()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() { done <- sidecar.Run(ctx, opts, sidecarLog, ready) }()
	stop := func() {
		cancel()
		closeAll()
	}
	select {
	case addrs := <-ready:
		return &Stack{
			Mock:         mock,
			Direct:       mock.URL() + "/v1/chat/completions",
			ReverseProxy: rp.URL + "/openai/v1/chat/completions",
			Sidecar:      "http://" + addrs[0] + "/openai/v1/chat/completions",
			stop: func() {
				stop()
				<-done
			},
		}, nil
	case err := <-done:
		stop()
		return nil, fmt.Errorf("the sidecar did not start: %w", err)
	}
}

// Close stops the stack.
func (s *Stack) Close() { s.stop() }

// Targets lists the stack's URLs by name.
func (s *Stack) Targets() []struct{ Name, URL string } {
	return []struct{ Name, URL string }{{"direct", s.Direct}, {"reverseproxy", s.ReverseProxy}, {"sidecar", s.Sidecar}}
}

// Client returns an HTTP client keeping conns connections per host.
func Client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}}
}
