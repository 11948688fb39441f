package telemetry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromEnv(t *testing.T) {
	on := func(protocol string) Signal { return Signal{Enabled: true, Protocol: protocol} }
	off := Signal{Protocol: ProtocolHTTPProtobuf}
	tests := map[string]struct {
		env        map[string]string
		want       Config
		wantErrors []string
	}{
		"nothing set exports nothing": {
			want: Config{Traces: off, Metrics: off},
		},
		"one endpoint exports both over http/protobuf, the specification's default": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			want: Config{Traces: on(ProtocolHTTPProtobuf), Metrics: on(ProtocolHTTPProtobuf)},
		},
		"a signal's own endpoint exports that signal only": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
			want: Config{Traces: on(ProtocolHTTPProtobuf), Metrics: off},
		},
		"the protocol, and a signal's own protocol over it": {
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
				"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
			want: Config{Traces: on(ProtocolGRPC), Metrics: on(ProtocolHTTPProtobuf)},
		},
		"an exporter of none turns its signal off": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_METRICS_EXPORTER": "none", "OTEL_TRACES_EXPORTER": "otlp"},
			want: Config{Traces: on(ProtocolHTTPProtobuf), Metrics: off},
		},
		"OTEL_SDK_DISABLED turns everything off": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"},
			want: Config{Traces: off, Metrics: off},
		},
		"blank values are unset": {
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": " ", "OTEL_EXPORTER_OTLP_PROTOCOL": ""},
			want: Config{Traces: off, Metrics: off},
		},
		"wrong values are named with what they may be": {
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
				"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "yes"},
			wantErrors: []string{
				`OTEL_EXPORTER_OTLP_PROTOCOL "http/json": use grpc or http/protobuf`,
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
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want.Traces.Enabled || tc.want.Metrics.Enabled, got.Enabled())
		})
	}
}
