package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/outbox"
)

const jobsUsage = `usage:
  tenantry jobs list
  tenantry jobs run NAME [--loop] [--interval DURATION]
  tenantry jobs outbox-status [--limit N]
  tenantry jobs outbox-retry ID
`

func jobsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, jobsUsage)
		return 2
	}
	sub := args[0]
	switch sub {
	case "list", "run", "outbox-status", "outbox-retry":
	default:
		fmt.Fprintf(stderr, "tenantry jobs: unknown subcommand %q\n%s", sub, jobsUsage)
		return 2
	}
	fset := flag.NewFlagSet("jobs "+sub, flag.ContinueOnError)
	fset.SetOutput(stderr)
	loop := fset.Bool("loop", false, "run: repeat the job until interrupted")
	interval := fset.Duration("interval", 0, "run --loop: pause between runs (default: TENANTRY_OUTBOX_POLL_INTERVAL for outbox, 1m otherwise)")
	limit := fset.Int("limit", 20, "outbox-status: how many dead-lettered entries to list")
	// Flags may come before or after the positional argument (`jobs run outbox --loop`), which
	// the flag package alone does not allow: parse, take one positional, parse the rest.
	var positional []string
	rest := args[1:]
	for {
		if err := fset.Parse(rest); err != nil {
			return 2
		}
		if fset.NArg() == 0 {
			break
		}
		positional = append(positional, fset.Arg(0))
		rest = fset.Args()[1:]
	}
	wantArgs := map[string]int{"list": 0, "run": 1, "outbox-status": 0, "outbox-retry": 1}[sub]
	if len(positional) != wantArgs {
		fmt.Fprint(stderr, jobsUsage)
		return 2
	}

	return withApp(stderr, nil, func(ctx context.Context, cfg config.Config, a *app.App) int {
		switch sub {
		case "list":
			for _, j := range a.Jobs.List() {
				fmt.Fprintf(stdout, "%-28s %s\n", j.Name, j.Description)
			}
			return 0
		case "outbox-status":
			return outboxStatus(ctx, a, *limit, stdout, stderr)
		case "outbox-retry":
			return outboxRetry(ctx, a, positional[0], stdout, stderr)
		}

		name := positional[0]
		job, found := a.Jobs.Get(name)
		if !found {
			fmt.Fprintf(stderr, "tenantry: no job named %q; `tenantry jobs list` shows the jobs\n", name)
			return 2
		}
		if !*loop {
			return runJobOnce(ctx, job, stdout, stderr)
		}
		every := *interval
		if every <= 0 {
			every = time.Minute
			if name == app.JobOutbox {
				every = cfg.OutboxPollInterval
			}
		}
		return runJobLoop(ctx, job, every, stdout, stderr)
	})
}

func runJobOnce(ctx context.Context, job jobs.Job, stdout, stderr io.Writer) int {
	name := job.Name
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

// runJobLoop runs job every interval until interrupted; a failing run is reported and retried at
// the next interval. A summary identical to the previous one (an idle outbox, say) is not printed
// again; the count of repeats is, once the summary changes or the loop stops.
func runJobLoop(ctx context.Context, job jobs.Job, every time.Duration, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "%s: running every %s until interrupted (Ctrl-C)\n", job.Name, every)
	last, repeats := "", 0
	flushRepeats := func() {
		if repeats > 0 {
			fmt.Fprintf(stdout, "%s: (the same %d more times)\n", job.Name, repeats)
			repeats = 0
		}
	}
	runs, failures := 0, 0
	for {
		summary, err := job.Run(ctx, func(line string) { fmt.Fprintf(stdout, "%s: %s\n", job.Name, line) })
		runs++
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			flushRepeats()
			fmt.Fprintf(stderr, "%s: %s: run failed: %v; retrying in %s\n", job.Name, time.Now().UTC().Format(time.RFC3339), err, every)
			last = ""
		case summary == last:
			repeats++
		default:
			flushRepeats()
			fmt.Fprintf(stdout, "%s: %s: %s\n", job.Name, time.Now().UTC().Format(time.RFC3339), summary)
			last = summary
		}
		if ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
		if ctx.Err() != nil {
			flushRepeats()
			fmt.Fprintf(stdout, "%s: stopped after %d runs (%d failed)\n", job.Name, runs, failures)
			return 0
		}
	}
}

func outboxStatus(ctx context.Context, a *app.App, limit int, stdout, stderr io.Writer) int {
	st, err := a.Outbox.Status(ctx, limit)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: outbox status: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "outbox: pending %d, done %d, dead %d\n",
		st.Counts[outbox.StatePending], st.Counts[outbox.StateDone], st.Counts[outbox.StateDead])
	fmt.Fprintf(stdout, "this build performs: %v\n", a.Outbox.Kinds())
	if len(st.Dead) == 0 {
		fmt.Fprintln(stdout, "no dead-lettered entries")
		return 0
	}
	fmt.Fprintf(stdout, "\ndead-lettered entries (most recent first, up to %d):\n", limit)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tTENANT\tATTEMPTS\tDEAD AT\tLAST ERROR")
	for _, e := range st.Dead {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Kind, e.TenantID, e.Attempts, e.DeadAt.UTC().Format(time.RFC3339), e.LastError)
	}
	_ = tw.Flush()
	fmt.Fprintln(stdout, "\nsend one back with: tenantry jobs outbox-retry ID")
	return 0
}

func outboxRetry(ctx context.Context, a *app.App, id string, stdout, stderr io.Writer) int {
	e, err := a.Outbox.Retry(ctx, id)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		fmt.Fprintf(stderr, "tenantry: no outbox entry %q; `tenantry jobs outbox-status` lists the dead ones\n", id)
		return 1
	case errors.Is(err, outbox.ErrNotDead):
		fmt.Fprintf(stderr, "tenantry: outbox entry %s is %s, not dead; only dead entries can be retried\n", id, e.State)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "tenantry: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "outbox entry %s (%s) is pending again, due now with a fresh budget of attempts; its last error was: %s\n", e.ID, e.Kind, e.LastError)
	return 0
}
