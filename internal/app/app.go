// Package app is the composition root: it builds the Firebase and Firestore clients, the store,
// the domain services, the GraphQL schema and the HTTP handler from one Config. The binary, the
// tests and the benchmarks all start Tenantry through it, so they run the same wiring.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	firebase "firebase.google.com/go/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantry/tenantry/graph"
	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/bucket"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/domains"
	"github.com/tenantry/tenantry/internal/export"
	"github.com/tenantry/tenantry/internal/identity"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/ratelimit"
	"github.com/tenantry/tenantry/internal/server"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/resolvers"
)

// Options replace parts of the wiring, for tests and benchmarks.
type Options struct {
	Clock  clock.Clock   // nil: the system clock
	NewID  func() string // tenant id generator; nil: random
	Logger *slog.Logger  // non-nil: becomes the process's default logger
	// DispatcherOwner names this process's outbox dispatcher in leases; "": host-pid-random.
	DispatcherOwner string
	// GoogleCertsURL replaces Google's securetoken certificates (identity.GoogleCertsURL), which
	// sign ID tokens and blocking events, so tests can verify production-mode tokens they sign.
	GoogleCertsURL string
	// Tracing, if set, makes spans of requests, GraphQL operations and outbox attempts (the
	// Firestore client traces through the global provider: telemetry.Install); nil: tracing off.
	Tracing trace.TracerProvider
}

// App is a wired Tenantry.
type App struct {
	cfg     config.Config
	fs      *firestore.Client
	handler http.Handler
	Tenancy *tenancy.Service
	Members *members.Service // invitations, roles, ownership and the signup logic (members.go)
	Jobs    *jobs.Registry
	Metrics *server.Metrics
	Outbox  *outbox.Dispatcher // outbox dispatcher with its handlers (background.go)
	Billing *billing.Service   // Stripe billing: setup handler, webhook, Checkout and portal (billing.go)
	Domains *domains.Service   // domain capture: claims, DNS challenges, signup routing (domains.go)
	Export  *export.Service    // tenant exports: archives in Cloud Storage, signed links (export.go)
	bucket  *bucket.Bucket     // the exports' bucket; nil without TENANTRY_EXPORT_BUCKET
	bg      *background
	tracing trace.TracerProvider // nil: tracing off
	// Declaration is the application's data model (tenantry.app.yaml); nil without one.
	Declaration *appdecl.Declaration
	// Deletions frees what deleted Firebase users held (functions.OnUserDelete, members.go).
	Deletions *identity.Deletions
}

// New wires Tenantry. The Firebase SDKs read FIRESTORE_EMULATOR_HOST and
// FIREBASE_AUTH_EMULATOR_HOST from the environment themselves; config.Validate has already
// refused them in production. Whom the server trusts follows cfg (wireIdentity).
func New(ctx context.Context, cfg config.Config, opts Options) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	decl, err := appdecl.Find(cfg.AppFile)
	if err != nil {
		return nil, fmt.Errorf("the application declaration (TENANTRY_APP) is invalid; fix it and start again:\n%w", err)
	}
	if opts.Logger != nil {
		slog.SetDefault(opts.Logger)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.System{}
	}
	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.Project})
	if err != nil {
		return nil, fmt.Errorf("initialise Firebase for project %q: %w (check GOOGLE_CLOUD_PROJECT and credentials)", cfg.Project, err)
	}
	authClient, err := fb.Auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("initialise Firebase Auth: %w (check credentials, or FIREBASE_AUTH_EMULATOR_HOST locally)", err)
	}
	idw, err := wireIdentity(cfg, authClient, opts)
	if err != nil {
		return nil, err
	}
	fs, err := firestore.NewClient(ctx, cfg.Project)
	if err != nil {
		return nil, fmt.Errorf("connect to Firestore: %w (check credentials, or FIRESTORE_EMULATOR_HOST locally)", err)
	}
	defer func() {
		if err != nil {
			_ = fs.Close()
		}
	}()
	catalog, err := plans.Default()
	if err != nil {
		return nil, err
	}
	st := store.New(fs)
	kick := &outboxKicker{} // wakes this process's outbox dispatcher after a provisioning commit
	svc := wireTenancy(cfg, st, catalog, clk, kick, opts)
	metrics := server.NewMetrics()
	mw := wireMembers(cfg, st, svc, clk, kick, idw, decl)
	bill, err := wireBilling(cfg, st, svc, catalog, clk)
	if err != nil {
		return nil, err
	}
	webhook, err := instrumentedWebhook(bill, metrics.Registry, kick)
	if err != nil {
		return nil, err
	}
	dom, err := wireDomains(cfg, st, svc, clk, kick)
	if err != nil {
		return nil, err
	}
	mw.svc.SetDomainEnroller(dom)
	exp, bkt, err := wireExport(ctx, cfg, st, svc, clk)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, fs: fs, Tenancy: svc, Members: mw.svc, Billing: bill, Domains: dom, Export: exp, bucket: bkt, Metrics: metrics, Declaration: decl, Deletions: mw.deleted, tracing: opts.Tracing}
	a.handler = a.newHandler(st, idw, mw, webhook, wireImport(cfg, st, svc, decl, clk))
	a.Jobs = jobs.NewRegistry(tenancyJobs(cfg, svc)...)
	a.Jobs.Add(mw.expireJob())
	a.Jobs.Add(mw.sweepJob())
	a.Jobs.Add(verifyDomainsJob(dom))
	a.Jobs.Add(doctorJob(NewDoctor(cfg, st, clk)))
	if err := a.wireBackground(st, clk, kick, opts); err != nil {
		return nil, err
	}
	return a, nil
}

// wireTenancy builds the tenant domain over the store, with a kick of the dispatcher after each
// provisioning commit.
func wireTenancy(cfg config.Config, st *store.Store, catalog *plans.Catalog, clk clock.Clock, kick *outboxKicker, opts Options) *tenancy.Service {
	var svcOpts []tenancy.Option
	if opts.NewID != nil {
		svcOpts = append(svcOpts, tenancy.WithIDGenerator(opts.NewID))
	}
	limiter := ratelimit.NewKeyed(cfg.ProvisionInterval, cfg.ProvisionBurst, clk.Now)
	return tenancy.NewService(kickingStore{st, kick}, catalog, clk, limiter, tenancy.Config{
		IdempotencyRetention: cfg.IdempotencyRetention, CancelledRetention: cfg.CancelledRetention(),
		Events: tenancy.NewEvents(cfg.EventsEnabled()),
	}, svcOpts...)
}

// newHandler is the HTTP surface over the wired domain: GraphQL, health, metrics, the Auth
// blocking functions, the lazy signup hook and the Stripe webhook.
func (a *App) newHandler(st *store.Store, idw identityWiring, mw membersWiring, webhook server.StripeWebhook, iw importWiring) http.Handler {
	cfg := a.cfg
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &resolvers.Resolver{
		Tenancy: a.Tenancy, Membership: a.Members, Billing: a.Billing, DomainCapture: a.Domains,
		ServiceTokens: iw.tokens, Import: iw.imp, Export: a.Export,
	}})
	return server.NewHandler(server.Deps{
		Schema:       schema,
		Verifier:     idw.verifier,
		AuthEmulator: idw.emulator,
		Staff:        idw.staff,
		Ready:        st.Ping,
		Metrics:      a.Metrics,
		GraphQL: server.GraphQLOptions{
			Introspection: cfg.IntrospectionEnabled(),
			MaxDepth:      cfg.MaxQueryDepth,
			MaxComplexity: cfg.MaxQueryComplexity,
			Metrics:       a.Metrics,
			// A query writes nothing, so each tenant's policy inputs are read once per query.
			QueryContext:      tenancy.WithTenantViewMemo,
			ServiceOperations: servicetokens.Operations,
		},
		MaxBodyBytes:  cfg.MaxBodyBytes,
		AllowedOrigin: originAllowList(cfg.AllowedOrigins),
		BeforeCreate:  blockingHandler(mw.blocking, identity.BeforeCreate),
		BeforeSignIn:  blockingHandler(mw.blocking, identity.BeforeSignIn),
		Signup:        mw.lazy.Ensure,
		StripeWebhook: webhook,
		Console:       consoleConfig(cfg.FirebaseWeb()),
		ServiceTokens: iw.tokens,
		// importRecords takes up to 500 records a call; tenantry import sends at most 8 MiB.
		BulkBodyBytes:  cfg.ImportMaxBodyBytes,
		BulkOperations: []string{"importRecords"},
		Tracing:        a.tracing,
		Exports:        a.Export,
	})
}

// tenancyJobs are the tenant domain's maintenance jobs.
func tenancyJobs(cfg config.Config, svc *tenancy.Service) []jobs.Job {
	return []jobs.Job{
		{
			Name:        "purge-idempotency-records",
			Description: "delete idempotency records past their retention (" + cfg.IdempotencyRetention.String() + ")",
			Run: func(ctx context.Context, progress func(string)) (string, error) {
				n, err := svc.PurgeIdempotencyRecords(ctx, func(total int) { progress(fmt.Sprintf("deleted %d so far", total)) })
				return fmt.Sprintf("deleted %d expired idempotency records", n), err
			},
		},
		{
			Name:        "expire-trials",
			Description: "move trial tenants past trialEndsAt to trial_expired (active with a signed contract) and queue the conversion email; nightly",
			// Nightly: a trial ends on a date, and the expiry is idempotent, so a run a day is enough.
			Interval: 24 * time.Hour,
			Run: func(ctx context.Context, progress func(string)) (string, error) {
				r, err := svc.ExpireTrials(ctx, tenancy.ExpireTrialsOptions{}, func(r tenancy.ExpireTrialsResult) { progress(r.String() + " so far") })
				return r.String(), err
			},
		},
		{
			Name: "purge-cancelled-tenants",
			Description: "delete every document of tenants cancelled more than " + cfg.CancelledRetentionSetting +
				" ago (TENANTRY_CANCELLED_RETENTION) and the records that name them, leaving a tombstone in purgedTenants; resumable; nightly",
			Interval: 24 * time.Hour,
			Run: func(ctx context.Context, progress func(string)) (string, error) {
				r, err := svc.PurgeCancelled(ctx, tenancy.PurgeOptions{}, func(r tenancy.PurgeResult) { progress(r.String() + " so far") })
				return r.String(), err
			},
		},
	}
}

// Handler is the whole HTTP surface.
func (a *App) Handler() http.Handler { return a.handler }

// Firestore is the app's Firestore client (tests inspect documents through it).
func (a *App) Firestore() *firestore.Client { return a.fs }

// Close releases the clients.
func (a *App) Close() error {
	if a.bucket != nil {
		_ = a.bucket.Close()
	}
	return a.fs.Close()
}

func originAllowList(origins []string) func(string) bool {
	set := make(map[string]bool, len(origins))
	for _, o := range origins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			set[o] = true
		}
	}
	return func(origin string) bool { return set[origin] }
}

// consoleConfig is the sales console's Firebase configuration, from the server's settings.
func consoleConfig(w config.FirebaseWeb) server.ConsoleConfig {
	return server.ConsoleConfig{ProjectID: w.ProjectID, APIKey: w.APIKey, AuthDomain: w.AuthDomain, AuthEmulatorURL: w.AuthEmulatorURL}
}
