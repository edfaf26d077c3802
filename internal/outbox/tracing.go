package outbox

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tenantry/tenantry/internal/reqctx"
)

const tracerName = "github.com/tenantry/tenantry/internal/outbox"

// startSpan starts the span of one attempt of e: a trace of its own (the dispatcher runs after the
// request that wrote the entry has answered), linked to that request's span and carrying its
// request id, so that an operator finds the request's side effects from either end.
func (d *Dispatcher) startSpan(ctx context.Context, e Entry) (context.Context, trace.Span) {
	if d.cfg.Tracing == nil {
		return ctx, noop.Span{}
	}
	attrs := []attribute.KeyValue{
		attribute.String("outbox.kind", e.Kind), attribute.Int("outbox.attempt", e.Attempts),
		attribute.String("outbox.entry_id", e.ID),
	}
	if e.RequestID != "" {
		attrs = append(attrs, attribute.String(reqctx.TraceAttribute, e.RequestID))
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
	if e.TraceParent != "" {
		origin := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": e.TraceParent})
		if sc := trace.SpanContextFromContext(origin); sc.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
	}
	return d.cfg.Tracing.Tracer(tracerName).Start(ctx, "outbox "+e.Kind, opts...)
}

// markOutcome records how the attempt ended: done, retry or dead (an error, with the redacted
// message the entry keeps).
func markOutcome(span trace.Span, s Settlement) {
	span.SetAttributes(attribute.String("outbox.outcome", outcomeOf(s)))
	if s.State != StateDone {
		span.SetStatus(codes.Error, s.LastError)
	}
}

// TraceParent is the W3C traceparent of ctx's span, "" when it has none (tracing off): what an
// entry written in ctx keeps, to link its handling to the request.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier["traceparent"]
}
