package telemetry

import (
	"errors"
	"fmt"
	"strings"
)

// OTLP transport protocols (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// Config says which signals the sidecar exports, and how. It is read from
// the standard OpenTelemetry environment variables; the exporters read
// the rest of them themselves (endpoints, headers, TLS, timeouts,
// compression; OTEL_BSP_*, OTEL_METRIC_EXPORT_*, OTEL_TRACES_SAMPLER*,
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME likewise).
type Config struct {
	// Traces and Metrics are the signals exported; a signal is exported
	// when an OTLP endpoint is set for it (OTEL_EXPORTER_OTLP_ENDPOINT, or
	// the signal's OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT), unless
	// OTEL_{TRACES,METRICS}_EXPORTER is none or OTEL_SDK_DISABLED is true.
	Traces, Metrics Signal
}

// Signal is how one signal is exported.
type Signal struct {
	// Enabled tells that the signal is exported.
	Enabled bool
	// Protocol is ProtocolGRPC or ProtocolHTTPProtobuf, from
	// OTEL_EXPORTER_OTLP_{TRACES,METRICS}_PROTOCOL or
	// OTEL_EXPORTER_OTLP_PROTOCOL; http/protobuf by default, as the
	// specification says.
	Protocol string
}

// Enabled tells whether anything is exported.
func (c Config) Enabled() bool { return c.Traces.Enabled || c.Metrics.Enabled }

// FromEnv reads the Config from the environment through lookup (such as
// os.LookupEnv). An error names each variable that is wrong and what it
// may be.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	sdkDisabled := get("OTEL_SDK_DISABLED")
	if sdkDisabled != "" && !strings.EqualFold(sdkDisabled, "true") && !strings.EqualFold(sdkDisabled, "false") {
		errs = append(errs, fmt.Errorf("OTEL_SDK_DISABLED %q: use true or false", sdkDisabled))
	}
	disabled := strings.EqualFold(sdkDisabled, "true")
	signal := func(name string) Signal {
		upper := strings.ToUpper(name)
		s := Signal{Protocol: ProtocolHTTPProtobuf}
		exporter := get("OTEL_" + upper + "_EXPORTER")
		switch exporter {
		case "", "otlp", "none":
		default:
			errs = append(errs, fmt.Errorf("OTEL_%s_EXPORTER %q: the sidecar exports %s over OTLP only: use otlp, or none to export none", upper, exporter, name))
		}
		endpoint := get("OTEL_EXPORTER_OTLP_" + upper + "_ENDPOINT")
		if endpoint == "" {
			endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT")
		}
		protocolVar := "OTEL_EXPORTER_OTLP_" + upper + "_PROTOCOL"
		protocol := get(protocolVar)
		if protocol == "" {
			protocolVar, protocol = "OTEL_EXPORTER_OTLP_PROTOCOL", get("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		switch protocol {
		case "":
		case ProtocolGRPC, ProtocolHTTPProtobuf:
			s.Protocol = protocol
		default:
			errs = append(errs, fmt.Errorf("%s %q: use %s or %s", protocolVar, protocol, ProtocolGRPC, ProtocolHTTPProtobuf))
		}
		s.Enabled = endpoint != "" && exporter != "none" && !disabled
		return s
	}
	c := Config{Traces: signal("traces"), Metrics: signal("metrics")}
	return c, errors.Join(errs...)
}
