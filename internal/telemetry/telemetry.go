// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_* environment variables,
// and holds what the rest of the server needs to make spans: the request id attribute and a
// processor that puts it on every span started inside a request (Firestore's own spans included).
//
// Tracing is off unless an exporter is asked for: with neither OTEL_TRACES_EXPORTER nor an
// OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT set, or with OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none, Setup starts nothing and the global tracer provider stays the no-op
// one.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantry/tenantry/internal/reqctx"
)

// RequestIDKey is the attribute that links every span of a request, and the outbox entries it
// wrote, to the request id the client got in X-Request-Id (and logs and audit entries carry).
const RequestIDKey = attribute.Key(reqctx.TraceAttribute)

// ServiceName is the service name when OTEL_SERVICE_NAME does not give one.
const ServiceName = "tenantry"

// Enabled reports whether the environment asks for traces to be exported.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch exp := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "none":
		return false
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return true
	}
}

// Setup starts the OTLP exporter the environment asks for, makes its tracer provider the global
// one (the Firestore client traces through the global provider) with the W3C trace context as
// propagator, and returns it with the function that flushes and stops it. When tracing is off
// it returns nil and a no-op stop, and starts nothing.
func Setup(ctx context.Context) (*sdktrace.TracerProvider, func(context.Context) error, error) {
	if !Enabled(os.Getenv) {
		return nil, func(context.Context) error { return nil }, nil
	}
	if exp := strings.ToLower(os.Getenv("OTEL_TRACES_EXPORTER")); exp != "" && exp != "otlp" {
		return nil, nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: Tenantry exports traces with otlp only (or none)", exp)
	}
	if p := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") + os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); p != "" && !strings.HasPrefix(p, "http/protobuf") {
		return nil, nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: Tenantry exports OTLP over http/protobuf; point it at the collector's HTTP port (4318)", p)
	}
	exporter, err := otlptracehttp.New(ctx) // reads the OTEL_EXPORTER_OTLP_* variables itself
	if err != nil {
		return nil, nil, fmt.Errorf("start the OTLP trace exporter: %w", err)
	}
	tp, err := NewTracerProvider(ctx, sdktrace.WithBatcher(exporter))
	if err != nil {
		return nil, nil, errors.Join(err, exporter.Shutdown(ctx))
	}
	Install(tp)
	return tp, tp.Shutdown, nil
}

// NewTracerProvider is the SDK's provider with Tenantry's resource (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES apply), the request id processor, and opts (the exporter; tests pass
// an in-memory one). The sampler follows OTEL_TRACES_SAMPLER, as the SDK reads it.
func NewTracerProvider(ctx context.Context, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(ServiceName)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithProcess(),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("describe the service for traces: %w", err)
	}
	all := append([]sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(requestIDProcessor{})}, opts...)
	return sdktrace.NewTracerProvider(all...), nil
}

// Install makes tp the global tracer provider, with the W3C trace context and baggage as
// propagators.
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
}

// requestIDProcessor puts the request id of the context a span starts in on the span, so the
// spans of libraries (Firestore's) carry it too.
type requestIDProcessor struct{}

func (requestIDProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	if id := reqctx.RequestID(parent); id != "" {
		s.SetAttributes(RequestIDKey.String(id))
	}
}
func (requestIDProcessor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (requestIDProcessor) Shutdown(context.Context) error   { return nil }
func (requestIDProcessor) ForceFlush(context.Context) error { return nil }
