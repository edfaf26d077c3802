package server

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the process's Prometheus registry and the GraphQL instruments. Its own registry
// (not the global one) keeps parallel test servers apart.
type Metrics struct {
	Registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	httpByCode *prometheus.CounterVec
}

// NewMetrics registers the instruments, the Go runtime and the process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantry_graphql_requests_total",
			Help: "GraphQL operations by root fields and outcome (ok, or the first error's contract code).",
		}, []string{"operation", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tenantry_graphql_operation_duration_seconds",
			Help: "GraphQL operation latency by root fields, provisioning included (mutation.provisionTenant).",
			// Provisioning answers in milliseconds; the tail matters up to the lock timeouts.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"}),
		httpByCode: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantry_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.httpByCode,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*Metrics)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*Metrics) ExtensionName() string { return "Metrics" }

// Validate implements graphql.HandlerExtension.
func (*Metrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse counts and times each operation once its response is complete.
func (m *Metrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	op := operationLabel(ctx)
	outcome := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		outcome = CodeInternal
		if c, ok := resp.Errors[0].Extensions["code"].(string); ok {
			outcome = c
		}
	}
	m.requests.WithLabelValues(op, outcome).Inc()
	m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	return resp
}

// instrument counts HTTP requests of one route by status code.
func (m *Metrics) instrument(route string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(m.httpByCode.MustCurryWith(prometheus.Labels{"route": route}), h)
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
