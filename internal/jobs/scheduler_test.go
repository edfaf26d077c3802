package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
)

// countingJob counts its runs.
func countingJob(name string, runs *atomic.Int64, fail *atomic.Bool) jobs.Job {
	return jobs.Job{Name: name, Run: func(ctx context.Context, progress func(string)) (string, error) {
		runs.Add(1)
		if fail != nil && fail.Load() {
			return "", fmt.Errorf("boom")
		}
		return "ok", nil
	}}
}

func TestSchedulerRunsEachJobOncePerPeriodAcrossReplicas(t *testing.T) {
	t.Parallel()
	// Leases in a project of the test's own, on the real emulator.
	env := testenv.Require(t).IsolatedProject(t)
	fs := env.Firestore(t)
	leases := store.New(fs).JobLeases()
	clk := clock.NewManual(time.Now())
	var runs atomic.Int64
	var fail atomic.Bool
	sc := jobs.Schedule{Job: countingJob("count", &runs, &fail), Every: time.Hour}
	replicas := []*jobs.Scheduler{
		jobs.NewScheduler(leases, clk, "replica-a", nil),
		jobs.NewScheduler(leases, clk, "replica-b", nil),
		jobs.NewScheduler(leases, clk, "replica-c", nil),
	}
	ctx := context.Background()

	// All three tick at once: one runs.
	var ran atomic.Int64
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.RunDue(ctx, sc) {
				ran.Add(1)
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 1 || runs.Load() != 1 {
		t.Fatalf("3 replicas ticking together: %d ran (job ran %d times), want 1", ran.Load(), runs.Load())
	}
	// Later in the same period: nobody.
	clk.Advance(30 * time.Minute)
	for _, r := range replicas {
		if r.RunDue(ctx, sc) {
			t.Fatal("a replica ran the job twice in one period")
		}
	}
	// Next period: exactly one again.
	clk.Advance(31 * time.Minute)
	n := 0
	for _, r := range replicas {
		if r.RunDue(ctx, sc) {
			n++
		}
	}
	if n != 1 || runs.Load() != 2 {
		t.Fatalf("next period: %d replicas ran, job ran %d times in total; want 1 and 2", n, runs.Load())
	}
	// A failed run frees the lease after RetryAfterFailure (1m), not a whole period.
	clk.Advance(61 * time.Minute)
	fail.Store(true)
	if !replicas[0].RunDue(ctx, sc) {
		t.Fatal("replica a did not run the job in a new period")
	}
	fail.Store(false)
	clk.Advance(30 * time.Second)
	if replicas[1].RunDue(ctx, sc) {
		t.Fatal("the failed job was retried before RetryAfterFailure")
	}
	clk.Advance(31 * time.Second)
	if !replicas[1].RunDue(ctx, sc) {
		t.Fatal("the failed job was not retried by another replica after RetryAfterFailure")
	}
	snap, err := fs.Collection("jobLeases").Doc("count").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := snap.DataAt("holder"); h != "replica-b" {
		t.Errorf("lease holder %v, want replica-b", h)
	}
	if s, _ := snap.DataAt("lastRun.summary"); s != "ok" {
		t.Errorf("lastRun.summary %v, want ok", s)
	}
}

func TestSchedulesAndIntervals(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry(
		jobs.Job{Name: "a"},
		jobs.Job{Name: "b", Interval: 5 * time.Minute},
		jobs.Job{Name: "c", Interval: jobs.NotScheduled},
	)
	got := func(over map[string]time.Duration) string {
		s, err := reg.Schedules(over)
		if err != nil {
			return "error: " + err.Error()
		}
		var parts []string
		for _, x := range s {
			parts = append(parts, x.Job.Name+"="+x.Every.String())
		}
		return strings.Join(parts, ",")
	}
	if s := got(nil); s != "a=1h0m0s,b=5m0s" {
		t.Errorf("defaults: %s", s)
	}
	if s := got(map[string]time.Duration{"a": 0, "c": 10 * time.Second}); s != "b=5m0s,c=10s" {
		t.Errorf("overrides: %s", s)
	}
	if s := got(map[string]time.Duration{"nope": time.Minute}); !strings.Contains(s, "unknown jobs [nope]") {
		t.Errorf("unknown job: %s", s)
	}
	m, err := jobs.ParseIntervals(" outbox=5s, purge-idempotency-records=1h ,expire-trials=off")
	if err != nil || m["outbox"] != 5*time.Second || m["purge-idempotency-records"] != time.Hour || m["expire-trials"] != 0 || len(m) != 3 {
		t.Errorf("ParseIntervals: %v, %v", m, err)
	}
	for _, bad := range []string{"outbox", "outbox=fast", "outbox=5ms", "a=1h,a=2h", "=1h"} {
		if _, err := jobs.ParseIntervals(bad); err == nil {
			t.Errorf("ParseIntervals(%q) accepted", bad)
		}
	}
}
