package inprocess

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/telemetry"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/otlpreceiver"
)

// benchmarkWithTelemetry runs the sidecar target with traces and metrics
// exported over OTLP gRPC to a receiver in this process: the cost of
// telemetry on, beside BenchmarkChat's sidecar (telemetry off).
func benchmarkWithTelemetry(b *testing.B, step mockprovider.Step, body string) {
	rcv, err := otlpreceiver.Start()
	require.NoError(b, err)
	b.Cleanup(func() { _ = rcv.Close() })
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.GRPCEndpoint())
	b.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", telemetry.ProtocolGRPC)
	cfg, err := telemetry.FromEnv(os.LookupEnv)
	require.NoError(b, err)
	dir := b.TempDir()
	log, err := os.Create(filepath.Join(dir, "sidecar.log"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = log.Close() })
	s, err := StartWithTelemetry(dir, log, cfg)
	require.NoError(b, err)
	b.Cleanup(s.Close)
	s.Mock.SetDefault(step)
	c := Client(64)
	b.Cleanup(c.CloseIdleConnections)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, c, s.Sidecar, body)
		}
	})
}

// BenchmarkChatTelemetry is BenchmarkChat's sidecar with telemetry on.
func BenchmarkChatTelemetry(b *testing.B) {
	benchmarkWithTelemetry(b, mockprovider.Step{}, chat)
}

// BenchmarkStream20ChunksTelemetry is BenchmarkStream20Chunks' sidecar
// with telemetry on.
func BenchmarkStream20ChunksTelemetry(b *testing.B) {
	benchmarkWithTelemetry(b, mockprovider.Step{Chunks: 20}, stream)
}
