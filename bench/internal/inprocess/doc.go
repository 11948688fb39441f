// Package inprocess runs the sidecar, the plain ReverseProxy and the mock
// provider inside one process, for Go benchmarks that profile what the
// sidecar spends per request and per stream event against what the
// ReverseProxy spends:
//
//	go test -run '^$' -bench . -benchmem -cpuprofile cpu.out ./bench/internal/inprocess
//	go tool pprof -top -focus 'sidecar|proxy|client' cpu.out
//
// The process-level numbers come from cmd/tollgate-bench; these are for
// finding where the time goes.
package inprocess
