package tenancy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/rules"
)

// Tombstone is what remains of a purged tenant: purgedTenants/{id}, with no personal data (no
// name, subdomain, address or member): the ids and dates support needs to answer "what became of
// tenant X", the Stripe ids billing needs to reconcile, and what the purge deleted.
type Tombstone struct {
	TenantID       string
	PlanID         string
	Source         Source
	CreatedAt      time.Time
	CancelledAt    time.Time // the tenant's statusChangedAt when the purge began
	PurgeStartedAt time.Time
	Actor          Actor  // the job that purged it
	RequestID      string // the job run
}

// PurgeStore is the persistence of the purge. Every method is idempotent: a purge interrupted
// anywhere is finished by running it again.
type PurgeStore interface {
	// DuePurges lists up to limit ids of tenants to purge: cancelled at or before cancelledBefore,
	// or whose purge began (a tombstone still purging, with the tenant document maybe gone).
	DuePurges(ctx context.Context, cancelledBefore time.Time, limit int) ([]string, error)
	// StartPurge runs one transaction on the tenant: decide sees it as read there and returns
	// its tombstone, or an error that aborts with nothing written. The first time, it marks the
	// tenant (PurgeStartedAt) and creates the tombstone in state purging (copying the Stripe ids
	// of the billing record); later it changes nothing. A tenant already gone whose tombstone
	// is purging is resumed without calling decide; anything else missing is errs.ErrNotFound.
	StartPurge(ctx context.Context, tenantID string, decide func(Tenant) (Tombstone, error)) error
	// PurgeBatch deletes at most size documents of a tenant whose purge began, in one commit
	// that also adds them to the tombstone's counts: first the records elsewhere that name it
	// (subdomain, domain claims, idempotency records, service tokens, invitation tokens, join
	// requests, outbox entries, users' links to it, its billing record), then every document
	// under tenants/{id}, at any depth. When nothing is left it deletes the tenant document, marks
	// the tombstone purged at now, creates the outbox entries last (the tenant.purged event) and
	// reports done, in one commit.
	PurgeBatch(ctx context.Context, tenantID string, size int, now time.Time, last []OutboxEntry) (deleted int, done bool, err error)
}

// PurgeOptions tunes a purge run; zero values take the defaults.
type PurgeOptions struct {
	BatchSize int // documents per commit (default 200, at most 500, Firestore's limit)
	// MaxBatches stops the run after that many commits (0: no limit), as an interrupted run
	// would stop; the next run finishes the work.
	MaxBatches int
}

// PurgeResult counts what a run did.
type PurgeResult struct {
	Purged    int // tenants whose purge finished in this run
	Documents int // documents deleted or unlinked, all tenants together
	Skipped   int // no longer due when their transaction read them (reactivated, say)
	Failed    int
}

func (r PurgeResult) String() string {
	return fmt.Sprintf("%d tenants purged (%d documents deleted), %d skipped (no longer due), %d failed", r.Purged, r.Documents, r.Skipped, r.Failed)
}

// ErrPurgeStopped is returned when a run stopped at PurgeOptions.MaxBatches.
var ErrPurgeStopped = errors.New("the purge stopped at its batch limit; run it again to finish")

// purgeSystem names the job in tombstones.
const purgeSystem = "purge-cancelled-tenants"

// PurgeCancelled purges every tenant cancelled for longer than the retention, and finishes every
// purge that an earlier run left midway. It is idempotent (a second run finds nothing) and safe to
// interrupt anywhere: each batch is one commit, and the tombstone says a purge is under way.
func (s *Service) PurgeCancelled(ctx context.Context, opts PurgeOptions, progress func(PurgeResult)) (PurgeResult, error) {
	opts.BatchSize = min(max(opts.BatchSize, 0), 500)
	if opts.BatchSize == 0 {
		opts.BatchSize = 200
	}
	if reqctx.RequestID(ctx) == "" {
		ctx = reqctx.WithRequestID(ctx, purgeSystem+"-"+rand.Text()[:12])
	}
	now := s.clock.Now()
	run := &purgeRun{s: s, opts: opts, now: now, seen: map[string]bool{}}
	var firstErr error
	for {
		ids, err := s.store.DuePurges(ctx, now.Add(-s.cfg.CancelledRetention), 100)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return run.res, fmt.Errorf("purge cancelled tenants: %w", err)
		}
		fresh := 0
		for _, id := range ids {
			if run.seen[id] {
				continue
			}
			run.seen[id], fresh = true, fresh+1
			if err := run.tenant(ctx, id); err != nil {
				if errors.Is(err, ErrPurgeStopped) || ctx.Err() != nil {
					return run.res, fmt.Errorf("purge of tenant %s: %w", id, err)
				}
				run.res.Failed++
				firstErr = cmp(firstErr, fmt.Errorf("tenant %s: %w", id, err))
			}
			if progress != nil {
				progress(run.res)
			}
		}
		if fresh == 0 {
			break
		}
	}
	if firstErr != nil {
		return run.res, fmt.Errorf("purge cancelled tenants: %d failed (first: %w); run the job again", run.res.Failed, firstErr)
	}
	return run.res, nil
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// purgeRun is one run's state: its options, cut-off, batch count and totals.
type purgeRun struct {
	s       *Service
	opts    PurgeOptions
	now     time.Time
	batches int
	seen    map[string]bool
	res     PurgeResult
}

// tenant purges one tenant: it marks the purge begun (the point of no return: Reactivate refuses
// from then on), then deletes in batches until nothing is left.
func (r *purgeRun) tenant(ctx context.Context, id string) error {
	s := r.s
	err := s.store.StartPurge(ctx, id, func(t Tenant) (Tombstone, error) {
		if t.PurgeStartedAt.IsZero() && (t.Status != rules.StatusCancelled || s.PurgeAfter(t).After(r.now)) {
			return Tombstone{}, errPurgeNotDue
		}
		return Tombstone{
			TenantID: t.ID, PlanID: t.PlanID, Source: t.Source, CreatedAt: t.CreatedAt, CancelledAt: t.StatusChangedAt,
			PurgeStartedAt: s.clock.Now(), Actor: Actor{System: purgeSystem}, RequestID: reqctx.RequestID(ctx),
		}, nil
	})
	if errors.Is(err, errPurgeNotDue) {
		r.res.Skipped++
		return nil
	}
	if err != nil {
		return err
	}
	for {
		if r.opts.MaxBatches > 0 && r.batches >= r.opts.MaxBatches {
			return ErrPurgeStopped
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		now := s.clock.Now()
		purged := s.Events().Emit(id, TenantPurged{TenantID: id, PurgedAt: eventTime(now)}, now)
		n, done, err := s.store.PurgeBatch(ctx, id, r.opts.BatchSize, now, purged)
		r.batches++
		r.res.Documents += n
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if done {
			r.res.Purged++
			return nil
		}
	}
}
