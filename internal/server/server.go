// Package server is Tenantry's HTTP surface: routing, middleware (request id, access log, body
// limit, authentication), the GraphQL endpoint with its error presenter, health and metrics, and
// graceful shutdown. It holds no domain logic.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantry/tenantry/internal/auth"
)

// Deps is what the HTTP surface is built from.
type Deps struct {
	Schema   graphql.ExecutableSchema
	Verifier TokenVerifier
	// AuthEmulator is true when Verifier talks to the Auth emulator (FIREBASE_AUTH_EMULATOR_HOST
	// is set), whatever TENANTRY_ENV says.
	AuthEmulator  bool
	Staff         auth.StaffPolicy            // which accounts a platform role gives power to
	Ready         func(context.Context) error // Firestore answers
	Metrics       *Metrics
	GraphQL       GraphQLOptions
	MaxBodyBytes  int64
	AllowedOrigin func(origin string) bool // CORS for the SPA; nil allows none
	// BeforeCreate and BeforeSignIn serve the Identity Platform blocking functions (nil: not
	// mounted). Signup, if set, runs the signup logic on a signed-in caller's request before
	// GraphQL sees it (see withSignup).
	BeforeCreate http.Handler
	BeforeSignIn http.Handler
	Signup       func(context.Context, auth.Principal) error
	// StripeWebhook serves POST /webhooks/stripe (nil: not mounted); see webhooks.go.
	StripeWebhook StripeWebhook
	// Console is the Firebase configuration of the sales console at /playground (playground.go).
	Console ConsoleConfig
	// ServiceTokens checks `tnt_` bearer tokens (nil: refused); GraphQL.ServiceOperations says
	// what they may call.
	ServiceTokens ServiceAuthenticator
	// BulkBodyBytes, when above MaxBodyBytes, is the body limit of an authenticated request
	// whose root fields are all BulkOperations (importRecords).
	BulkBodyBytes  int64
	BulkOperations []string
	// Tracing makes the spans of requests and GraphQL operations (tracing.go); nil: tracing is
	// off, and nothing of it is installed.
	Tracing trace.TracerProvider
	// Exports serves GET /exports/{tenant}/{export}, the exports' signed download links (nil:
	// not mounted); see exports.go.
	Exports ExportDownloads
}

// NewHandler builds the routes of the contract.
func NewHandler(d Deps) http.Handler {
	gqlOpts := d.GraphQL
	gqlOpts.Tracing = d.Tracing
	gql := NewGraphQLHandler(d.Schema, gqlOpts)

	mux := http.NewServeMux()
	mux.Handle("POST /graphql", d.Metrics.instrument("/graphql",
		withCORS(d.AllowedOrigin, withAuthentication(authenticator{d.Verifier, d.AuthEmulator, d.Staff, d.ServiceTokens},
			withJSONBody(bodyLimits{max: d.MaxBodyBytes, bulk: d.BulkBodyBytes, bulkOps: d.BulkOperations}, withSignup(d.Signup, gql))))))
	mux.Handle("OPTIONS /graphql", withCORS(d.AllowedOrigin, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	mountPlayground(mux, d.Console)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /readyz", d.Metrics.instrument("/readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Ready(ctx); err != nil {
			slog.WarnContext(ctx, "not ready: Firestore does not answer", "error", err.Error())
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("firestore unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})))
	mux.Handle("GET /metrics", d.Metrics.Handler())
	if d.BeforeCreate != nil {
		mux.Handle("POST /auth/beforeCreate", d.Metrics.instrument("/auth/beforeCreate", d.BeforeCreate))
	}
	if d.BeforeSignIn != nil {
		mux.Handle("POST /auth/beforeSignIn", d.Metrics.instrument("/auth/beforeSignIn", d.BeforeSignIn))
	}
	if d.StripeWebhook != nil {
		mux.Handle("POST /webhooks/stripe", d.Metrics.instrument("/webhooks/stripe", stripeWebhookHandler(d.StripeWebhook)))
	}
	if d.Exports != nil {
		mux.Handle("GET /exports/{tenant}/{export}", d.Metrics.instrument("/exports", exportDownloadHandler(d.Exports)))
	}
	return withTracing(d.Tracing, mux, withRequestID(withAccessLog(mux)))
}

// withCORS lets the SPA's origins call the API from the browser with an Authorization header.
func withCORS(allowed func(string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && allowed != nil && allowed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, "+ClientRequestIDHeader)
		}
		next.ServeHTTP(w, r)
	})
}

// Serve runs srv on ln until ctx is done, then stops accepting connections and waits up to
// drain for in-flight requests to finish (SIGTERM during a rollout loses no request).
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down: draining in-flight requests", "timeout", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	slog.Info("shut down cleanly")
	return nil
}
