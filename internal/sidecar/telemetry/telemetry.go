package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"tollgate.dev/tollgate/internal/sidecar/telemetry/otlp"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// ServiceName is the service.name of the sidecar's telemetry unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const ServiceName = "tollgate-sidecar"

// scopeName is the instrumentation scope of the sidecar's spans and
// metrics.
const scopeName = "tollgate.dev/tollgate/internal/sidecar/telemetry"

// Bucket boundaries the GenAI conventions advise for their histograms.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
)

// Options are what the telemetry needs from the rest of the sidecar.
type Options struct {
	// ModelLabel bounds a model name for a metric attribute: the value
	// the Prometheus metrics count the model under with the loaded policy
	// (metrics.Sidecar.ModelLabel). Required when metrics are exported.
	ModelLabel func(provider, model string) string
	// Log receives the exporters' errors, at most one line a minute.
	Log *zap.Logger
}

// Telemetry exports the sidecar's spans and GenAI metrics. It is safe for
// concurrent use.
type Telemetry struct {
	// tracer is nil when traces are not exported; so are the meter's
	// instruments without metrics.
	tracer     trace.Tracer
	tp         *sdktrace.TracerProvider
	mp         *sdkmetric.MeterProvider
	metrics    bool
	duration   genaiconv.ClientOperationDuration
	tokens     genaiconv.ClientTokenUsage
	firstChunk genaiconv.ClientOperationTimeToFirstChunk
	modelLabel func(provider, model string) string
	// propagator reads the app's W3C trace context.
	propagator propagation.TraceContext
	// servers are the providers of the loaded policy, swapped whole by
	// Configure.
	servers atomic.Pointer[servers]
}

// New starts the exporters cfg enables: the SDK's providers, with their
// batching goroutines, exist only from here. Exporters connect lazily: a
// collector that cannot be reached does not stop the sidecar, and what
// cannot be sent is dropped (logged), never queued without bound or
// waited for on the request path.
func New(ctx context.Context, cfg Config, opts Options) (*Telemetry, error) {
	if !cfg.Enabled() {
		return nil, errors.New("no OpenTelemetry signal is enabled: set OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if cfg.Metrics.Enabled && opts.ModelLabel == nil {
		return nil, errors.New("telemetry: Options.ModelLabel is required with metrics")
	}
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	// The SDK reports export failures to the global handler; a collector
	// that is down would otherwise log on every batch.
	sometimes := &rate.Sometimes{First: 1, Interval: time.Minute}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if errors.Is(err, context.Canceled) {
			return // an export cut short by Shutdown, which exports once more
		}
		sometimes.Do(func() {
			log.Warn("OpenTelemetry export failed; telemetry is dropped until the collector answers (logged at most once a minute)", zap.Error(err))
		})
	}))

	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(ServiceName)),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME: after, so they win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource from OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	t := &Telemetry{modelLabel: opts.ModelLabel}
	t.servers.Store(&servers{})
	if cfg.Traces.Enabled {
		exp, err := otlp.NewTraceExporter(cfg.Traces.OTLP)
		if err != nil {
			return nil, fmt.Errorf("OpenTelemetry trace exporter: %w", err)
		}
		t.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		t.tracer = t.tp.Tracer(scopeName, trace.WithSchemaURL(semconv.SchemaURL))
	}
	if cfg.Metrics.Enabled {
		exp, err := otlp.NewMetricExporter(cfg.Metrics.OTLP)
		if err != nil {
			_ = t.Shutdown(ctx)
			return nil, fmt.Errorf("OpenTelemetry metric exporter: %w", err)
		}
		t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
		if err := t.instruments(t.mp.Meter(scopeName, metric.WithSchemaURL(semconv.SchemaURL))); err != nil {
			_ = t.Shutdown(ctx)
			return nil, err
		}
		t.metrics = true
	}
	return t, nil
}

func (t *Telemetry) instruments(m metric.Meter) error {
	var errs [3]error
	t.duration, errs[0] = genaiconv.NewClientOperationDuration(m, metric.WithExplicitBucketBoundaries(durationBuckets...))
	t.tokens, errs[1] = genaiconv.NewClientTokenUsage(m, metric.WithExplicitBucketBoundaries(tokenBuckets...))
	t.firstChunk, errs[2] = genaiconv.NewClientOperationTimeToFirstChunk(m, metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err := errors.Join(errs[:]...); err != nil {
		return fmt.Errorf("OpenTelemetry GenAI instruments: %w", err)
	}
	return nil
}

// Shutdown sends what is still buffered, within ctx, and stops the
// exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.tp != nil {
		errs = append(errs, t.tp.Shutdown(ctx))
	}
	if t.mp != nil {
		errs = append(errs, t.mp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// Configure takes in the policy tr enforces (nil when none applies),
// before its first request: the providers its attributes name.
func (t *Telemetry) Configure(tr *llmclient.Transport) {
	s := serversOf(nil)
	if tr != nil {
		s = serversOf(tr.Policy())
	}
	t.servers.Store(&s)
}

// Handler starts the span of each request next serves, a child of the
// app's span when the request carries W3C trace context, and puts it in
// the request's context, where the Transport finds it (Report.Span) and
// Observe ends it. Without traces it is next itself.
func (t *Telemetry) Handler(next http.Handler) http.Handler {
	if t.tracer == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		// Named for its method until Observe knows its operation and
		// model.
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindClient))
		defer func() {
			// A request no Transport served (no policy applies to the
			// pod) has no report: its span ends here.
			if span.IsRecording() {
				reason := knownErrorType(w.Header().Get(llmclient.HeaderReason))
				span.SetAttributes(semconv.ErrorTypeKey.String(reason))
				span.SetStatus(codes.Error, reason)
				span.End()
			}
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Observe records one finished request: it ends its span with the
// attributes of the report, and records its metrics.
func (t *Telemetry) Observe(r *llmclient.Report) {
	op := operation(r.Shape)
	name, upstream := served(r)
	srv := (*t.servers.Load())[name]
	if srv.genai == "" {
		upstream = false // a provider the loaded policy does not have
		srv.genai = genaiconv.ProviderNameOpenAI
	}
	ctx := context.Background()
	if span := r.Span; span != nil && span.IsRecording() {
		if op != "" {
			span.SetName(spanName(op, llmclient.Bounded(r.Model)))
		}
		span.SetAttributes(spanAttributes(r, op, srv, upstream)...)
		if e := r.ErrorType(); e != "" {
			span.SetStatus(codes.Error, e)
		}
		span.End()
		ctx = trace.ContextWithSpan(ctx, span) // exemplars point at the span
	}
	if !t.metrics || op == "" {
		return
	}
	attrs := metricAttributes(r, srv, upstream, t.modelLabel)
	if u := r.Usage; u.Known {
		t.tokens.Record(ctx, u.InputTokens, op, srv.genai, genaiconv.TokenTypeInput, attrs...)
		t.tokens.Record(ctx, u.OutputTokens, op, srv.genai, genaiconv.TokenTypeOutput, attrs...)
	}
	set := attribute.NewSet(append(attrs,
		semconv.GenAIOperationNameKey.String(string(op)),
		semconv.GenAIProviderNameKey.String(string(srv.genai)),
	)...)
	t.duration.RecordSet(ctx, r.Latency.Seconds(), set)
	if firstChunk(r) {
		t.firstChunk.RecordSet(ctx, r.TTFT.Seconds(), set)
	}
}
