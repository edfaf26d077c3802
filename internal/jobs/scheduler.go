package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
)

// DefaultInterval is how often a job whose Interval is zero runs under the scheduler.
const DefaultInterval = time.Hour

// NotScheduled, as a Job's Interval, keeps the job out of the scheduler unless the configuration
// names it (the outbox job: `serve` runs the dispatcher continuously instead).
const NotScheduled time.Duration = -1

// Schedule is one job and how often it runs.
type Schedule struct {
	Job   Job
	Every time.Duration
}

// Schedules resolves each job's interval: the override when the configuration names the job (0
// switches it off), else the job's own Interval (DefaultInterval when zero; NotScheduled leaves it
// out). An override naming no registered job is an error, so a typo does not silently disable a
// job.
func (r *Registry) Schedules(overrides map[string]time.Duration) ([]Schedule, error) {
	var unknown []string
	for name := range overrides {
		if _, ok := r.jobs[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("TENANTRY_JOB_INTERVALS names unknown jobs %v; `tenantry jobs list` shows the jobs", unknown)
	}
	var out []Schedule
	for _, j := range r.List() {
		every, set := overrides[j.Name]
		if !set {
			every = j.Interval
			if every == 0 {
				every = DefaultInterval
			}
		}
		if every <= 0 {
			continue
		}
		out = append(out, Schedule{Job: j, Every: every})
	}
	return out, nil
}

// ParseIntervals parses "name=duration,name=off,…" (durations as in time.ParseDuration; "off" or
// "0" switches a job off).
func ParseIntervals(spec string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || name == "" || val == "" {
			return nil, fmt.Errorf("%q: want name=duration, e.g. purge-idempotency-records=1h or expire-trials=off", part)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%q: the job is named twice", name)
		}
		if val == "off" || val == "0" {
			out[name] = 0
			continue
		}
		d, err := time.ParseDuration(val)
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("%q: the interval must be a duration of at least 1s (e.g. 30s, 5m, 24h) or off", part)
		}
		out[name] = d
	}
	return out, nil
}

// Leases are the per-job leases that let one replica, and only one, run a job in each period.
type Leases interface {
	// Acquire takes job's lease for holder until `until` when it is free (absent, or expired at
	// now; a live lease is not free even for its own holder, so a job runs once per period). It
	// reports whether holder now holds it.
	Acquire(ctx context.Context, job, holder string, now, until time.Time) (bool, error)
	// Release records the outcome of holder's run and moves the lease's expiry to until, so that
	// the job is not run again before the period ends (or, after a failure, is retried sooner).
	Release(ctx context.Context, job, holder string, rec RunRecord, until time.Time) error
}

// RunRecord is the outcome of one scheduled run, kept on the lease for operators.
type RunRecord struct {
	StartedAt  time.Time
	FinishedAt time.Time
	Summary    string
	Error      string // "" on success
}

// Scheduler runs jobs on their intervals, each under a lease per period so that only one of many
// replicas runs a job at a time.
type Scheduler struct {
	leases Leases
	clock  clock.Clock
	holder string
	log    *slog.Logger
	// RetryAfterFailure bounds how long a failed job waits before any replica retries it
	// (default 1m, or the interval when shorter).
	RetryAfterFailure time.Duration
	// MaxStartDelay spreads the first runs of the jobs after start (default 10s).
	MaxStartDelay time.Duration
}

// NewScheduler builds a scheduler that takes leases as holder.
func NewScheduler(leases Leases, clk clock.Clock, holder string, logger *slog.Logger) *Scheduler {
	if logger == nil {
		logger = slog.Default()
	}
	return &Scheduler{
		leases: leases, clock: clk, holder: holder, log: logger.With("component", "scheduler"),
		RetryAfterFailure: time.Minute, MaxStartDelay: 10 * time.Second,
	}
}

// Run runs the schedules until ctx is cancelled, then waits for the jobs still running (they get
// the cancelled context and must stop promptly) and returns.
func (s *Scheduler) Run(ctx context.Context, schedules []Schedule) {
	var wg sync.WaitGroup
	for _, sc := range schedules {
		wg.Add(1)
		go func(sc Schedule) {
			defer wg.Done()
			s.loop(ctx, sc)
		}(sc)
	}
	wg.Wait()
}

func (s *Scheduler) loop(ctx context.Context, sc Schedule) {
	// Replicas that start together should not all race for every lease at the same instant.
	first := time.Duration(0)
	if spread := min(sc.Every, s.MaxStartDelay); spread > 0 {
		first = time.Duration(mrand.Int64N(int64(spread)))
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.RunDue(ctx, sc)
		t.Reset(sc.Every)
	}
}

// RunDue runs sc's job once if this scheduler wins the job's lease for the current period, and
// reports whether it ran.
func (s *Scheduler) RunDue(ctx context.Context, sc Schedule) bool {
	name := sc.Job.Name
	log := s.log.With("job", name)
	now := s.clock.Now()
	// The lease covers the whole period, minus a little slack so that the holder's next tick,
	// which comes one period later on its own timer, finds it expired.
	until := now.Add(sc.Every - min(sc.Every/10, 5*time.Second))
	ok, err := s.leases.Acquire(ctx, name, s.holder, now, until)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("cannot take the job's lease; skipping this period", "error", err.Error())
		}
		return false
	}
	if !ok {
		log.Debug("another replica holds the job's lease for this period")
		return false
	}
	start := time.Now()
	rec := RunRecord{StartedAt: now}
	summary, runErr := sc.Job.Run(ctx, func(line string) { log.Info("job progress", "progress", line) })
	rec.FinishedAt, rec.Summary = s.clock.Now(), summary
	took := time.Since(start).Round(time.Millisecond)
	next := until
	switch {
	case runErr != nil && errors.Is(runErr, context.Canceled) && ctx.Err() != nil:
		rec.Error = "interrupted: the process stopped"
		next = rec.FinishedAt // free for another replica at once
		log.Info("job interrupted by shutdown", "took", took.String())
	case runErr != nil:
		rec.Error = runErr.Error()
		next = rec.FinishedAt.Add(min(s.RetryAfterFailure, sc.Every))
		log.Error("job failed", "summary", summary, "error", runErr.Error(), "took", took.String())
	default:
		log.Info("job done", "summary", summary, "took", took.String())
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.leases.Release(rctx, name, s.holder, rec, next); err != nil {
		log.Warn("cannot record the job's run on its lease", "error", err.Error())
	}
	return true
}
