// Package otlpreceiver is an OpenTelemetry collector's receiving end for
// tests: OTLP/HTTP (protobuf) on /v1/traces and /v1/metrics, on 127.0.0.1,
// decoding what exporters send with the OTLP protobuf definitions (their
// gRPC-free build, go.opentelemetry.io/proto/slim/otlp: the same wire
// format) and keeping it for the test to read. It imports nothing of the
// SDK: what it holds is what went over the wire. It has no gRPC side: the
// sidecar exports over HTTP only.
package otlpreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	collmetricspb "go.opentelemetry.io/proto/slim/otlp/collector/metrics/v1"
	colltracepb "go.opentelemetry.io/proto/slim/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/slim/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/slim/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/slim/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/slim/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Receiver receives OTLP over HTTP. It is safe for concurrent use.
type Receiver struct {
	httpServer *http.Server
	httpAddr   string

	mu      sync.Mutex // guards the fields below
	spans   []Span
	metrics []Metric
	// raw holds every export request as protobuf bytes: the body of an
	// OTLP/HTTP request as it came (uncompressed).
	raw [][]byte
	// changed is closed and replaced whenever something arrives.
	changed chan struct{}
}

// Span is one span received, with where it came from.
type Span struct {
	Resource  *resourcepb.Resource
	Scope     *commonpb.InstrumentationScope
	SchemaURL string
	*tracepb.Span
}

// Metric is one metric received, with where it came from.
type Metric struct {
	Resource *resourcepb.Resource
	Scope    *commonpb.InstrumentationScope
	*metricspb.Metric
}

// Start serves OTLP/HTTP on a free loopback port.
func Start() (*Receiver, error) {
	r := &Receiver{changed: make(chan struct{})}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("otlpreceiver: listen for HTTP: %w", err)
	}
	r.httpAddr = hl.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.serveTraces)
	mux.HandleFunc("POST /v1/metrics", r.serveMetrics)
	r.httpServer = &http.Server{Handler: mux}
	go func() { _ = r.httpServer.Serve(hl) }()
	return r, nil
}

// HTTPEndpoint is the OTEL_EXPORTER_OTLP_ENDPOINT of the receiver.
func (r *Receiver) HTTPEndpoint() string { return "http://" + r.httpAddr }

// Close stops the server.
func (r *Receiver) Close() error { return r.httpServer.Close() }

// Spans returns every span received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Metrics returns every metric received so far, in arrival order: with
// cumulative temporality, each export repeats the totals so far.
func (r *Receiver) Metrics() []Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Metric(nil), r.metrics...)
}

// Raw returns every export request received, as protobuf bytes.
func (r *Receiver) Raw() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.raw...)
}

// Changed returns a channel closed when the next export arrives.
func (r *Receiver) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Await waits until cond, called on every arrival, holds, or ctx ends.
func (r *Receiver) Await(ctx context.Context, cond func(*Receiver) bool) error {
	for {
		changed := r.Changed()
		if cond(r) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *Receiver) addTraces(req *colltracepb.ExportTraceServiceRequest, raw []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, Span{Resource: rs.GetResource(), Scope: ss.GetScope(), SchemaURL: ss.GetSchemaUrl(), Span: s})
			}
		}
	}
	r.arrived(raw)
}

func (r *Receiver) addMetrics(req *collmetricspb.ExportMetricsServiceRequest, raw []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				r.metrics = append(r.metrics, Metric{Resource: rm.GetResource(), Scope: sm.GetScope(), Metric: m})
			}
		}
	}
	r.arrived(raw)
}

// arrived keeps raw and wakes the waiters. Called with r.mu held.
func (r *Receiver) arrived(raw []byte) {
	r.raw = append(r.raw, raw)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Receiver) serveTraces(w http.ResponseWriter, req *http.Request) {
	raw, ok := readBody(w, req)
	if !ok {
		return
	}
	var msg colltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &msg); err != nil {
		http.Error(w, "not an ExportTraceServiceRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.addTraces(&msg, raw)
	writeResponse(w, &colltracepb.ExportTraceServiceResponse{})
}

func (r *Receiver) serveMetrics(w http.ResponseWriter, req *http.Request) {
	raw, ok := readBody(w, req)
	if !ok {
		return
	}
	var msg collmetricspb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(raw, &msg); err != nil {
		http.Error(w, "not an ExportMetricsServiceRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.addMetrics(&msg, raw)
	writeResponse(w, &collmetricspb.ExportMetricsServiceResponse{})
}

// readBody reads an OTLP/HTTP protobuf request's body, gunzipped.
func readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "only application/x-protobuf is received, not "+ct, http.StatusUnsupportedMediaType)
		return nil, false
	}
	body, err := io.ReadAll(req.Body)
	if err == nil && req.Header.Get("Content-Encoding") == "gzip" {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, err = io.ReadAll(zr)
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

func writeResponse(w http.ResponseWriter, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// Attributes turns OTLP attributes into Go values: string, int64, float64,
// bool, or, for other kinds, the value's text form.
func Attributes(kvs []*commonpb.KeyValue) map[string]any {
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = v.IntValue
		case *commonpb.AnyValue_DoubleValue:
			out[kv.GetKey()] = v.DoubleValue
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = v.BoolValue
		default:
			out[kv.GetKey()] = kv.GetValue().String()
		}
	}
	return out
}
