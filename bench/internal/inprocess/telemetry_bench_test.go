package inprocess

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/telemetry"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// benchmarkWithTelemetry runs the sidecar target with traces and metrics
// exported over OTLP/HTTP to a receiver in this process that reads and
// discards what it gets, so that the figures are the sidecar's (spans,
// metrics, protobuf encoding, export), not a collector's decoding: the
// cost of telemetry on, beside BenchmarkChat's sidecar (telemetry off).
func benchmarkWithTelemetry(b *testing.B, step mockprovider.Step, body string) {
	var exports atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		exports.Add(1)
		// An empty body is an empty Export*ServiceResponse: all accepted.
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(rcv.Close)
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	b.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	b.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "1000")
	b.Cleanup(func() {
		if exports.Load() == 0 {
			b.Log("nothing was exported")
		}
	})
	cfg, err := telemetry.FromEnv(os.LookupEnv)
	require.NoError(b, err)
	s := startStackWith(b, Options{Telemetry: cfg})
	s.Mock.SetDefault(step)
	sendInParallel(b, s.Sidecar, same(body))
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
