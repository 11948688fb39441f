package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"tollgate.dev/tollgate/internal/sidecar/telemetry/otlp"
)

// Config says which signals the sidecar exports, and how. It is read from
// the standard OpenTelemetry environment variables: the OTLP exporter's
// (see otlp.FromEnv) and the SDK's own; the SDK reads the rest of them
// itself (OTEL_BSP_*, OTEL_METRIC_EXPORT_*, OTEL_TRACES_SAMPLER*,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME and the span limits).
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
	// OTLP is where and how it is sent, over OTLP/HTTP with protobuf
	// bodies (the only protocol the sidecar speaks).
	OTLP otlp.Config
}

// Endpoint is where the signal is sent, without any user info of the URL,
// for the log; "" when it is not exported.
func (s Signal) Endpoint() string {
	if !s.Enabled {
		return ""
	}
	u, err := url.Parse(s.OTLP.URL)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

// Enabled tells whether anything is exported.
func (c Config) Enabled() bool { return c.Traces.Enabled || c.Metrics.Enabled }

// FromEnv reads the Config from the environment through lookup (such as
// os.LookupEnv). An error names each variable that is wrong and what it
// may be, whether or not its signal is exported: OTLP over gRPC
// (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) is one.
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
	signal := func(s otlp.Signal) Signal {
		upper := strings.ToUpper(string(s))
		exporter := get("OTEL_" + upper + "_EXPORTER")
		switch exporter {
		case "", "otlp", "none":
		default:
			errs = append(errs, fmt.Errorf("OTEL_%s_EXPORTER %q: the sidecar exports %s over OTLP only: use otlp, or none to export none", upper, exporter, s))
		}
		cfg, err := otlp.FromEnv(s, lookup)
		if err != nil {
			errs = append(errs, err)
		}
		return Signal{Enabled: cfg.URL != "" && exporter != "none" && !disabled, OTLP: cfg}
	}
	c := Config{Traces: signal(otlp.Traces), Metrics: signal(otlp.Metrics)}
	return c, joinOnce(errs)
}

// joinOnce joins errs, each message once: a variable both signals read
// (OTEL_EXPORTER_OTLP_PROTOCOL) is wrong for both.
func joinOnce(errs []error) error {
	seen := map[string]bool{}
	var out []error
	for _, err := range errs {
		for _, line := range strings.Split(err.Error(), "\n") {
			if !seen[line] {
				seen[line] = true
				out = append(out, errors.New(line))
			}
		}
	}
	return errors.Join(out...)
}
