// Package otlp sends the sidecar's spans and metrics to an OTLP receiver
// (an OpenTelemetry Collector) over HTTP with protobuf bodies, the
// transport the OpenTelemetry specification makes the default. It is the
// OpenTelemetry SDK's sdktrace.SpanExporter and sdkmetric.Exporter, and
// reads the standard OTEL_EXPORTER_OTLP_* variables (see FromEnv).
//
// The sidecar has its own exporter rather than OpenTelemetry Go's
// otlptracehttp and otlpmetrichttp because those import gRPC (their
// configuration and the OTLP protobuf packages they use hold gRPC's types
// and services; opentelemetry-go issue 2579): linked in, gRPC and its
// gateway add about 10 MB to the binary and megabytes of resident memory
// to every sidecar, telemetry on or off. This package encodes with the
// gRPC-free OTLP protobufs (go.opentelemetry.io/proto/slim/otlp, the same
// wire format) and sends with net/http. OTLP over gRPC is not supported.
//
// An export is one POST to the signal's URL, retried while the receiver
// says it is busy (429, 502, 503, 504, honouring Retry-After) or cannot
// be reached, with exponential backoff, within the export's timeout
// (OTEL_EXPORTER_OTLP_TIMEOUT, 10s). What fails is the SDK's to drop: the
// batch span processor and the periodic metric reader report it to the
// global error handler and carry on.
package otlp
