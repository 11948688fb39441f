package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// recorded is a Telemetry whose spans and metrics stay in memory.
type recorded struct {
	*Telemetry
	spans   *tracetest.SpanRecorder
	metrics *sdkmetric.ManualReader
}

func newRecorded(t *testing.T) recorded {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	tel := &Telemetry{
		tp:         sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		mp:         sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		metrics:    true,
		modelLabel: func(_, m string) string { return "label:" + m },
	}
	tel.tracer = tel.tp.Tracer(scopeName)
	require.NoError(t, tel.instruments(tel.mp.Meter(scopeName)))
	tel.Configure(nil)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return recorded{Telemetry: tel, spans: spans, metrics: reader}
}

// serve sends one request through tel's Handler in front of next.
func (r recorded) serve(next http.HandlerFunc, header ...string) {
	req := httptest.NewRequest(http.MethodPost, "/openai/v1/chat/completions", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r.Handler(next).ServeHTTP(httptest.NewRecorder(), req)
}

// collect returns the histograms recorded so far, by name.
func (r recorded) collect(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.metrics.Collect(context.Background(), &rm))
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

func TestHandler_IsTheHandlerItselfWithoutTraces(t *testing.T) {
	next := &noop{}
	tel := &Telemetry{}
	assert.Same(t, next, tel.Handler(next))
}

func TestHandler_ContinuesTheAppsTraceAndObserveEndsTheSpan(t *testing.T) {
	r := newRecorded(t)
	r.Configure(transportFor(t))
	r.serve(func(w http.ResponseWriter, req *http.Request) {
		rep := answered()
		rep.Span = trace.SpanFromContext(req.Context())
		r.Observe(rep)
	}, "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")

	ended := r.spans.Ended()
	require.Len(t, ended, 1, "one span, ended once")
	s := ended[0]
	assert.Equal(t, "chat gpt-4o", s.Name())
	assert.Equal(t, trace.SpanKindClient, s.SpanKind())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", s.SpanContext().TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", s.Parent().SpanID().String())
	assert.True(t, s.Parent().IsRemote())
	assert.Equal(t, codes.Unset, s.Status().Code)
	attrs := values(s.Attributes())
	assert.Equal(t, "api.openai.com", attrs["server.address"], "from the loaded policy")
	assert.Equal(t, "openai", attrs["gen_ai.provider.name"])
}

func TestHandler_ARequestNoTransportServedEndsItsSpanWithTheRefusal(t *testing.T) {
	r := newRecorded(t)
	r.serve(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(llmclient.HeaderReason, llmclient.CodeNoPolicy)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ended := r.spans.Ended()
	require.Len(t, ended, 1)
	assert.Equal(t, "POST", ended[0].Name())
	assert.Equal(t, codes.Error, ended[0].Status().Code)
	assert.Equal(t, "tollgate_no_policy", values(ended[0].Attributes())["error.type"])
}

func TestHandler_AnUnsampledTraceRecordsNoSpanButMetrics(t *testing.T) {
	r := newRecorded(t)
	r.serve(func(w http.ResponseWriter, req *http.Request) {
		rep := answered()
		rep.Span = trace.SpanFromContext(req.Context())
		assert.False(t, rep.Span.IsRecording(), "the app did not sample its trace")
		r.Observe(rep)
	}, "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	assert.Empty(t, r.spans.Ended())
	assert.Contains(t, r.collect(t), "gen_ai.client.operation.duration")
}

func TestObserve_RecordsTheGenAIMetrics(t *testing.T) {
	r := newRecorded(t)
	r.Configure(transportFor(t))
	stream := answered()
	stream.Stream, stream.AnswerBytes = true, 100
	r.Observe(stream)
	failed := answered()
	failed.Usage, failed.Status, failed.Failure = provider.Usage{}, 500, "server_error"
	r.Observe(failed)
	other := answered()
	other.Shape = provider.ShapeOther
	r.Observe(other) // no GenAI operation: no measurement

	got := r.collect(t)
	tokens := got["gen_ai.client.token.usage"].(metricdata.Histogram[int64])
	byType := map[string]int64{}
	for _, p := range tokens.DataPoints {
		typ, _ := p.Attributes.Value("gen_ai.token.type")
		byType[typ.AsString()] += p.Sum
		model, _ := p.Attributes.Value("gen_ai.request.model")
		assert.Equal(t, "label:gpt-4o", model.AsString(), "models are bounded by ModelLabel")
		response, _ := p.Attributes.Value("gen_ai.response.model")
		assert.Equal(t, "label:gpt-4o-2024-08-06", response.AsString())
	}
	assert.Equal(t, map[string]int64{"input": 120, "output": 50}, byType, "the failed request reported no usage")

	duration := got["gen_ai.client.operation.duration"].(metricdata.Histogram[float64])
	var count uint64
	var failures int
	for _, p := range duration.DataPoints {
		count += p.Count
		if e, ok := p.Attributes.Value("error.type"); ok {
			assert.Equal(t, "server_error", e.AsString())
			failures++
		}
	}
	assert.Equal(t, uint64(2), count, "the chat and the failure, not the other request")
	assert.Equal(t, 1, failures)

	first := got["gen_ai.client.operation.time_to_first_chunk"].(metricdata.Histogram[float64])
	require.Len(t, first.DataPoints, 1, "streams only")
	assert.Equal(t, uint64(1), first.DataPoints[0].Count)
	assert.InDelta(t, 0.3, first.DataPoints[0].Sum, 1e-9)
}

type noop struct{}

func (*noop) ServeHTTP(http.ResponseWriter, *http.Request) {}

// transportFor is a Transport of a policy with an openai provider.
func transportFor(t *testing.T) *llmclient.Transport {
	t.Helper()
	p := proxyconfig.Policy{
		Name: "chat", Namespace: "team-a",
		Providers: []proxyconfig.Provider{{Name: "openai", Type: proxyconfig.OpenAI, BaseURL: "https://api.openai.com"}},
		Timeouts:  proxyconfig.Timeouts{Connect: proxyconfig.Duration(1e9), FirstToken: proxyconfig.Duration(1e9), Total: proxyconfig.Duration(1e9)},
	}
	tr, err := llmclient.New(p, llmclient.Options{})
	require.NoError(t, err)
	return tr
}
