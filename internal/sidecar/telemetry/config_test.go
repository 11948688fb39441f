package telemetry

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/telemetry/otlp"
)

func TestFromEnv(t *testing.T) {
	on := func(url string) Signal { return Signal{Enabled: true, OTLP: otlp.Config{URL: url}} }
	tests := map[string]struct {
		env        map[string]string
		want       Config
		wantErrors []string
	}{
		"nothing set exports nothing": {},
		"one endpoint exports both over http/protobuf, the specification's default": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			want: Config{Traces: on("http://collector:4318/v1/traces"), Metrics: on("http://collector:4318/v1/metrics")},
		},
		"http/protobuf may be named": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			want: Config{Traces: on("http://collector:4318/v1/traces"), Metrics: on("http://collector:4318/v1/metrics")},
		},
		"a signal's own endpoint exports that signal only": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
			want: Config{Traces: on("http://collector:4318/v1/traces")},
		},
		"an exporter of none turns its signal off": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_METRICS_EXPORTER": "none", "OTEL_TRACES_EXPORTER": "otlp"},
			want: Config{Traces: on("http://collector:4318/v1/traces"), Metrics: Signal{OTLP: otlp.Config{URL: "http://collector:4318/v1/metrics"}}},
		},
		"OTEL_SDK_DISABLED turns everything off": {
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"},
			want: Config{Traces: Signal{OTLP: otlp.Config{URL: "http://collector:4318/v1/traces"}},
				Metrics: Signal{OTLP: otlp.Config{URL: "http://collector:4318/v1/metrics"}}},
		},
		"blank values are unset": {
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": " ", "OTEL_EXPORTER_OTLP_PROTOCOL": ""},
		},
		"gRPC is refused once, for both signals, with what to use": {
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			wantErrors: []string{
				`OTEL_EXPORTER_OTLP_PROTOCOL "grpc": the sidecar exports OTLP over HTTP only, not gRPC: use http/protobuf, and the receiver's OTLP/HTTP port (an OpenTelemetry Collector's 4318)`,
			},
		},
		"gRPC is refused for one signal, and without an endpoint too": {
			env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
			wantErrors: []string{
				`OTEL_EXPORTER_OTLP_METRICS_PROTOCOL "grpc": the sidecar exports OTLP over HTTP only, not gRPC: use http/protobuf`,
			},
		},
		"wrong values are named with what they may be": {
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
				"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "yes"},
			wantErrors: []string{
				`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL "http/json": the sidecar sends OTLP as protobuf only: use http/protobuf`,
				`OTEL_TRACES_EXPORTER "console": the sidecar exports traces over OTLP only: use otlp, or none to export none`,
				`OTEL_SDK_DISABLED "yes": use true or false`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := FromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if len(tc.wantErrors) > 0 {
				require.Error(t, err)
				for _, want := range tc.wantErrors {
					assert.Contains(t, err.Error(), want)
					assert.Equal(t, 1, strings.Count(err.Error(), want), "said once")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want.Traces.Enabled || tc.want.Metrics.Enabled, got.Enabled())
		})
	}
}

func TestSignal_EndpointHidesUserInfo(t *testing.T) {
	s := Signal{Enabled: true, OTLP: otlp.Config{URL: "https://user:secret@collector:4318/v1/traces"}}
	assert.Equal(t, "https://user:xxxxx@collector:4318/v1/traces", s.Endpoint())
	assert.Empty(t, Signal{OTLP: otlp.Config{URL: "http://collector:4318/v1/traces"}}.Endpoint(), "not exported")
}
