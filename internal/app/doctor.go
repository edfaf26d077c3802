package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/doctor"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/store"
)

// JobDoctor is the job that checks the invariants (report only; `tenantry doctor --repair` repairs).
const JobDoctor = "doctor"

// NewDoctor is the invariant checker over st with cfg's thresholds; `tenantry doctor` and the job
// both run it.
func NewDoctor(cfg config.Config, st *store.Store, clk clock.Clock) *doctor.Service {
	return doctor.NewService(st.Doctor(), clk, doctor.Config{
		BillingPendingFor: cfg.DoctorBillingPendingFor, OutboxStuckFor: cfg.DoctorOutboxStuckFor,
		Workers: cfg.DoctorWorkers,
	})
}

// doctorJob scans every tenant once a day and logs the counts of what it found, by kind: never a
// path, which names users and domains. It repairs nothing: repairs are an operator's call.
func doctorJob(svc *doctor.Service) jobs.Job {
	return jobs.Job{
		Name:        JobDoctor,
		Description: "check the invariants across documents and log the broken ones by kind (report only; `tenantry doctor` shows the paths and repairs); daily",
		Interval:    24 * time.Hour,
		Run: func(ctx context.Context, progress func(string)) (string, error) {
			r, err := svc.Scan(ctx, doctor.Options{})
			if err != nil {
				return r.Summary(), err
			}
			attrs := []any{"tenants", r.Scanned[doctor.ScannedTenants]}
			for kind, n := range r.CountsByKind() {
				attrs = append(attrs, string(kind), n)
			}
			if r.Clean {
				slog.InfoContext(ctx, "doctor: every invariant holds", attrs...)
			} else {
				slog.WarnContext(ctx, "doctor: broken invariants found; run `tenantry doctor` for the paths", attrs...)
			}
			return r.Summary(), nil
		},
	}
}
