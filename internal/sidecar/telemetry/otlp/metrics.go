package otlp

import (
	"context"
	"errors"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	collectorpb "go.opentelemetry.io/proto/slim/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/slim/otlp/metrics/v1"
)

// MetricExporter sends metrics over OTLP/HTTP: an sdkmetric.Exporter for
// a periodic reader. It sends gauges, sums and explicit-bucket histograms,
// the aggregations of the SDK's default views; it is safe for concurrent
// use.
type MetricExporter struct {
	c           *client
	temporality sdkmetric.TemporalitySelector
}

var _ sdkmetric.Exporter = (*MetricExporter)(nil)

// NewMetricExporter is the exporter of cfg (see FromEnv). It connects on
// its first export; certificate files are read now.
func NewMetricExporter(cfg Config) (*MetricExporter, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &MetricExporter{c: c, temporality: temporalitySelector(cfg.Temporality)}, nil
}

// temporalitySelector follows the specification's preferences: delta
// for the instruments whose sums only grow (counters, histograms), and
// lowmemory for the synchronous ones only.
func temporalitySelector(preference string) sdkmetric.TemporalitySelector {
	switch preference {
	case TemporalityDelta:
		return func(k sdkmetric.InstrumentKind) metricdata.Temporality {
			switch k {
			case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindObservableCounter, sdkmetric.InstrumentKindHistogram:
				return metricdata.DeltaTemporality
			}
			return metricdata.CumulativeTemporality
		}
	case TemporalityLowMemory:
		return func(k sdkmetric.InstrumentKind) metricdata.Temporality {
			switch k {
			case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram:
				return metricdata.DeltaTemporality
			}
			return metricdata.CumulativeTemporality
		}
	}
	return sdkmetric.DefaultTemporalitySelector
}

// Temporality is the temporality of kind's metrics, as preferred.
func (e *MetricExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return e.temporality(k)
}

// Aggregation is the SDK's default for kind.
func (e *MetricExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

// Export sends rm in one request. A metric of an aggregation the exporter
// does not send is left out, and named in the error.
func (e *MetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	req, skipped := metricsRequest(rm)
	if len(req.GetResourceMetrics()[0].GetScopeMetrics()) == 0 {
		return skipped
	}
	var resp collectorpb.ExportMetricsServiceResponse
	if err := e.c.export(ctx, req, &resp); err != nil {
		return errors.Join(err, skipped)
	}
	if p := resp.GetPartialSuccess(); p.GetRejectedDataPoints() != 0 || p.GetErrorMessage() != "" {
		return errors.Join(skipped, fmt.Errorf("OTLP receiver %s rejected %d data points: %s", e.c.redacted, p.GetRejectedDataPoints(), p.GetErrorMessage()))
	}
	return skipped
}

// ForceFlush has nothing to do: the exporter holds nothing.
func (e *MetricExporter) ForceFlush(context.Context) error { return nil }

// Shutdown stops the exporter: later exports fail.
func (e *MetricExporter) Shutdown(context.Context) error {
	e.c.shutdown()
	return nil
}

// metricsRequest is rm as an export request, and an error naming the
// metrics left out.
func metricsRequest(rm *metricdata.ResourceMetrics) (*collectorpb.ExportMetricsServiceRequest, error) {
	out := &metricspb.ResourceMetrics{Resource: resourceOf(rm.Resource), SchemaUrl: rm.Resource.SchemaURL()}
	var errs []error
	for _, sm := range rm.ScopeMetrics {
		scope := &metricspb.ScopeMetrics{Scope: scopeOf(sm.Scope), SchemaUrl: sm.Scope.SchemaURL}
		for _, m := range sm.Metrics {
			pm := &metricspb.Metric{Name: m.Name, Description: m.Description, Unit: m.Unit}
			if err := setData(pm, m.Data); err != nil {
				errs = append(errs, fmt.Errorf("metric %s not exported: %w", m.Name, err))
				continue
			}
			scope.Metrics = append(scope.Metrics, pm)
		}
		if len(scope.Metrics) > 0 {
			out.ScopeMetrics = append(out.ScopeMetrics, scope)
		}
	}
	return &collectorpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{out}}, errors.Join(errs...)
}

func setData(m *metricspb.Metric, data metricdata.Aggregation) error {
	switch a := data.(type) {
	case metricdata.Gauge[int64]:
		m.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: numberPoints(a.DataPoints)}}
	case metricdata.Gauge[float64]:
		m.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: numberPoints(a.DataPoints)}}
	case metricdata.Sum[int64]:
		m.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: numberPoints(a.DataPoints),
			AggregationTemporality: temporality(a.Temporality), IsMonotonic: a.IsMonotonic}}
	case metricdata.Sum[float64]:
		m.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: numberPoints(a.DataPoints),
			AggregationTemporality: temporality(a.Temporality), IsMonotonic: a.IsMonotonic}}
	case metricdata.Histogram[int64]:
		m.Data = &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: histogramPoints(a.DataPoints),
			AggregationTemporality: temporality(a.Temporality)}}
	case metricdata.Histogram[float64]:
		m.Data = &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: histogramPoints(a.DataPoints),
			AggregationTemporality: temporality(a.Temporality)}}
	default:
		return fmt.Errorf("the OTLP exporter does not send %T aggregations", data)
	}
	return nil
}

func temporality(t metricdata.Temporality) metricspb.AggregationTemporality {
	switch t {
	case metricdata.DeltaTemporality:
		return metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	case metricdata.CumulativeTemporality:
		return metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
	}
	return metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_UNSPECIFIED
}

func numberPoints[N int64 | float64](points []metricdata.DataPoint[N]) []*metricspb.NumberDataPoint {
	out := make([]*metricspb.NumberDataPoint, len(points))
	for i, p := range points {
		out[i] = &metricspb.NumberDataPoint{
			Attributes:        setValues(&p.Attributes),
			StartTimeUnixNano: unixNano(p.StartTime),
			TimeUnixNano:      unixNano(p.Time),
			Exemplars:         exemplars(p.Exemplars),
		}
		switch v := any(p.Value).(type) {
		case int64:
			out[i].Value = &metricspb.NumberDataPoint_AsInt{AsInt: v}
		case float64:
			out[i].Value = &metricspb.NumberDataPoint_AsDouble{AsDouble: v}
		}
	}
	return out
}

func histogramPoints[N int64 | float64](points []metricdata.HistogramDataPoint[N]) []*metricspb.HistogramDataPoint {
	out := make([]*metricspb.HistogramDataPoint, len(points))
	for i, p := range points {
		sum := float64(p.Sum)
		out[i] = &metricspb.HistogramDataPoint{
			Attributes:        setValues(&p.Attributes),
			StartTimeUnixNano: unixNano(p.StartTime),
			TimeUnixNano:      unixNano(p.Time),
			Count:             p.Count,
			Sum:               &sum,
			BucketCounts:      p.BucketCounts,
			ExplicitBounds:    p.Bounds,
			Exemplars:         exemplars(p.Exemplars),
		}
		if v, ok := p.Min.Value(); ok {
			f := float64(v)
			out[i].Min = &f
		}
		if v, ok := p.Max.Value(); ok {
			f := float64(v)
			out[i].Max = &f
		}
	}
	return out
}

func exemplars[N int64 | float64](es []metricdata.Exemplar[N]) []*metricspb.Exemplar {
	if len(es) == 0 {
		return nil
	}
	out := make([]*metricspb.Exemplar, len(es))
	for i, e := range es {
		out[i] = &metricspb.Exemplar{
			FilteredAttributes: keyValues(e.FilteredAttributes),
			TimeUnixNano:       unixNano(e.Time),
			SpanId:             e.SpanID,
			TraceId:            e.TraceID,
		}
		switch v := any(e.Value).(type) {
		case int64:
			out[i].Value = &metricspb.Exemplar_AsInt{AsInt: v}
		case float64:
			out[i].Value = &metricspb.Exemplar_AsDouble{AsDouble: v}
		}
	}
	return out
}
