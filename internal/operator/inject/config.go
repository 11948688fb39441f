package inject

import (
	"errors"
	"fmt"
	"net/url"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Release is the version of this source tree's images: the Helm chart's
// appVersion (test/install holds them together).
const Release = "0.1.0"

// DefaultImage is the sidecar image DefaultConfig uses: this release's, so
// that an operator started without --sidecar-image injects the sidecar it
// was built with, never whatever a moving tag points at. The chart and the
// kustomize manifests set --sidecar-image to the same image.
const DefaultImage = "ghcr.io/tollgate-dev/tollgate-sidecar:" + Release

// logLevels are the sidecar's --log-level values.
var logLevels = []string{"debug", "info", "warn", "error"}

// Config is how the sidecar is injected: what the operator's --sidecar-*
// flags say.
type Config struct {
	// Image is the sidecar's image.
	Image string
	// ImagePullPolicy is the sidecar's imagePullPolicy.
	ImagePullPolicy corev1.PullPolicy
	// Resources are the sidecar's requests and limits.
	Resources corev1.ResourceRequirements
	// LogLevel is the sidecar's --log-level: debug, info, warn or error.
	LogLevel string
	// MaxRequestBytes and MaxBufferedBytes are the sidecar's
	// --max-request-bytes (the largest request body) and
	// --max-buffered-bytes (all request bodies in memory at once); 0 keeps
	// the sidecar's defaults, sized for the default 128Mi memory limit.
	MaxRequestBytes, MaxBufferedBytes int64
	// LedgerURLs are where the sidecar reaches the operator's budget
	// ledger (the ledger Service); empty leaves budgets local to each
	// sidecar.
	LedgerURLs []string
	// LedgerUnreachable is the sidecar's --ledger-unreachable: Block or
	// Allow, for policies whose budget does not say.
	LedgerUnreachable string
	// OTel is where the sidecars export OpenTelemetry traces and metrics;
	// the zero value exports nothing.
	OTel OTelConfig
}

// OTelConfig is the OpenTelemetry export of the injected sidecars, passed
// to them as the standard OTEL_* environment variables. The sidecars send
// OTLP over HTTP with protobuf bodies, the specification's default, so no
// protocol is set.
type OTelConfig struct {
	// Endpoint is their OTEL_EXPORTER_OTLP_ENDPOINT: the http(s) URL of an
	// OTLP/HTTP receiver such as an OpenTelemetry Collector
	// (http://otel-collector.observability:4318); "" exports nothing.
	Endpoint string
}

// DefaultConfig is the configuration of the operator's flag defaults:
// 50m CPU and 32Mi memory requested, memory limited to 128Mi, no CPU limit
// (a CPU limit throttles streaming responses), log level info.
func DefaultConfig() Config {
	return Config{
		Image:           DefaultImage,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("50m"),
				corev1.ResourceMemory: resource.MustParse("32Mi"),
			},
			Limits: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			},
		},
		LogLevel:          "info",
		LedgerUnreachable: "Block",
	}
}

// Validate reports every setting a sidecar could not start with.
func (c Config) Validate() error {
	var errs []error
	if c.Image == "" {
		errs = append(errs, errors.New("sidecar image is empty: set --sidecar-image, e.g. "+DefaultImage))
	}
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, fmt.Errorf("sidecar image pull policy %q: use Always, IfNotPresent or Never", c.ImagePullPolicy))
	}
	if len(c.LedgerURLs) > 0 && c.LedgerUnreachable != "Block" && c.LedgerUnreachable != "Allow" {
		errs = append(errs, fmt.Errorf("what sidecars do when the budget ledger is unreachable, %q: use Block or Allow", c.LedgerUnreachable))
	}
	if c.MaxRequestBytes < 0 || c.MaxBufferedBytes < 0 {
		errs = append(errs, errors.New("sidecar body limits must not be negative"))
	}
	if c.MaxRequestBytes > 0 && c.MaxBufferedBytes > 0 && c.MaxBufferedBytes < c.MaxRequestBytes {
		errs = append(errs, fmt.Errorf("sidecar buffered bytes %d cannot hold one request body of %d bytes: raise --sidecar-max-buffered-bytes", c.MaxBufferedBytes, c.MaxRequestBytes))
	}
	if c.OTel.Endpoint != "" {
		if u, err := url.Parse(c.OTel.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("sidecar OpenTelemetry endpoint %q is not an http(s) URL: use e.g. http://otel-collector.observability:4318 (OTLP over HTTP)", c.OTel.Endpoint))
		}
	}
	if !slices.Contains(logLevels, c.LogLevel) {
		errs = append(errs, fmt.Errorf("sidecar log level %q: use debug, info, warn or error", c.LogLevel))
	}
	for name, limit := range c.Resources.Limits {
		if request, ok := c.Resources.Requests[name]; ok && request.Cmp(limit) > 0 {
			errs = append(errs, fmt.Errorf("sidecar %s request %s is above its limit %s: lower the request or raise the limit", name, request.String(), limit.String()))
		}
	}
	return errors.Join(errs...)
}
