// Command tenantry is the one binary: `serve` runs the HTTP server, `jobs` runs maintenance jobs,
// `admin` manages platform roles.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/server"
	"github.com/tenantry/tenantry/internal/telemetry"
)

const usage = `tenantry: tenant provisioning and lifecycle for Firebase apps

Usage:
  tenantry serve                       run the HTTP server (GraphQL at /graphql, playground at
                                       /playground), the outbox dispatcher and the jobs scheduler
  tenantry jobs list                   list the jobs
  tenantry jobs run NAME               run one job once and print what it did
  tenantry jobs run NAME --loop        run it again and again (every --interval) until interrupted
  tenantry jobs outbox-status          count outbox entries by state and list the dead-lettered ones
  tenantry jobs outbox-retry ID        send a dead-lettered outbox entry back to pending
  tenantry admin grant-platform-role --email EMAIL --role ROLE
                                       give a user a platform role (super_admin, sales, support)
  tenantry admin revoke-platform-role --email EMAIL
                                       take a user's platform role away
  tenantry rules [--app FILE] [--explain]
                                       print the firestore.rules for the application's declaration
                                       (TENANTRY_APP, or tenantry.app.yaml here), or list what they
                                       cannot check
  tenantry import --file F --collection C --tenant T --token tnt_… [--dry-run] [--url URL]
                                       import an NDJSON or CSV file through the API, in calls of
                                       500, resumable; rejected records go to F's .rejected file
  tenantry doctor [--repair] [--json] [--tenant ID]
                                       check the invariants across documents (exit 0 only when
                                       none is broken); --repair fixes counters and user links
  tenantry admin reindex-search        write missing staff search tokens (tenants provisioned
                                       before staff search existed)
  tenantry export --tenant ID [--out FILE]
                                       export every document of a tenant to TENANTRY_EXPORT_BUCKET
                                       now, with progress; the owners get the download link

Configuration comes from the environment; see the README's configuration table.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(stderr)
	case "jobs":
		return jobsCmd(args[1:], stdout, stderr)
	case "admin":
		return adminCmd(args[1:], stdout, stderr)
	case "rules":
		return rulesCmd(args[1:], stdout, stderr)
	case "import":
		return importCmd(context.Background(), args[1:], stdout, stderr)
	case "doctor":
		return doctorCmd(context.Background(), args[1:], stdout, stderr)
	case "export":
		return exportCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tenantry: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// load reads the configuration and sets up logging; on bad configuration it prints every problem
// with what to do and returns false.
func load(stderr io.Writer) (config.Config, bool) {
	cfg, err := config.Load(nil)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: the configuration is invalid:\n%v\n", err)
		return cfg, false
	}
	level, _ := cfg.SlogLevel()
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(stderr, hopts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(stderr, hopts)
	}
	slog.SetDefault(slog.New(server.ContextHandler{Handler: h}))
	return cfg, true
}

// withApp loads the configuration, checks it with check too (if not nil), wires Tenantry and runs
// f with a context that SIGTERM and SIGINT cancel. It returns f's exit code, 2 for an invalid
// configuration, or 1 when the wiring fails; every command that needs the app starts through it.
func withApp(stderr io.Writer, check func(config.Config) error, f func(ctx context.Context, cfg config.Config, a *app.App) int) int {
	cfg, ok := load(stderr)
	if !ok {
		return 2
	}
	if check != nil {
		if err := check(cfg); err != nil {
			fmt.Fprintf(stderr, "tenantry: the configuration is invalid:\n%v\n", err)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Traces, when the OTEL_* variables ask for them, before the Firestore client exists: it
	// traces through the global provider.
	tp, stopTracing, err := telemetry.Setup(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: the trace configuration is invalid: %v\n", err)
		return 2
	}
	defer flushTraces(stopTracing)
	opts := app.Options{}
	if tp != nil {
		opts.Tracing = tp
	}
	a, err := app.New(ctx, cfg, opts)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: cannot start: %v\n", err)
		return 1
	}
	defer a.Close()
	return f(ctx, cfg, a)
}

// flushTraces sends the spans still buffered, giving the collector a few seconds.
func flushTraces(stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		slog.Warn("could not flush the last traces", "error", err.Error())
	}
}

func serve(stderr io.Writer) int {
	return withApp(stderr, config.Config.ValidateServe, func(ctx context.Context, cfg config.Config, a *app.App) int { return serveApp(ctx, cfg, a, stderr) })
}

func serveApp(ctx context.Context, cfg config.Config, a *app.App, stderr io.Writer) int {
	// Serve also returns when the listener fails; stop then cancels the background loops too.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: cannot listen on %s: %v (is another process using PORT=%d?)\n", cfg.Addr(), err, cfg.Port)
		return 1
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	wait, err := a.StartBackground(ctx)
	if err != nil {
		_ = ln.Close()
		fmt.Fprintf(stderr, "tenantry: cannot start the background jobs: %v\n", err)
		return 2
	}
	slog.Info("tenantry listening", "addr", "http://"+ln.Addr().String(), "config", cfg)
	if !cfg.BlockingFunctionsServed() {
		slog.Warn("the blocking functions /auth/beforeCreate and /auth/beforeSignIn are not served: set TENANTRY_PUBLIC_URL to the base URL Identity Platform calls, so their event tokens can be verified")
	}
	rc := 0
	if err := server.Serve(ctx, srv, ln, cfg.ShutdownTimeout); err != nil {
		slog.Error("server stopped with an error", "error", err.Error())
		rc = 1
	}
	stop()
	if !wait(cfg.ShutdownTimeout) {
		slog.Warn("background jobs did not stop in time; leased outbox entries run again after their lease expires",
			"timeout", cfg.ShutdownTimeout.String())
	}
	return rc
}
