package otlp

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Signal is the kind of telemetry an exporter sends.
type Signal string

// Signals, as the variables name them (OTEL_EXPORTER_OTLP_TRACES_*).
const (
	Traces  Signal = "traces"
	Metrics Signal = "metrics"
)

// ProtocolHTTPProtobuf is the one OTLP transport supported: the value of
// OTEL_EXPORTER_OTLP_PROTOCOL that may be set, and the default.
const ProtocolHTTPProtobuf = "http/protobuf"

// DefaultTimeout bounds an export, its retries included, unless
// OTEL_EXPORTER_OTLP_TIMEOUT says otherwise.
const DefaultTimeout = 10 * time.Second

// Metric temporality preferences
// (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).
const (
	TemporalityCumulative = "cumulative"
	TemporalityDelta      = "delta"
	TemporalityLowMemory  = "lowmemory"
)

// Config is how the exporter of one signal sends.
type Config struct {
	// URL is where export requests are POSTed:
	// OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT as it is, or else
	// OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces or /v1/metrics appended
	// to its path. "" when neither is set: nothing is exported.
	URL string
	// Headers are set on every export request
	// (OTEL_EXPORTER_OTLP_HEADERS), e.g. a collector's API key.
	Headers map[string]string
	// Timeout bounds one export, its retries included; DefaultTimeout
	// when zero.
	Timeout time.Duration
	// Gzip compresses the bodies (OTEL_EXPORTER_OTLP_COMPRESSION=gzip).
	Gzip bool
	// Certificate is a PEM file of the CAs that verify the receiver's
	// certificate, in place of the system's; "" uses the system's.
	Certificate string
	// ClientCertificate and ClientKey are PEM files of the certificate and
	// key the exporter presents to a receiver that asks for one (mutual
	// TLS); both or neither.
	ClientCertificate, ClientKey string
	// Temporality is the metrics' temporality preference:
	// TemporalityCumulative (or ""), TemporalityDelta or
	// TemporalityLowMemory. Metrics only.
	Temporality string
}

// FromEnv reads the Config of signal from the environment through lookup
// (such as os.LookupEnv): each OTEL_EXPORTER_OTLP_{TRACES,METRICS}_*
// variable, or else its OTEL_EXPORTER_OTLP_* counterpart. An error names
// each variable that is wrong and what it may be; it never repeats a
// header's value, which may be a credential.
func FromEnv(signal Signal, lookup func(string) (string, bool)) (Config, error) {
	e := env{signal: strings.ToUpper(string(signal)), lookup: lookup}
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s "+format, append([]any{name}, args...)...))
	}
	var c Config

	if v, name := e.get("PROTOCOL"); v != "" && v != ProtocolHTTPProtobuf {
		switch v {
		case "grpc":
			fail(name, "%q: the sidecar exports OTLP over HTTP only, not gRPC: use %s, and the receiver's OTLP/HTTP port (an OpenTelemetry Collector's 4318)", v, ProtocolHTTPProtobuf)
		case "http/json":
			fail(name, "%q: the sidecar sends OTLP as protobuf only: use %s (an OpenTelemetry Collector takes both on its port 4318)", v, ProtocolHTTPProtobuf)
		default:
			fail(name, "%q: use %s", v, ProtocolHTTPProtobuf)
		}
	}

	own := "OTEL_EXPORTER_OTLP_" + e.signal + "_ENDPOINT"
	if v := e.value(own); v != "" {
		if err := checkURL(v); err != nil {
			fail(own, "%q: %v", v, err)
		}
		c.URL = v // as it is, as the specification says of a signal's own endpoint
	} else if v := e.value("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		if err := checkURL(v); err != nil {
			fail("OTEL_EXPORTER_OTLP_ENDPOINT", "%q: %v", v, err)
		}
		c.URL = strings.TrimSuffix(v, "/") + "/v1/" + string(signal)
	}

	if v, name := e.get("HEADERS"); v != "" {
		h, err := parseHeaders(v)
		if err != nil {
			fail(name, "%v", err)
		}
		c.Headers = h
	}
	if v, name := e.get("TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			fail(name, "%q: use a positive number of milliseconds, such as 10000", v)
		}
		c.Timeout = time.Duration(ms) * time.Millisecond
	}
	switch v, name := e.get("COMPRESSION"); strings.ToLower(v) {
	case "", "none":
	case "gzip":
		c.Gzip = true
	default:
		fail(name, "%q: use gzip or none", v)
	}
	c.Certificate, _ = e.get("CERTIFICATE")
	var certName, keyName string
	c.ClientCertificate, certName = e.get("CLIENT_CERTIFICATE")
	c.ClientKey, keyName = e.get("CLIENT_KEY")
	if (c.ClientCertificate == "") != (c.ClientKey == "") {
		errs = append(errs, fmt.Errorf("%s and %s: set both (a certificate and its key) or neither", certName, keyName))
	}
	if signal == Metrics {
		const name = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
		switch v := strings.ToLower(e.value(name)); v {
		case "", TemporalityCumulative, TemporalityDelta, TemporalityLowMemory:
			c.Temporality = v
		default:
			fail(name, "%q: use cumulative, delta or lowmemory", e.value(name))
		}
	}
	return c, errors.Join(errs...)
}

// env reads the variables of one signal.
type env struct {
	signal string // TRACES or METRICS
	lookup func(string) (string, bool)
}

// value is the variable name, trimmed; "" when unset.
func (e env) value(name string) string {
	v, _ := e.lookup(name)
	return strings.TrimSpace(v)
}

// get is the signal's own OTEL_EXPORTER_OTLP_<SIGNAL>_<setting>, or else
// OTEL_EXPORTER_OTLP_<setting>, with the name of the variable it came
// from (the signal's own when neither is set).
func (e env) get(setting string) (value, name string) {
	own := "OTEL_EXPORTER_OTLP_" + e.signal + "_" + setting
	if v := e.value(own); v != "" {
		return v, own
	}
	if v := e.value("OTEL_EXPORTER_OTLP_" + setting); v != "" {
		return v, "OTEL_EXPORTER_OTLP_" + setting
	}
	return "", own
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("use an http:// or https:// URL, such as http://otel-collector.observability:4318")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("an OTLP endpoint has no query or fragment")
	}
	return nil
}

// parseHeaders reads the specification's list of key=value pairs,
// separated by commas, with percent-encoded values. Its errors say which
// pair is wrong without its value.
func parseHeaders(s string) (map[string]string, error) {
	h := map[string]string{}
	for i, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || !httpguts.ValidHeaderFieldName(k) {
			return nil, fmt.Errorf("pair %d is no key=value (values are not shown here: they may be credentials)", i+1)
		}
		value, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil || !httpguts.ValidHeaderFieldValue(value) {
			return nil, fmt.Errorf("the value of %s is not a valid percent-encoded header value", k)
		}
		h[k] = value
	}
	return h, nil
}
