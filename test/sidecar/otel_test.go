package sidecare2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricspb "go.opentelemetry.io/proto/slim/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/slim/otlp/trace/v1"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/otlpreceiver"
)

// The app's trace context: the sidecar's span must be a child of span
// appSpanID of trace appTraceID.
const (
	appTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	appSpanID      = "00f067aa0ba902b7"
	appTraceparent = "00-" + appTraceID + "-" + appSpanID + "-01"
)

// Text no exported byte may hold: what the app asked and what it was
// answered.
const (
	promptSecret = "PROMPT-4c1d: what is the launch code of project bluebird"
	answerSecret = "ANSWER-9e2f the launch code is swordfish"
)

// exportWait bounds how long a span or metric may take to reach the
// receiver: the sidecars below export every 50 ms (spans) and 100 ms
// (metrics).
const exportWait = 10 * time.Second

// startReceiver starts an OTLP/HTTP receiver in this process.
func startReceiver(t *testing.T) *otlpreceiver.Receiver {
	t.Helper()
	r, err := otlpreceiver.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// startOTelSidecar starts a sidecar enforcing policyHead plus spec that
// exports to endpoint over OTLP/HTTP, quickly, with env added.
func startOTelSidecar(t *testing.T, mock *mockprovider.Server, endpoint, spec string, env ...string) *sidecar {
	t.Helper()
	return startOTelSidecarWithPolicy(t, mock, endpoint, policyHead+spec, env...)
}

// startOTelSidecarWithPolicy is startOTelSidecar with a whole policy, whose
// providers point at MOCK.
func startOTelSidecarWithPolicy(t *testing.T, mock *mockprovider.Server, endpoint, policy string, env ...string) *sidecar {
	t.Helper()
	path := t.TempDir() + "/policy.yaml"
	writeAtomically(t, path, withMock(policy, mock))
	s := launchWithEnv(t, path, append([]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint,
		"OTEL_BSP_SCHEDULE_DELAY=50",
		"OTEL_METRIC_EXPORT_INTERVAL=100",
	}, env...))
	s.waitStarted()
	s.waitReady()
	return s
}

// awaitSpan waits for the span named name and returns it.
func awaitSpan(t *testing.T, r *otlpreceiver.Receiver, name string) otlpreceiver.Span {
	t.Helper()
	return awaitSpanWhere(t, r, "named "+name, func(s otlpreceiver.Span) bool { return s.GetName() == name })
}

// awaitSpanWhere waits for a span that is (what says what) and returns it.
func awaitSpanWhere(t *testing.T, r *otlpreceiver.Receiver, what string, is func(otlpreceiver.Span) bool) otlpreceiver.Span {
	t.Helper()
	var found otlpreceiver.Span
	ctx, cancel := context.WithTimeout(context.Background(), exportWait)
	defer cancel()
	err := r.Await(ctx, func(r *otlpreceiver.Receiver) bool {
		for _, s := range r.Spans() {
			if is(s) {
				found = s
				return true
			}
		}
		return false
	})
	require.NoError(t, err, "no span %s; spans: %v", what, spanNames(r))
	return found
}

func spanNames(r *otlpreceiver.Receiver) []string {
	var names []string
	for _, s := range r.Spans() {
		names = append(names, s.GetName())
	}
	return names
}

// childrenOf are the spans whose parent is span, in start order.
func childrenOf(r *otlpreceiver.Receiver, span otlpreceiver.Span) []otlpreceiver.Span {
	var out []otlpreceiver.Span
	for _, s := range r.Spans() {
		if bytes.Equal(s.GetParentSpanId(), span.GetSpanId()) {
			out = append(out, s)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].GetStartTimeUnixNano() < out[j-1].GetStartTimeUnixNano(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// histogramPoints waits until the latest export of the histogram name has
// a data point matching every attribute of match, and returns the latest
// export's points that match.
func histogramPoints(t *testing.T, r *otlpreceiver.Receiver, name string, match map[string]any) []*metricspb.HistogramDataPoint {
	t.Helper()
	var found []*metricspb.HistogramDataPoint
	ctx, cancel := context.WithTimeout(context.Background(), exportWait)
	defer cancel()
	err := r.Await(ctx, func(r *otlpreceiver.Receiver) bool {
		found = nil
		var latest *metricspb.Metric
		for _, m := range r.Metrics() {
			if m.GetName() == name {
				latest = m.Metric
			}
		}
		for _, p := range latest.GetHistogram().GetDataPoints() {
			if matches(otlpreceiver.Attributes(p.GetAttributes()), match) {
				found = append(found, p)
			}
		}
		return len(found) > 0
	})
	require.NoError(t, err, "no data point of %s with %v", name, match)
	return found
}

func matches(attrs, want map[string]any) bool {
	for k, v := range want {
		if attrs[k] != v {
			return false
		}
	}
	return true
}

// assertNothingOf checks that no byte the receiver got holds any of texts.
func assertNothingOf(t *testing.T, r *otlpreceiver.Receiver, texts ...string) {
	t.Helper()
	raw := r.Raw()
	require.NotEmpty(t, raw)
	for _, b := range raw {
		for _, text := range texts {
			assert.NotContains(t, string(b), text, "exported telemetry holds content")
			// Nor any distinctive part of it.
			for _, part := range strings.Fields(text) {
				if len(part) >= 8 {
					assert.NotContains(t, string(b), part, "exported telemetry holds content")
				}
			}
		}
	}
}

// TestOTel_AChatIsAGenAISpanUnderTheAppsWithASpanPerAttempt sends a chat
// with the app's trace context through a sidecar that exports over
// OTLP/HTTP: the provider fails once and answers the retry. The receiver gets
// one GenAI client span, a child of the app's span, with the conventions'
// and Tollgate's attributes, and under it one span per attempt; the token
// and duration metrics; and nowhere the prompt or the answer. The provider
// gets no trace context.
func TestOTel_AChatIsAGenAISpanUnderTheAppsWithASpanPerAttempt(t *testing.T) {
	rcv := startReceiver(t)
	mock := startMock(t)
	sc := startOTelSidecar(t, mock, rcv.HTTPEndpoint(), `  retry: {maxAttempts: 2, backoff: {initial: 10ms, max: 10ms}}
`, "OTEL_RESOURCE_ATTRIBUTES=k8s.pod.name=chat-0,k8s.namespace.name=team-a")
	mock.Enqueue(mockprovider.Step{Status: http.StatusInternalServerError},
		mockprovider.Step{Content: answerSecret, Usage: &mockprovider.Usage{InputTokens: 21, CachedInputTokens: 5, OutputTokens: 9}})

	var raw *http.Response
	c := sc.openAI()
	completion, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(promptSecret)},
	}, option.WithHeader("traceparent", appTraceparent), option.WithHeader("tracestate", "app=1"),
		option.WithHeader("baggage", "user.id=alice"), requestID("otel-chat"), option.WithResponseInto(&raw))
	require.NoError(t, err)
	require.Equal(t, answerSecret, completion.Choices[0].Message.Content)
	assert.Equal(t, "2", raw.Header.Get("X-Tollgate-Attempts"))

	span := awaitSpan(t, rcv, "chat gpt-4o-mini")
	assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, span.GetKind())
	assert.Equal(t, appTraceID, hex.EncodeToString(span.GetTraceId()), "the app's trace goes on")
	assert.Equal(t, appSpanID, hex.EncodeToString(span.GetParentSpanId()), "the sidecar's span is a child of the app's")
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, span.GetStatus().GetCode())
	mockURL, err := url.Parse(mock.URL())
	require.NoError(t, err)
	mockPort, err := strconv.Atoi(mockURL.Port())
	require.NoError(t, err)
	log := sc.requestLog("otel-chat")
	attrs := otlpreceiver.Attributes(span.GetAttributes())
	for k, v := range map[string]any{
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-4o-mini",
		"gen_ai.response.model":                "gpt-4o-mini",
		"gen_ai.request.stream":                false,
		"gen_ai.usage.input_tokens":            int64(21),
		"gen_ai.usage.output_tokens":           int64(9),
		"gen_ai.usage.cache_read.input_tokens": int64(5),
		"server.address":                       "127.0.0.1",
		"server.port":                          int64(mockPort),
		"http.response.status_code":            int64(200),
		"tollgate.policy":                      policyRef,
		"tollgate.provider":                    "openai",
		"tollgate.attempts":                    int64(2),
		"tollgate.fallback.rung":               int64(0),
		"tollgate.end":                         "complete",
		"tollgate.request_id":                  "otel-chat",
		"tollgate.cost.usd":                    log["cost_usd"],
	} {
		assert.Equal(t, v, attrs[k], "span attribute %s", k)
	}
	assert.NotEmpty(t, log["cost_usd"], "the log prices the answer too")
	assert.NotContains(t, attrs, "error.type")
	assert.NotContains(t, attrs, "gen_ai.usage.reasoning.output_tokens", "the answer reports none")
	res := otlpreceiver.Attributes(span.Resource.GetAttributes())
	assert.Equal(t, "tollgate-sidecar", res["service.name"])
	assert.Equal(t, "chat-0", res["k8s.pod.name"], "OTEL_RESOURCE_ATTRIBUTES")
	assert.Equal(t, "team-a", res["k8s.namespace.name"])

	attempts := childrenOf(rcv, span)
	require.Len(t, attempts, 2, "one span per attempt: %v", spanNames(rcv))
	for i, want := range []struct {
		status    int64
		errorType any
	}{{500, "500"}, {200, nil}} {
		a := otlpreceiver.Attributes(attempts[i].GetAttributes())
		assert.Equal(t, "POST", attempts[i].GetName())
		assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, attempts[i].GetKind())
		assert.Equal(t, want.status, a["http.response.status_code"], "attempt %d", i+1)
		assert.Equal(t, want.errorType, a["error.type"], "attempt %d", i+1)
		assert.Equal(t, int64(i+1), a["tollgate.attempt"])
		assert.Equal(t, "openai", a["tollgate.provider"])
		assert.Equal(t, "gpt-4o-mini", a["tollgate.model"])
		assert.Equal(t, mock.URL()+"/v1/chat/completions", a["url.full"])
		assert.NotContains(t, a, "gen_ai.usage.input_tokens", "tokens are the request span's alone")
	}

	metricAttrs := map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "server.address": "127.0.0.1"}
	for typ, tokens := range map[string]float64{"input": 21, "output": 9} {
		points := histogramPoints(t, rcv, "gen_ai.client.token.usage", with(metricAttrs, "gen_ai.token.type", typ))
		require.Len(t, points, 1)
		assert.Equal(t, uint64(1), points[0].GetCount())
		assert.Equal(t, tokens, points[0].GetSum(), "%s tokens", typ)
	}
	duration := histogramPoints(t, rcv, "gen_ai.client.operation.duration", metricAttrs)
	require.Len(t, duration, 1)
	assert.Equal(t, uint64(1), duration[0].GetCount())
	assert.NotContains(t, otlpreceiver.Attributes(duration[0].GetAttributes()), "error.type")

	for _, r := range mock.Requests() {
		for _, h := range []string{"Traceparent", "Tracestate", "Baggage"} {
			assert.Empty(t, r.Header.Get(h), "the provider got the app's %s", h)
		}
	}
	assertNothingOf(t, rcv, promptSecret, answerSecret)
}

func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{k: v}
	for mk, mv := range m {
		out[mk] = mv
	}
	return out
}

// TestOTel_UsageFailuresAndRefusals exports over OTLP/HTTP protobuf,
// gzipped: a real Anthropic stream that read its prompt from the cache, a
// real OpenAI answer with reasoning tokens, a provider's error, a refusal,
// and a model the policy does not know. Each has its span; the metrics
// count the unknown model under (other), the stream's time to first
// chunk, and the failure's error.type.
func TestOTel_UsageFailuresAndRefusals(t *testing.T) {
	rcv := startReceiver(t)
	mock := startMock(t)
	sc := startOTelSidecar(t, mock, rcv.HTTPEndpoint(), `  retry: {maxAttempts: 1}
`, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_EXPORTER_OTLP_COMPRESSION=gzip")
	cacheRead := loadCapture(t, "anthropic-sonnet45-stream-cache-read")
	c, claude := sc.openAI(), sc.anthropic()
	reasoning := loadCapture(t, "openai-chat-reasoning")

	mock.Enqueue(mockprovider.Step{Body: string(cacheRead.body)})
	stream := claude.Messages.NewStreaming(context.Background(), messageParams("claude-sonnet-4-5"))
	for stream.Next() {
	}
	require.NoError(t, stream.Err())
	span := awaitSpan(t, rcv, "chat claude-sonnet-4-5")
	attrs := otlpreceiver.Attributes(span.GetAttributes())
	for k, v := range map[string]any{
		"gen_ai.provider.name":                 "anthropic",
		"gen_ai.request.stream":                true,
		"gen_ai.response.model":                "claude-sonnet-4-5-20250929",
		"gen_ai.usage.input_tokens":            int64(1594),
		"gen_ai.usage.cache_read.input_tokens": int64(1591),
		"gen_ai.usage.output_tokens":           int64(4),
	} {
		assert.Equal(t, v, attrs[k], "stream span attribute %s", k)
	}
	assert.Empty(t, span.GetParentSpanId(), "without the app's trace context the span is a root")
	assert.Positive(t, attrs["gen_ai.response.time_to_first_chunk"])
	histogramPoints(t, rcv, "gen_ai.client.operation.time_to_first_chunk", map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5"})

	mock.Enqueue(mockprovider.Step{Body: string(reasoning.body)})
	_, err := c.Chat.Completions.New(context.Background(), chatParams("gpt-5-nano"))
	require.NoError(t, err)
	attrs = otlpreceiver.Attributes(awaitSpan(t, rcv, "chat gpt-5-nano").GetAttributes())
	assert.Equal(t, int64(192), attrs["gen_ai.usage.reasoning.output_tokens"])
	assert.Equal(t, int64(267), attrs["gen_ai.usage.output_tokens"], "reasoning is part of the output")
	assert.Equal(t, "gpt-5-nano-2025-08-07", attrs["gen_ai.response.model"])

	mock.Enqueue(mockprovider.Step{Status: http.StatusServiceUnavailable})
	_, err = c.Chat.Completions.New(context.Background(), chatParams("gpt-4o"))
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	failed := awaitSpan(t, rcv, "chat gpt-4o")
	attrs = otlpreceiver.Attributes(failed.GetAttributes())
	assert.Equal(t, "server_error", attrs["error.type"])
	assert.Equal(t, int64(503), attrs["http.response.status_code"])
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, failed.GetStatus().GetCode())
	attempts := childrenOf(rcv, failed)
	require.Len(t, attempts, 1)
	assert.Equal(t, "503", otlpreceiver.Attributes(attempts[0].GetAttributes())["error.type"])
	histogramPoints(t, rcv, "gen_ai.client.operation.duration", map[string]any{"gen_ai.request.model": "gpt-4o", "error.type": "server_error"})

	resp := sc.send(rawPost("/nowhere/v1/chat/completions", chatBody("gpt-4o")))
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	refused := awaitSpanWhere(t, rcv, "of request "+rawRequestID, func(s otlpreceiver.Span) bool {
		return otlpreceiver.Attributes(s.GetAttributes())["tollgate.request_id"] == rawRequestID
	})
	assert.Equal(t, "POST", refused.GetName(), "named for its method")
	attrs = otlpreceiver.Attributes(refused.GetAttributes())
	assert.Equal(t, "tollgate_unknown_provider", attrs["error.type"])
	assert.NotContains(t, attrs, "gen_ai.operation.name", "no GenAI operation: no provider took it")
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, refused.GetStatus().GetCode())

	made := fmt.Sprintf("made-up-%d", time.Now().UnixNano())
	_, err = c.Chat.Completions.New(context.Background(), chatParams(made))
	require.NoError(t, err)
	assert.Equal(t, made, otlpreceiver.Attributes(awaitSpan(t, rcv, "chat "+made).GetAttributes())["gen_ai.request.model"],
		"a span keeps the model the app named")
	histogramPoints(t, rcv, "gen_ai.client.operation.duration", map[string]any{"gen_ai.request.model": "(other)"})
	for _, m := range rcv.Metrics() {
		for _, p := range m.GetHistogram().GetDataPoints() {
			for _, v := range otlpreceiver.Attributes(p.GetAttributes()) {
				assert.NotEqual(t, made, v, "%s: a model the app made up became a metric attribute", m.GetName())
			}
		}
	}
	assertNothingOf(t, rcv, "Say hello", "Ball costs 5 cents", `"orange"`)
}

// TestOTel_GRPCIsRefusedAtStartWithWhatToUse: the sidecar speaks OTLP over
// HTTP only, and says so rather than exporting nothing.
func TestOTel_GRPCIsRefusedAtStartWithWhatToUse(t *testing.T) {
	path := t.TempDir() + "/policy.yaml"
	writeAtomically(t, path, policyHead)
	sc := launchWithEnv(t, path, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"})
	sc.mayExit = true
	select {
	case <-sc.process.Exited():
	case <-time.After(startWait):
		t.Fatal("the sidecar started with OTLP over gRPC")
	}
	assert.Equal(t, 2, sc.process.State().ExitCode())
	assert.Contains(t, sc.logs.String(), `tollgate-sidecar: OpenTelemetry settings: OTEL_EXPORTER_OTLP_PROTOCOL "grpc": `+
		`the sidecar exports OTLP over HTTP only, not gRPC: use http/protobuf, and the receiver's OTLP/HTTP port (an OpenTelemetry Collector's 4318)`)
}

// forwardingPolicy has a hosted provider (openai) and a self-hosted one
// (vllm) that continues the app's trace, both the mock.
const forwardingPolicy = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK}
    - {name: vllm, type: OpenAICompatible, baseURL: MOCK, forwardTraceContext: true}
  retry: {maxAttempts: 1}
`

// sendWithAppTrace sends a chat for model to provider's route with the
// app's traceparent, tracestate and baggage, and returns the request the
// mock got for it.
func sendWithAppTrace(t *testing.T, sc *sidecar, mock *mockprovider.Server, provider, model, id string) mockprovider.Request {
	t.Helper()
	c := sc.openAIClient(provider)
	_, err := c.Chat.Completions.New(context.Background(), chatParams(model),
		option.WithHeader("traceparent", appTraceparent), option.WithHeader("tracestate", "app=1"),
		option.WithHeader("baggage", "user.id=alice"), requestID(id))
	require.NoError(t, err)
	for _, r := range mock.Requests() {
		if r.Header.Get("X-Request-Id") == id {
			return r
		}
	}
	t.Fatalf("the mock got no request %s", id)
	return mockprovider.Request{}
}

// TestOTel_TraceContextGoesOnToAForwardingProviderAsTheAttemptsChild: a
// hosted provider gets no trace context at all; a self-hosted one with
// forwardTraceContext gets a traceparent of the app's trace whose parent
// is the attempt span the sidecar exported, so that its own span hangs
// under the attempt; neither ever gets the baggage.
func TestOTel_TraceContextGoesOnToAForwardingProviderAsTheAttemptsChild(t *testing.T) {
	rcv := startReceiver(t)
	mock := startMock(t)
	sc := startOTelSidecarWithPolicy(t, mock, rcv.HTTPEndpoint(), forwardingPolicy)

	hosted := sendWithAppTrace(t, sc, mock, "openai", "gpt-4o-mini", "otel-hosted")
	for _, h := range []string{"Traceparent", "Tracestate", "Baggage"} {
		assert.Empty(t, hosted.Header.Values(h), "the hosted provider got %s", h)
	}

	self := sendWithAppTrace(t, sc, mock, "vllm", "llama-3.1-8b", "otel-self")
	assert.Empty(t, self.Header.Values("Baggage"), "baggage is never forwarded")
	assert.Equal(t, []string{"app=1"}, self.Header.Values("Tracestate"), "the app's tracestate goes on with its trace")
	parts := strings.Split(self.Header.Get("Traceparent"), "-")
	require.Len(t, parts, 4, "a W3C traceparent: %q", self.Header.Get("Traceparent"))
	assert.Equal(t, "00", parts[0])
	assert.Equal(t, appTraceID, parts[1], "the app's trace goes on")
	assert.Equal(t, "01", parts[3], "sampled")

	span := awaitSpan(t, rcv, "chat llama-3.1-8b")
	assert.Equal(t, appSpanID, hex.EncodeToString(span.GetParentSpanId()))
	attempts := childrenOf(rcv, span)
	require.Len(t, attempts, 1, "spans: %v", spanNames(rcv))
	assert.Equal(t, appTraceID, hex.EncodeToString(attempts[0].GetTraceId()))
	assert.Equal(t, hex.EncodeToString(attempts[0].GetSpanId()), parts[2], "the provider's parent is the sidecar's attempt span")
	assert.NotEqual(t, appSpanID, parts[2], "not the app's own span")
}

// TestOTel_WithTelemetryOffAForwardingProviderGetsTheAppsTraceContext:
// without OpenTelemetry the sidecar has no span of its own, so a provider
// with forwardTraceContext gets the app's traceparent and tracestate as
// they came, the others none; nobody gets the baggage.
func TestOTel_WithTelemetryOffAForwardingProviderGetsTheAppsTraceContext(t *testing.T) {
	mock := startMock(t)
	path := t.TempDir() + "/policy.yaml"
	writeAtomically(t, path, withMock(forwardingPolicy, mock))
	sc := startSidecar(t, path)

	hosted := sendWithAppTrace(t, sc, mock, "openai", "gpt-4o-mini", "off-hosted")
	for _, h := range []string{"Traceparent", "Tracestate", "Baggage"} {
		assert.Empty(t, hosted.Header.Values(h), "the hosted provider got %s", h)
	}
	self := sendWithAppTrace(t, sc, mock, "vllm", "llama-3.1-8b", "off-self")
	assert.Equal(t, []string{appTraceparent}, self.Header.Values("Traceparent"))
	assert.Equal(t, []string{"app=1"}, self.Header.Values("Tracestate"))
	assert.Empty(t, self.Header.Values("Baggage"), "baggage is never forwarded")
}
