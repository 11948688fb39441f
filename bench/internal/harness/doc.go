// Package harness runs the benchmark: it builds the sidecar, the mock
// provider and a plain ReverseProxy, runs each as its own process (the
// proxies pinned to CPU 1, the mock and this load generator to CPU 0,
// where taskset exists), measures the three ways of reaching the mock
// (direct, through the ReverseProxy, through the sidecar) and reports the
// sidecar's cost against both.
//
// A fourth target, the peer, stands beside them for a reader to
// recognise: the Portkey gateway (bench/internal/portkey), installed with
// npm, pinned as the other proxies and sent the same requests. A peer
// that cannot be installed or started is skipped, and one that fails
// later is lost, each with a line that says so; its failed requests are
// counted as anyone's. It never stops the run, and the targets stay the
// sidecar's against the ReverseProxy.
//
// The phases, in order:
//
//  1. latency: open-loop runs at fixed rates of chat completions;
//  2. throughput: closed-loop runs at a fixed concurrency, at each
//     upstream latency;
//  3. the proxies are restarted fresh, sent one request each, and their
//     idle memory read;
//  4. streams: many concurrent SSE streams, with time-to-first-token,
//     stalls, and the proxies' memory sampled while they run.
package harness
