package llmclient_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// The app's trace context, as its instrumented HTTP client sends it.
const (
	appTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	appTraceparent = "00-" + appTraceID + "-00f067aa0ba902b7-01"
	appTracestate  = "app=1"
	appBaggage     = "user.id=alice"
)

// upstream answers chats, the first answer failing when failFirst, and
// keeps the headers of every request it got.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func startUpstream(t *testing.T, failFirst bool) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		n := len(u.headers)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if failFirst && n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"message":"busy","type":"server_error"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) got() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.headers...)
}

// forwardingTransport serves hosted (ForwardTraceContext false) and
// selfhosted (true), both at up, retrying a 503 once.
func forwardingTransport(t *testing.T, up *upstream) *llmclient.Transport {
	t.Helper()
	return transportOf(t, forwardingPolicy(up))
}

// forwardingPolicy is forwardingTransport's policy.
func forwardingPolicy(up *upstream) proxyconfig.Policy {
	second := proxyconfig.Duration(time.Second)
	return proxyconfig.Policy{
		Name: "chat", Namespace: "team-a",
		Providers: []proxyconfig.Provider{
			{Name: "hosted", Type: proxyconfig.OpenAI, BaseURL: up.URL},
			{Name: "selfhosted", Type: proxyconfig.OpenAICompatible, BaseURL: up.URL, ForwardTraceContext: true},
		},
		Timeouts: proxyconfig.Timeouts{Connect: second, FirstToken: 5 * second, Total: 10 * second},
		Retry: &proxyconfig.Retry{MaxAttempts: 2, BackoffInitial: proxyconfig.Duration(time.Millisecond), BackoffMax: proxyconfig.Duration(time.Millisecond),
			Jitter: proxyconfig.JitterNone, RetryOn: []proxyconfig.RetryCondition{proxyconfig.RetryOnServerError},
			MaxRetryAfter: second, BudgetPercent: 100},
	}
}

// transportOf is a Transport of p, which must be valid.
func transportOf(t *testing.T, p proxyconfig.Policy) *llmclient.Transport {
	t.Helper()
	require.NoError(t, p.Validate())
	tr, err := llmclient.New(p, llmclient.Options{})
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// chat sends a chat to provider through tr with the app's trace headers,
// in ctx.
func chat(t *testing.T, ctx context.Context, tr *llmclient.Transport, provider string, appHeaders bool) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://sidecar/"+provider+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if appHeaders {
		req.Header.Set("Traceparent", appTraceparent)
		req.Header.Set("Tracestate", appTracestate)
		req.Header.Set("Baggage", appBaggage)
	}
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
}

func TestTraceContext_GoesOnlyToProvidersThatForwardItAndNeverBaggage(t *testing.T) {
	tests := map[string]struct {
		provider   string
		appHeaders bool
		want       http.Header // of the trace headers, what the provider gets
	}{
		"a hosted provider gets none of the app's": {provider: "hosted", appHeaders: true, want: http.Header{}},
		"a forwarding provider gets the app's traceparent and tracestate, unchanged": {provider: "selfhosted", appHeaders: true,
			want: http.Header{"Traceparent": {appTraceparent}, "Tracestate": {appTracestate}}},
		"a forwarding provider gets nothing when the app sent nothing": {provider: "selfhosted", want: http.Header{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			up := startUpstream(t, false)
			chat(t, context.Background(), forwardingTransport(t, up), tc.provider, tc.appHeaders)
			got := up.got()
			require.Len(t, got, 1)
			assert.Equal(t, tc.want, traceHeaders(got[0]))
		})
	}
}

func traceHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Traceparent", "Tracestate", "Baggage"} {
		if vs := h.Values(k); len(vs) > 0 {
			out[k] = vs
		}
	}
	return out
}

// TestTraceContext_AForwardingProviderGetsEachAttemptsSpan: with a
// recording span in the request's context (the sidecar's, under the
// app's), each attempt's request carries the attempt span's own context,
// so that the provider's span is the attempt's child.
func TestTraceContext_AForwardingProviderGetsEachAttemptsSpan(t *testing.T) {
	for _, provider := range []string{"selfhosted", "hosted"} {
		t.Run(provider, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			app := propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier{
				"Traceparent": {appTraceparent}, "Tracestate": {appTracestate}})
			ctx, span := tp.Tracer("test").Start(app, "chat gpt-4o")
			up := startUpstream(t, true)
			chat(t, ctx, forwardingTransport(t, up), provider, true)
			span.End()

			got := up.got()
			require.Len(t, got, 2, "a failed attempt and its retry")
			var attempts []sdktrace.ReadOnlySpan
			for _, s := range rec.Ended() {
				if s.Parent().SpanID() == span.SpanContext().SpanID() {
					attempts = append(attempts, s)
				}
			}
			require.Len(t, attempts, 2)
			for i, h := range got {
				if provider == "hosted" {
					assert.Empty(t, traceHeaders(h), "attempt %d", i+1)
					continue
				}
				sc := propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(h))
				remote := trace.SpanContextFromContext(sc)
				require.True(t, remote.IsValid(), "attempt %d: traceparent %q", i+1, h.Get("Traceparent"))
				assert.Equal(t, appTraceID, remote.TraceID().String(), "the app's trace goes on")
				assert.Equal(t, attempts[i].SpanContext().SpanID(), remote.SpanID(), "attempt %d: the provider's parent is the attempt's span", i+1)
				assert.True(t, remote.IsSampled())
				assert.Equal(t, appTracestate, h.Get("Tracestate"))
				assert.Empty(t, h.Values("Baggage"))
			}
		})
	}
}

// embeddingUpstream answers embeddings (the first with a 503) and chats,
// and keeps the headers of each embeddings request.
func embeddingUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	embeddings := 0
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "/embeddings") {
			_, _ = w.Write([]byte(`{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`))
			return
		}
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		embeddings++
		n := embeddings
		u.mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"message":"busy","type":"server_error"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}`))
	}))
	t.Cleanup(u.Close)
	return u
}

// TestTraceContext_TheSemanticCachesEmbeddingIsTracedLikeAnAttempt: the
// embedding call the sidecar makes before a request gets CLIENT spans
// under the request's span, one per attempt, marked tollgate.embedding;
// a forwarding embedding provider gets each one's context, a hosted one
// none of it.
func TestTraceContext_TheSemanticCachesEmbeddingIsTracedLikeAnAttempt(t *testing.T) {
	for _, embedder := range []string{"selfhosted", "hosted"} {
		t.Run(embedder, func(t *testing.T) {
			up := embeddingUpstream(t)
			tr := semanticTransport(t, up, embedder)
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			app := propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier{"Traceparent": {appTraceparent}})
			ctx, span := tp.Tracer("test").Start(app, "chat gpt-4o")
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://sidecar/"+embedder+"/v1/chat/completions",
				strings.NewReader(`{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"how do I reset my password?"}]}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Traceparent", appTraceparent)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			_, _ = io.Copy(io.Discard, resp.Body)
			require.NoError(t, resp.Body.Close())
			span.End()

			var embeddingSpans, chatSpans []sdktrace.ReadOnlySpan
			for _, s := range rec.Ended() {
				if s.Parent().SpanID() != span.SpanContext().SpanID() {
					continue
				}
				if attributeOf(s, llmclient.AttrEmbedding).AsBool() {
					embeddingSpans = append(embeddingSpans, s)
				} else {
					chatSpans = append(chatSpans, s)
				}
			}
			require.Len(t, embeddingSpans, 2, "the failed embedding attempt and its retry")
			require.Len(t, chatSpans, 1)
			for i, s := range embeddingSpans {
				assert.Equal(t, trace.SpanKindClient, s.SpanKind())
				assert.Equal(t, int64(i+1), attributeOf(s, llmclient.AttrAttempt).AsInt64(), "the embedding's own attempt number")
				assert.Equal(t, "text-embedding-3-small", attributeOf(s, llmclient.AttrModel).AsString())
				assert.Equal(t, embedder, attributeOf(s, llmclient.AttrProvider).AsString())
			}
			assert.Equal(t, int64(503), attributeOf(embeddingSpans[0], "http.response.status_code").AsInt64())
			assert.Equal(t, int64(200), attributeOf(embeddingSpans[1], "http.response.status_code").AsInt64())
			assert.False(t, attributeOf(chatSpans[0], llmclient.AttrEmbedding).AsBool())

			got := up.got()
			require.Len(t, got, 2)
			for i, h := range got {
				if embedder == "hosted" {
					assert.Empty(t, traceHeaders(h), "embedding attempt %d", i+1)
					continue
				}
				remote := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(h)))
				require.True(t, remote.IsValid(), "embedding attempt %d: traceparent %q", i+1, h.Get("Traceparent"))
				assert.Equal(t, appTraceID, remote.TraceID().String())
				assert.Equal(t, embeddingSpans[i].SpanContext().SpanID(), remote.SpanID(), "the server's parent is the embedding attempt's span")
			}
		})
	}
}

// semanticTransport is forwardingTransport's policy with a semantic cache
// whose embeddings embedder makes.
func semanticTransport(t *testing.T, up *upstream, embedder string) *llmclient.Transport {
	t.Helper()
	p := forwardingPolicy(up)
	p.Cache = &proxyconfig.Cache{TTL: proxyconfig.Duration(time.Hour), MaxEntries: 10, OnlyDeterministic: true,
		Semantic: &proxyconfig.SemanticCache{Embedding: proxyconfig.Embedding{Provider: embedder, Model: "text-embedding-3-small", Timeout: proxyconfig.Duration(5 * time.Second)},
			Threshold: 0.95, MaxEntries: 10, TTL: proxyconfig.Duration(time.Hour)}}
	return transportOf(t, p)
}

// attributeOf is the value of s's attribute key (the zero Value if none).
func attributeOf(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}
