package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/telemetry"
	"github.com/tenantry/tenantry/internal/testenv"
)

// BenchmarkTracing measures one request path, a signupRouting query that reads Firestore, served
// in process by two apps on the same Firestore: one with tracing off (no OTEL_* variables: the
// default, in which no tracing middleware or extension is installed and the global provider is
// the no-op one) and one with tracing on (every span sampled, batched to an exporter that drops
// them). Rounds alternate between the two; the p50 ratio on/off is printed.
// Run: go test -run '^$' -bench Tracing -benchtime 1x ./bench/
func BenchmarkTracing(b *testing.B) {
	testenv.Require(b)
	cfg, err := config.Load(nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg.SignupRoutingBurst = 1 << 30 // the benchmark measures the path, not the rate limit
	tp, err := telemetry.NewTracerProvider(context.Background(), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()); telemetry.Install(noop.NewTracerProvider()) })
	off := tracingApp(b, cfg, nil)
	on := tracingApp(b, cfg, tp)

	for b.Loop() {
		offS, onS := &Sample{}, &Sample{}
		var offWall, onWall time.Duration
		for round := range 12 {
			for _, side := range []struct {
				h      http.Handler
				global trace.TracerProvider
				s      *Sample
				wall   *time.Duration
			}{{off, noop.NewTracerProvider(), offS, &offWall}, {on, tp, onS, &onWall}} {
				telemetry.Install(side.global) // the Firestore client's spans follow the global provider
				start := time.Now()
				for i := range 50 {
					t0 := time.Now()
					if err := routingRequest(side.h, round*50+i); err != nil {
						b.Fatal(err)
					}
					if round > 0 { // round 0 warms both up
						side.s.Add(time.Since(t0))
					}
				}
				if round > 0 {
					*side.wall += time.Since(start)
				}
			}
		}
		ratio := float64(onS.Percentile(50)) / float64(offS.Percentile(50))
		b.Logf("\n%s\n%s\n%s\np50 ratio on/off: %.3f×", Header(), Row("signupRouting, tracing off (the default)", offS, offWall),
			Row("signupRouting, tracing on (all sampled)", onS, onWall), ratio)
		b.ReportMetric(float64(offS.Percentile(50).Microseconds())/1000, "off-p50-ms")
		b.ReportMetric(float64(onS.Percentile(50).Microseconds())/1000, "on-p50-ms")
		b.ReportMetric(ratio, "p50-ratio-on/off")
	}
}

// tracingApp is an app on cfg with tracing by tp (nil: off), its handler called in process.
func tracingApp(b *testing.B, cfg config.Config, tp trace.TracerProvider) http.Handler {
	b.Helper()
	a, err := app.New(context.Background(), cfg, app.Options{Tracing: tp, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	return a.Handler()
}

// routingRequest asks signupRouting about an address at a domain nobody claimed (one Firestore
// read), from client address i.
func routingRequest(h http.Handler, i int) error {
	body := `{"query":"query($e: String!) { signupRouting(email: $e) { __typename } }","variables":{"e":"someone@bench-unclaimed.example"}}`
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:4000", i>>16&255, i>>8&255, i&255)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) {
		return fmt.Errorf("signupRouting: HTTP %d %s", rec.Code, rec.Body)
	}
	return nil
}
