package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantry/tenantry/internal/telemetry"
)

const tracerName = "github.com/tenantry/tenantry/internal/server"

// withTracing starts the server span of every request, named by its route (never the raw path,
// which a client chooses), continuing the caller's trace when it sent a traceparent. With no
// provider (tracing off) it is not installed at all.
func withTracing(tp trace.TracerProvider, routes *http.ServeMux, next http.Handler) http.Handler {
	if tp == nil {
		return next
	}
	tracer := tp.Tracer(tracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.Method
		if _, pattern := routes.Handler(r); pattern != "" {
			name = pattern // "POST /graphql"
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(rec.status))
		}
	})
}

// graphqlTracing is the span of each GraphQL operation: named by its type and root fields (the
// bounded label the metrics use), with the client's operation name as an attribute, and its
// errors recorded by their extensions.code alone. Variables, tokens and messages stay out.
type graphqlTracing struct{ tracer trace.Tracer }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = graphqlTracing{}

func (graphqlTracing) ExtensionName() string                   { return "Tracing" }
func (graphqlTracing) Validate(graphql.ExecutableSchema) error { return nil }

func (g graphqlTracing) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	attrs := []attribute.KeyValue{}
	if oc := graphql.GetOperationContext(ctx); oc.Operation != nil {
		attrs = append(attrs, attribute.String("graphql.operation.type", string(oc.Operation.Operation)),
			attribute.String("graphql.operation.name", oc.OperationName))
	}
	ctx, span := g.tracer.Start(ctx, "graphql "+operationLabel(ctx), trace.WithAttributes(attrs...))
	defer span.End()
	resp := next(ctx)
	if resp == nil || len(resp.Errors) == 0 {
		return resp
	}
	var codeList []string
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		if code == "" {
			code = CodeInternal
		}
		if !slices.Contains(codeList, code) {
			codeList = append(codeList, code)
		}
		span.AddEvent("graphql.error", trace.WithAttributes(attribute.String("graphql.error.code", code)))
	}
	span.SetAttributes(attribute.StringSlice("graphql.error.codes", codeList))
	if slices.Contains(codeList, CodeInternal) {
		span.SetStatus(codes.Error, CodeInternal)
	}
	return resp
}

// markRequest puts the request id on the request's span (a no-op span when tracing is off).
func markRequest(ctx context.Context, id string) {
	trace.SpanFromContext(ctx).SetAttributes(telemetry.RequestIDKey.String(id))
}
