package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/schollz/progressbar/v3"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/doctor"
	"github.com/tenantry/tenantry/internal/store"
)

const doctorUsage = `usage: tenantry doctor [--repair] [--json] [--tenant ID[,ID…]] [--billing-pending-for D] [--outbox-stuck-for D] [--workers N]`

// doctorConnectTimeout bounds the first read, which tells an unreachable Firestore (exit 2) from
// a slow scan.
var doctorConnectTimeout = 15 * time.Second

// doctorCmd checks the invariants (package doctor): exit 0 when nothing is left broken, 1 when
// findings remain, 2 when the scan could not run.
func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fl.SetOutput(stderr)
	repair := fl.Bool("repair", false, "repair what is safe (counters, users/{uid} links), each fix audited in the tenant's log")
	asJSON := fl.Bool("json", false, "print the report as JSON on stdout, without progress")
	var tenants []string
	fl.Func("tenant", "check only this tenant and the documents naming it (repeatable, or comma-separated)", func(v string) error {
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				tenants = append(tenants, id)
			}
		}
		return nil
	})
	billingFor := fl.Duration("billing-pending-for", 0, "report billing records pending longer than this (default TENANTRY_DOCTOR_BILLING_PENDING_FOR)")
	stuckFor := fl.Duration("outbox-stuck-for", 0, "report pending outbox entries overdue by more than this (default TENANTRY_DOCTOR_OUTBOX_STUCK_FOR)")
	workers := fl.Int("workers", 0, "check this many tenants at once, 1 to 64 (default TENANTRY_DOCTOR_WORKERS)")
	if err := fl.Parse(args); err != nil || fl.NArg() > 0 || *workers < 0 || *workers > 64 {
		fmt.Fprintln(stderr, doctorUsage)
		return 2
	}
	cfg, ok := load(stderr)
	if !ok {
		return 2
	}
	if *billingFor > 0 {
		cfg.DoctorBillingPendingFor = *billingFor
	}
	if *stuckFor > 0 {
		cfg.DoctorOutboxStuckFor = *stuckFor
	}
	if *workers > 0 {
		cfg.DoctorWorkers = *workers
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fs, err := firestore.NewClient(ctx, cfg.Project)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry doctor: connect to Firestore: %v (check credentials, or FIRESTORE_EMULATOR_HOST locally)\n", err)
		return 2
	}
	defer fs.Close()
	st := store.New(fs)
	if err := ping(ctx, st); err != nil {
		fmt.Fprintf(stderr, "tenantry doctor: cannot reach Firestore (project %s): %v; check the network, credentials or FIRESTORE_EMULATOR_HOST and run again\n", cfg.Project, err)
		return 2
	}
	opts := doctor.Options{TenantIDs: tenants, Repair: *repair}
	if !*asJSON {
		opts.Progress = progressTo(stderr)
	}
	report, err := app.NewDoctor(cfg, st, clock.System{}).Scan(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "\ntenantry doctor: the scan stopped: %v; nothing is wrong with running it again\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(report)
	} else {
		fmt.Fprintln(stderr)
		printReport(stdout, report, *repair)
	}
	if !report.Clean {
		return 1
	}
	return 0
}

func ping(ctx context.Context, st *store.Store) error {
	ctx, cancel := context.WithTimeout(ctx, doctorConnectTimeout)
	defer cancel()
	return st.Ping(ctx)
}

// progressTo shows the documents read so far on w, and what is being read.
func progressTo(w io.Writer) func(phase string, done int) {
	bar := documentsBar(w)
	byPhase := map[string]int{}
	return func(phase string, done int) {
		byPhase[phase] = done
		total := 0
		for _, n := range byPhase {
			total += n
		}
		bar.Describe("doctor: " + phase)
		_ = bar.Set(total)
	}
}

// documentsBar is a progress bar on w of documents read so far, with their rate (documents/s);
// its total is unknown.
func documentsBar(w io.Writer) *progressbar.ProgressBar {
	return progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("documents"),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

// printReport prints the findings grouped by kind, each kind with what to do.
func printReport(w io.Writer, r doctor.Report, repaired bool) {
	byKind := map[doctor.Kind][]doctor.Finding{}
	for _, f := range r.Findings {
		byKind[f.Kind] = append(byKind[f.Kind], f)
	}
	for _, k := range doctor.Kinds() {
		list := byKind[k]
		if len(list) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (%d)\n  what to do: %s\n", k, len(list), doctor.Advice(k))
		for _, f := range list {
			mark := ""
			if f.Repaired {
				mark = " [repaired]"
			}
			fmt.Fprintf(w, "  %s: %s%s\n", f.Path, f.Detail, mark)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, r.Summary())
	if !r.Clean && !repaired {
		fmt.Fprintln(w, "counters and user links can be repaired with --repair; the rest needs a person (see docs/operations.md)")
	}
}
