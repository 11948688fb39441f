package otlp

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromEnv(t *testing.T) {
	tests := map[string]struct {
		signal     Signal
		env        map[string]string
		want       Config
		wantErrors []string
	}{
		"nothing set sends nowhere": {signal: Traces},
		"the general endpoint gets the signal's path": {
			signal: Metrics,
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/otlp/"},
			want:   Config{URL: "https://collector:4318/otlp/v1/metrics"},
		},
		"a signal's own endpoint is used as it is, over the general one": {
			signal: Traces,
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:9000/in"},
			want:   Config{URL: "http://b:9000/in"},
		},
		"every setting, the signal's own over the general": {
			signal: Metrics,
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":                       "http://collector:4318",
				"OTEL_EXPORTER_OTLP_PROTOCOL":                       "http/protobuf",
				"OTEL_EXPORTER_OTLP_HEADERS":                        "x-general=1",
				"OTEL_EXPORTER_OTLP_METRICS_HEADERS":                "api-key=s%3Dcr%20t, x-tenant = a ",
				"OTEL_EXPORTER_OTLP_TIMEOUT":                        "2500",
				"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION":            "gzip",
				"OTEL_EXPORTER_OTLP_CERTIFICATE":                    "/etc/ca.pem",
				"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE":             "/etc/tls.crt",
				"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY":             "/etc/tls.key",
				"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Delta",
			},
			want: Config{URL: "http://collector:4318/v1/metrics", Headers: map[string]string{"api-key": "s=cr t", "x-tenant": "a"},
				Timeout: 2500 * time.Millisecond, Gzip: true, Certificate: "/etc/ca.pem", ClientCertificate: "/etc/tls.crt",
				ClientKey: "/etc/tls.key", Temporality: TemporalityDelta},
		},
		"gRPC is refused with what to use": {
			signal: Traces,
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			wantErrors: []string{`OTEL_EXPORTER_OTLP_PROTOCOL "grpc": the sidecar exports OTLP over HTTP only, not gRPC: use http/protobuf, ` +
				`and the receiver's OTLP/HTTP port (an OpenTelemetry Collector's 4318)`},
		},
		"a signal's own protocol is named when it is wrong": {
			signal:     Traces,
			env:        map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
			wantErrors: []string{`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL "http/json": the sidecar sends OTLP as protobuf only: use http/protobuf`},
		},
		"wrong values are named with what they may be": {
			signal: Metrics,
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_PROTOCOL":                       "thrift",
				"OTEL_EXPORTER_OTLP_ENDPOINT":                       "collector:4318",
				"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT":                "10s",
				"OTEL_EXPORTER_OTLP_COMPRESSION":                    "zstd",
				"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE":             "/etc/tls.crt",
				"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes",
			},
			wantErrors: []string{
				`OTEL_EXPORTER_OTLP_PROTOCOL "thrift": use http/protobuf`,
				`OTEL_EXPORTER_OTLP_ENDPOINT "collector:4318": use an http:// or https:// URL, such as http://otel-collector.observability:4318`,
				`OTEL_EXPORTER_OTLP_METRICS_TIMEOUT "10s": use a positive number of milliseconds, such as 10000`,
				`OTEL_EXPORTER_OTLP_COMPRESSION "zstd": use gzip or none`,
				`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: set both (a certificate and its key) or neither`,
				`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE "sometimes": use cumulative, delta or lowmemory`,
			},
		},
		"a signal's own endpoint with a query": {
			signal:     Traces,
			env:        map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces?x=1"},
			wantErrors: []string{`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT "http://collector:4318/v1/traces?x=1": an OTLP endpoint has no query or fragment`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := FromEnv(tc.signal, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if len(tc.wantErrors) > 0 {
				require.Error(t, err)
				for _, want := range tc.wantErrors {
					assert.Contains(t, err.Error(), want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFromEnv_HeaderErrorsNeverShowAValue(t *testing.T) {
	for name, headers := range map[string]string{
		"a pair without =":        "authorization=Bearer sk-123,sk-456",
		"a key that is no token":  "bad key=sk-123",
		"a value that is no text": "authorization=sk-123%0D%0A",
		"a broken escape":         "authorization=sk-123%zz",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FromEnv(Traces, func(k string) (string, bool) {
				if k == "OTEL_EXPORTER_OTLP_HEADERS" {
					return headers, true
				}
				return "", false
			})
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "OTEL_EXPORTER_OTLP_HEADERS "), err.Error())
			assert.NotContains(t, err.Error(), "sk-")
		})
	}
}
