// Command tenantry is the one binary: `serve` runs the HTTP server, `jobs` runs maintenance jobs.
package main

import (
	"context"
	"errors"
	"flag"
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
)

const usage = `tenantry: tenant provisioning and lifecycle for Firebase apps

Usage:
  tenantry serve                 run the HTTP server (GraphQL at /graphql, playground at /playground)
  tenantry jobs list             list the maintenance jobs
  tenantry jobs run NAME         run one job once and print what it did

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

func serve(stderr io.Writer) int {
	cfg, ok := load(stderr)
	if !ok {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	a, err := app.New(ctx, cfg, app.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: cannot start: %v\n", err)
		return 1
	}
	defer a.Close()

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
	slog.Info("tenantry listening", "addr", "http://"+ln.Addr().String(), "config", cfg)
	if err := server.Serve(ctx, srv, ln, cfg.ShutdownTimeout); err != nil {
		slog.Error("server stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}

func jobsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "run") {
		fmt.Fprint(stderr, "usage: tenantry jobs list | tenantry jobs run NAME\n")
		return 2
	}
	cfg, ok := load(stderr)
	if !ok {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := app.New(ctx, cfg, app.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: cannot start: %v\n", err)
		return 1
	}
	defer a.Close()

	if args[0] == "list" {
		for _, j := range a.Jobs.List() {
			fmt.Fprintf(stdout, "%-28s %s\n", j.Name, j.Description)
		}
		return 0
	}
	fs := flag.NewFlagSet("jobs run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprint(stderr, "usage: tenantry jobs run NAME (see `tenantry jobs list`)\n")
		return 2
	}
	name := fs.Arg(0)
	job, found := a.Jobs.Get(name)
	if !found {
		fmt.Fprintf(stderr, "tenantry: no job named %q; `tenantry jobs list` shows the jobs\n", name)
		return 2
	}
	start := time.Now()
	fmt.Fprintf(stdout, "%s: started\n", name)
	summary, err := job.Run(ctx, func(line string) { fmt.Fprintf(stdout, "%s: %s\n", name, line) })
	if summary != "" {
		fmt.Fprintf(stdout, "%s: %s\n", name, summary)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "%s: interrupted after %s; it is safe to run again\n", name, time.Since(start).Round(time.Millisecond))
			return 130
		}
		fmt.Fprintf(stderr, "%s: failed after %s: %v; it is safe to run again\n", name, time.Since(start).Round(time.Millisecond), err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: done in %s\n", name, time.Since(start).Round(time.Millisecond))
	return 0
}
