package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectorpb "go.opentelemetry.io/proto/slim/otlp/collector/trace/v1"
	metricspb "go.opentelemetry.io/proto/slim/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/slim/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"tollgate.dev/tollgate/internal/testkit/otlpreceiver"
)

func startReceiver(t *testing.T) *otlpreceiver.Receiver {
	t.Helper()
	r, err := otlpreceiver.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func await(t *testing.T, r *otlpreceiver.Receiver, cond func(*otlpreceiver.Receiver) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.Await(ctx, cond))
}

var testResource = resource.NewSchemaless(attribute.String("service.name", "tollgate-sidecar"), attribute.String("k8s.pod.name", "chat-0"))

func TestTraceExporter_SendsSpansAsTheReceiverReadsThem(t *testing.T) {
	rcv := startReceiver(t)
	exp, err := NewTraceExporter(Config{URL: rcv.HTTPEndpoint() + "/v1/traces", Gzip: true})
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(testResource))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 1}, SpanID: trace.SpanID{0x00, 0xf0, 2},
		TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	tracer := tp.Tracer("tollgate.dev/test", trace.WithInstrumentationVersion("1.2.3"), trace.WithSchemaURL("https://opentelemetry.io/schemas/1.41.0"))
	ctx, parent := tracer.Start(ctx, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("gen_ai.request.model", "gpt-4o"), attribute.Int("gen_ai.usage.input_tokens", 21),
			attribute.Bool("gen_ai.request.stream", false), attribute.Float64("x.f", 0.5), attribute.StringSlice("x.s", []string{"a", "b"})))
	_, child := tracer.Start(ctx, "POST", trace.WithSpanKind(trace.SpanKindClient))
	child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	child.SetStatus(codes.Error, "503")
	child.End()
	parent.End()

	await(t, rcv, func(r *otlpreceiver.Receiver) bool { return len(r.Spans()) == 2 })
	spans := rcv.Spans()
	c, p := spans[0], spans[1]
	assert.Equal(t, "POST", c.GetName())
	assert.Equal(t, "chat gpt-4o", p.GetName())
	assert.Equal(t, remote.TraceID().String(), trace.TraceID(p.GetTraceId()).String())
	assert.Equal(t, remote.SpanID().String(), trace.SpanID(p.GetParentSpanId()).String(), "a child of the remote span")
	assert.Equal(t, p.GetSpanId(), c.GetParentSpanId())
	assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, p.GetKind())
	assert.Equal(t, uint32(0x301), p.GetFlags(), "sampled, its parent remote and known to be")
	assert.Equal(t, uint32(0x101), c.GetFlags(), "sampled, its parent local")
	assert.Equal(t, map[string]any{"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": int64(21),
		"gen_ai.request.stream": false, "x.f": 0.5, "x.s": `array_value:{values:{string_value:"a"} values:{string_value:"b"}}`},
		normalized(otlpreceiver.Attributes(p.GetAttributes())))
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, c.GetStatus().GetCode())
	assert.Equal(t, "503", c.GetStatus().GetMessage())
	require.Len(t, c.GetEvents(), 1)
	assert.Equal(t, "retry", c.GetEvents()[0].GetName())
	assert.Positive(t, p.GetStartTimeUnixNano())
	assert.GreaterOrEqual(t, p.GetEndTimeUnixNano(), p.GetStartTimeUnixNano())
	assert.Equal(t, "chat-0", otlpreceiver.Attributes(p.Resource.GetAttributes())["k8s.pod.name"])
	assert.Equal(t, "tollgate.dev/test", p.Scope.GetName())
	assert.Equal(t, "1.2.3", p.Scope.GetVersion())
	assert.Equal(t, "https://opentelemetry.io/schemas/1.41.0", p.SchemaURL)
}

// normalized makes the text form of a value comparable: protobuf's text
// output varies its spacing on purpose.
func normalized(m map[string]any) map[string]any {
	for k, v := range m {
		if s, ok := v.(string); ok {
			m[k] = string(bytes.Join(bytes.Fields([]byte(s)), []byte(" ")))
		}
	}
	return m
}

func TestMetricExporter_SendsHistogramsAndSums(t *testing.T) {
	rcv := startReceiver(t)
	exp, err := NewMetricExporter(Config{URL: rcv.HTTPEndpoint() + "/v1/metrics"})
	require.NoError(t, err)
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(testResource))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m := mp.Meter("tollgate.dev/test")
	tokens, err := m.Int64Histogram("gen_ai.client.token.usage", metric.WithExplicitBucketBoundaries(1, 4, 16))
	require.NoError(t, err)
	duration, err := m.Float64Histogram("gen_ai.client.operation.duration")
	require.NoError(t, err)
	requests, err := m.Int64Counter("requests")
	require.NoError(t, err)
	ctx := context.Background()
	input := attribute.NewSet(attribute.String("gen_ai.token.type", "input"))
	tokens.Record(ctx, 3, metric.WithAttributeSet(input))
	tokens.Record(ctx, 21, metric.WithAttributeSet(input))
	duration.Record(ctx, 0.25)
	requests.Add(ctx, 2)
	require.NoError(t, mp.ForceFlush(ctx))

	await(t, rcv, func(r *otlpreceiver.Receiver) bool { return len(r.Metrics()) == 3 })
	got := map[string]*metricspb.Metric{}
	for _, m := range rcv.Metrics() {
		got[m.GetName()] = m.Metric
	}
	h := got["gen_ai.client.token.usage"].GetHistogram()
	assert.Equal(t, metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, h.GetAggregationTemporality())
	require.Len(t, h.GetDataPoints(), 1)
	p := h.GetDataPoints()[0]
	assert.Equal(t, map[string]any{"gen_ai.token.type": "input"}, otlpreceiver.Attributes(p.GetAttributes()))
	assert.Equal(t, uint64(2), p.GetCount())
	assert.Equal(t, 24.0, p.GetSum())
	assert.Equal(t, 3.0, p.GetMin())
	assert.Equal(t, 21.0, p.GetMax())
	assert.Equal(t, []float64{1, 4, 16}, p.GetExplicitBounds())
	assert.Equal(t, []uint64{0, 1, 0, 1}, p.GetBucketCounts())
	assert.Positive(t, p.GetTimeUnixNano())
	assert.Equal(t, 0.25, got["gen_ai.client.operation.duration"].GetHistogram().GetDataPoints()[0].GetSum())
	sum := got["requests"].GetSum()
	assert.True(t, sum.GetIsMonotonic())
	assert.Equal(t, int64(2), sum.GetDataPoints()[0].GetAsInt())
}

func TestMetricExporter_TemporalityPreference(t *testing.T) {
	for pref, want := range map[string]map[sdkmetric.InstrumentKind]metricdata.Temporality{
		"": {sdkmetric.InstrumentKindCounter: metricdata.CumulativeTemporality, sdkmetric.InstrumentKindHistogram: metricdata.CumulativeTemporality},
		TemporalityDelta: {sdkmetric.InstrumentKindCounter: metricdata.DeltaTemporality, sdkmetric.InstrumentKindHistogram: metricdata.DeltaTemporality,
			sdkmetric.InstrumentKindObservableCounter: metricdata.DeltaTemporality, sdkmetric.InstrumentKindUpDownCounter: metricdata.CumulativeTemporality},
		TemporalityLowMemory: {sdkmetric.InstrumentKindCounter: metricdata.DeltaTemporality, sdkmetric.InstrumentKindHistogram: metricdata.DeltaTemporality,
			sdkmetric.InstrumentKindObservableCounter: metricdata.CumulativeTemporality, sdkmetric.InstrumentKindUpDownCounter: metricdata.CumulativeTemporality},
	} {
		exp, err := NewMetricExporter(Config{URL: "http://127.0.0.1:1/v1/metrics", Temporality: pref})
		require.NoError(t, err)
		for kind, temporality := range want {
			assert.Equal(t, temporality, exp.Temporality(kind), "%q: %v", pref, kind)
		}
	}
}

// exportTo sends one span to the handler h with cfg, the URL set to h's.
func exportTo(t *testing.T, h http.HandlerFunc, cfg Config) error {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + "/v1/traces"
	exp, err := NewTraceExporter(cfg)
	require.NoError(t, err)
	return exp.ExportSpans(context.Background(), oneSpan(t))
}

func oneSpan(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	_, s := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("t").Start(context.Background(), "s")
	s.End()
	return rec.Ended()
}

func TestExport_SendsProtobufWithTheConfiguredHeaders(t *testing.T) {
	var got http.Header
	var body []byte
	err := exportTo(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		zr, err := gzip.NewReader(r.Body)
		require.NoError(t, err)
		body, _ = io.ReadAll(zr)
	}, Config{Headers: map[string]string{"Api-Key": "k-1"}, Gzip: true})
	require.NoError(t, err)
	assert.Equal(t, "application/x-protobuf", got.Get("Content-Type"))
	assert.Equal(t, "gzip", got.Get("Content-Encoding"))
	assert.Equal(t, "k-1", got.Get("Api-Key"))
	assert.Equal(t, userAgent, got.Get("User-Agent"))
	var req collectorpb.ExportTraceServiceRequest
	require.NoError(t, proto.Unmarshal(body, &req))
	assert.Equal(t, "s", req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetName())
}

func TestExport_RetriesABusyReceiver(t *testing.T) {
	for status, header := range map[int]string{http.StatusTooManyRequests: "", http.StatusServiceUnavailable: "1", http.StatusBadGateway: "", http.StatusGatewayTimeout: ""} {
		var attempts atomic.Int32
		start := time.Now()
		err := exportTo(t, func(w http.ResponseWriter, _ *http.Request) {
			if attempts.Add(1) == 1 {
				if header != "" {
					w.Header().Set("Retry-After", header)
				}
				w.WriteHeader(status)
			}
		}, Config{})
		require.NoError(t, err, "status %d", status)
		assert.Equal(t, int32(2), attempts.Load(), "status %d", status)
		if header != "" {
			assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After is honoured")
		}
	}
}

func TestExport_RetriesAnUnreachableReceiverUntilItsTimeout(t *testing.T) {
	exp, err := NewTraceExporter(Config{URL: "http://127.0.0.1:1/v1/traces", Timeout: 1200 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	err = exp.ExportSpans(context.Background(), oneSpan(t))
	require.Error(t, err)
	assert.Regexp(t, `^OTLP export to http://127.0.0.1:1/v1/traces: .*connection refused.* \(given up after [2-9] attempts within 1.2s\)$`, err.Error())
	assert.Less(t, time.Since(start), 2*time.Second, "within the timeout")
}

func TestExport_DoesNotRetryARefusalAndSaysWhy(t *testing.T) {
	status := protowire.AppendTag(nil, 1, protowire.VarintType)
	status = protowire.AppendVarint(status, 3)
	status = protowire.AppendTag(status, 2, protowire.BytesType)
	status = protowire.AppendString(status, "span 0: invalid trace id")
	var attempts atomic.Int32
	err := exportTo(t, func(w http.ResponseWriter, _ *http.Request) {
		attempts.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(status)
	}, Config{})
	require.Error(t, err)
	assert.Regexp(t, `OTLP export to http://127.0.0.1:\d+/v1/traces: 400 Bad Request: span 0: invalid trace id`, err.Error())
	assert.Equal(t, int32(1), attempts.Load())
}

func TestExport_PartialSuccessIsAnError(t *testing.T) {
	err := exportTo(t, func(w http.ResponseWriter, _ *http.Request) {
		b, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{PartialSuccess: &collectorpb.ExportTracePartialSuccess{RejectedSpans: 1, ErrorMessage: "too old"}})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}, Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rejected 1 spans: too old")
}

func TestExport_VerifiesTheReceiverWithTheCertificateFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	exp, err := NewTraceExporter(Config{URL: srv.URL + "/v1/traces", Certificate: ca})
	require.NoError(t, err)
	require.NoError(t, exp.ExportSpans(context.Background(), oneSpan(t)))

	exp, err = NewTraceExporter(Config{URL: srv.URL + "/v1/traces"})
	require.NoError(t, err)
	start := time.Now()
	assert.ErrorContains(t, exp.ExportSpans(context.Background(), oneSpan(t)), "certificate", "the system's CAs do not know the test server")
	assert.Less(t, time.Since(start), DefaultTimeout/2, "a refused certificate is not tried again")

	_, err = NewTraceExporter(Config{URL: srv.URL, Certificate: filepath.Join(t.TempDir(), "missing.pem")})
	assert.ErrorContains(t, err, "OTEL_EXPORTER_OTLP_CERTIFICATE")
}

func TestExport_FailsAfterShutdown(t *testing.T) {
	exp, err := NewTraceExporter(Config{URL: "http://127.0.0.1:1/v1/traces"})
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.ErrorIs(t, exp.ExportSpans(context.Background(), oneSpan(t)), errShutdown)
}
