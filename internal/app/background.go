package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/email"
	"github.com/tenantry/tenantry/internal/events"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// JobOutbox is the name of the outbox job registered here.
const JobOutbox = "outbox"

// background is what runs besides the HTTP server: the outbox dispatcher, the jobs scheduler and
// the outbox gauge.
type background struct {
	cfg       config.Config
	clock     clock.Clock
	scheduler *jobs.Scheduler
	gauge     *prometheus.GaugeVec
}

// wireBackground builds the outbox dispatcher with its handlers, its job and its metrics. It
// starts nothing: StartBackground does, in `serve`; the CLI and the functions run the same jobs
// on demand.
func (a *App) wireBackground(st *store.Store, clk clock.Clock, kick *outboxKicker, opts Options) error {
	cfg := a.cfg
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenantry_outbox_attempts_total",
		Help: "Outbox attempts by kind and outcome (done, retry, dead, lost).",
	}, []string{"kind", "outcome"})
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tenantry_outbox_attempt_duration_seconds",
		Help:    "Time a handler took per outbox attempt, by kind.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15, 60},
	}, []string{"kind"})
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantry_outbox_entries",
		Help: "Outbox entries by state (pending, done, dead), refreshed every TENANTRY_OUTBOX_METRICS_INTERVAL by a count query.",
	}, []string{"state"})
	if err := registerAll(a.Metrics.Registry, attempts, took, gauge); err != nil {
		return err
	}

	dcfg := outbox.Config{
		Owner: opts.DispatcherOwner, BatchSize: cfg.OutboxBatchSize, Concurrency: cfg.OutboxConcurrency,
		Lease: cfg.OutboxLease, MaxAttempts: cfg.OutboxMaxAttempts,
		BackoffBase: cfg.OutboxBackoffBase, BackoffCap: cfg.OutboxBackoffCap, Retention: cfg.OutboxRetention,
		Tracing: opts.Tracing,
		Observe: func(kind, outcome string, d time.Duration) {
			attempts.WithLabelValues(kind, outcome).Inc()
			if outcome != "lost" || d > 0 {
				took.WithLabelValues(kind).Observe(d.Seconds())
			}
		},
	}
	d := outbox.NewDispatcher(st.Outbox(), clk, dcfg)
	// billing.setup (and billing.cancel_superseded) are Stripe calls: performed when
	// STRIPE_SECRET_KEY is set, else only known, so they stay pending, neither claimed nor
	// dead-lettered, until a dispatcher with Stripe runs.
	a.Billing.Register(d)
	if cfg.SMTPURL != "" {
		sender, err := email.NewSMTPSender(email.SMTPConfig{
			URL: cfg.SMTPURL, From: cfg.MailFrom, StartTLS: cfg.SMTPStartTLS, Timeout: cfg.SMTPTimeout,
		})
		if err != nil {
			return fmt.Errorf("email: %w", err)
		}
		mailer, err := email.NewMailer(sender, st, cfg.AppURL, sender.Product())
		if err != nil {
			return fmt.Errorf("email: %w", err)
		}
		mailer.Register(d)
	} else {
		d.Know(email.Kinds...)
		slog.Warn("SMTP_URL is not set: email outbox entries stay pending until a dispatcher with SMTP runs")
	}
	if err := registerEvents(cfg, d, clk); err != nil {
		return err
	}
	registerExport(cfg, d, a.Export)
	a.Outbox = d
	kick.d.Store(d)

	a.Jobs.Add(jobs.Job{
		Name:        JobOutbox,
		Description: "one outbox pass: perform the due side effects (" + fmt.Sprint(d.Kinds()) + "); `serve` runs it continuously",
		Interval:    jobs.NotScheduled,
		Run:         reporting(d.RunPass),
	})
	a.bg = &background{
		cfg: cfg, clock: clk, gauge: gauge,
		scheduler: jobs.NewScheduler(st.JobLeases(), clk, d.Owner(), nil),
	}
	return nil
}

// registerEvents makes d deliver the events to the application when TENANTRY_EVENTS_URL is set.
// Without it none are made, and any left from when it was set stay pending, known, untouched.
func registerEvents(cfg config.Config, d *outbox.Dispatcher, clk clock.Clock) error {
	if !cfg.EventsEnabled() {
		d.Know(events.Kinds...)
		return nil
	}
	secret, err := events.ParseSecret(cfg.EventsSecret)
	if err != nil {
		return fmt.Errorf("TENANTRY_EVENTS_SECRET: %w", err)
	}
	sender, err := events.NewSender(events.Config{URL: cfg.EventsURL, Secret: secret, Timeout: cfg.EventsTimeout}, clk)
	if err != nil {
		return fmt.Errorf("TENANTRY_EVENTS_URL: %w", err)
	}
	sender.Register(d)
	return nil
}

// outboxKicker lets the commit path wake the dispatcher, which is built after the domain service.
type outboxKicker struct {
	d atomic.Pointer[outbox.Dispatcher]
}

func (k *outboxKicker) kick() {
	if d := k.d.Load(); d != nil {
		d.Kick()
	}
}

// kickingStore is the tenancy store, plus a kick of this process's dispatcher after each
// provisioning commit: the welcome email then leaves within milliseconds instead of at the next
// poll (the dispatcher only runs in `serve`; elsewhere the kick is a no-op).
type kickingStore struct {
	*store.Store
	k *outboxKicker
}

// CreateProvisioning implements tenancy.Store.
func (s kickingStore) CreateProvisioning(ctx context.Context, p tenancy.Provisioning) error {
	err := s.Store.CreateProvisioning(ctx, p)
	if err == nil {
		s.k.kick()
	}
	return err
}

func registerAll(reg *prometheus.Registry, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// StartBackground starts, until ctx is cancelled, the outbox dispatcher (TENANTRY_DISPATCHER),
// the jobs scheduler (TENANTRY_SCHEDULER, TENANTRY_JOB_INTERVALS) and the outbox gauge. The
// returned wait blocks until all of them have stopped, at most timeout after ctx is cancelled.
func (a *App) StartBackground(ctx context.Context) (wait func(timeout time.Duration) bool, err error) {
	b := a.bg
	var schedules []jobs.Schedule
	if b.cfg.SchedulerOn() {
		if schedules, err = a.Jobs.Schedules(b.cfg.Intervals()); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	if b.cfg.DispatcherOn() {
		slog.Info("outbox dispatcher started", "owner", a.Outbox.Owner(), "kinds", a.Outbox.Kinds(), "poll", b.cfg.OutboxPollInterval.String())
		run(func() { _ = a.Outbox.Run(ctx, b.cfg.OutboxPollInterval) })
	}
	if len(schedules) > 0 {
		names := make([]string, 0, len(schedules))
		for _, s := range schedules {
			names = append(names, s.Job.Name+"="+s.Every.String())
		}
		slog.Info("jobs scheduler started", "schedules", names)
		run(func() { b.scheduler.Run(ctx, schedules) })
	}
	run(func() { a.refreshOutboxGauge(ctx) })
	return func(timeout time.Duration) bool {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return true
		case <-time.After(timeout):
			return false
		}
	}, nil
}

// refreshOutboxGauge counts the outbox by state now and then: a count aggregation is cheap (one
// read per 1,000 index entries) and keeps /metrics from querying Firestore on every scrape.
func (a *App) refreshOutboxGauge(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.RefreshOutboxMetrics(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("cannot count the outbox for /metrics", "error", err.Error())
		}
		t.Reset(a.bg.cfg.OutboxMetricsInterval)
	}
}

// RefreshOutboxMetrics sets the tenantry_outbox_entries gauge from a fresh count.
func (a *App) RefreshOutboxMetrics(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	counts, err := a.Outbox.Counts(qctx)
	if err != nil {
		return err
	}
	for _, s := range outbox.States {
		a.bg.gauge.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	return nil
}
