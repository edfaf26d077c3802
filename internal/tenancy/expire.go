package tenancy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/rules"
)

// DueTrial is a tenant the expire-trials query returned: in trial, its trial ended.
type DueTrial struct {
	TenantID    string
	TrialEndsAt time.Time
}

// TrialCursor is where a page of due trials starts: after this (trialEndsAt, id). The zero value
// starts at the beginning.
type TrialCursor struct {
	TrialEndsAt time.Time
	TenantID    string
}

// ExpireTrialsOptions tunes the job; zero values take the defaults.
type ExpireTrialsOptions struct {
	PageSize int // tenants listed per query (default 300)
	Workers  int // transitions in flight at once (default 8); each is its own short transaction
}

// ExpireTrialsResult counts what a run did.
type ExpireTrialsResult struct {
	Expired   int // moved to trial_expired, with a conversion email queued
	Activated int // moved to active: a signed contract was on file
	Skipped   int // no longer due when its transaction read it (extended, converted, …)
	Failed    int // the transition failed; the next run retries it
}

func (r ExpireTrialsResult) String() string {
	return fmt.Sprintf("%d expired, %d activated (signed contract), %d skipped (no longer due), %d failed",
		r.Expired, r.Activated, r.Skipped, r.Failed)
}

// errNotDue is a due-trial guard's refusal: the tenant changed since the page was listed.
var errNotDue = errors.New("the tenant is no longer a due trial")

// expireSystem names the job in history entries.
const expireSystem = "expire-trials"

// ExpireTrials moves every tenant whose trial ended by now from trial to trial_expired (or to
// active when it has a signed contract), a page at a time. Each tenant goes through transition,
// in its own short transaction that checks again that it is still a trial that ended, so the
// job is idempotent (a second run finds nothing to do and queues no second email), resumable (a
// crashed run is simply run again: what it finished left the query) and safe next to the API and
// another copy of itself. progress, if not nil, is called after each page with the totals.
func (s *Service) ExpireTrials(ctx context.Context, opts ExpireTrialsOptions, progress func(ExpireTrialsResult)) (ExpireTrialsResult, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 300
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	// One cut-off for the run: trials that end while it runs wait for the next run, so the run
	// has an end even under a steady stream of expiries.
	cutoff := s.clock.Now()
	if reqctx.RequestID(ctx) == "" {
		// The run id stands in for the request id in the history entries of this run.
		ctx = reqctx.WithRequestID(ctx, expireSystem+"-"+rand.Text()[:12])
	}
	var tally expireTally
	var cursor TrialCursor
	for {
		page, err := s.store.DueTrials(ctx, cutoff, cursor, opts.PageSize)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return tally.res, fmt.Errorf("expire trials: %w", err)
		}
		if len(page) == 0 {
			break
		}
		s.expirePage(ctx, page, cutoff, opts.Workers, &tally)
		if err := ctx.Err(); err != nil {
			return tally.res, fmt.Errorf("expire trials: %w", err)
		}
		if progress != nil {
			progress(tally.res)
		}
		last := page[len(page)-1]
		cursor = TrialCursor{TrialEndsAt: last.TrialEndsAt, TenantID: last.TenantID}
		if len(page) < opts.PageSize {
			break
		}
	}
	return tally.outcome()
}

// expirePage ends the page's trials, up to workers at once, and returns when all the started
// ones are done; once ctx is done it starts no more.
func (s *Service) expirePage(ctx context.Context, page []DueTrial, cutoff time.Time, workers int, tally *expireTally) {
	work := make(chan DueTrial)
	var wg sync.WaitGroup
	for range min(workers, len(page)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				to, err := s.expireTrial(ctx, d.TenantID, cutoff)
				tally.add(d.TenantID, to, err)
			}
		}()
	}
feed:
	for _, d := range page {
		select {
		case work <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
}

// expireTally adds up a run's outcomes as the workers report them; res is safe to read between
// pages, when no worker runs.
type expireTally struct {
	mu       sync.Mutex
	res      ExpireTrialsResult
	firstErr error
}

func (t *expireTally) add(tenantID string, to rules.Status, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err == nil && to == rules.StatusActive:
		t.res.Activated++
	case err == nil:
		t.res.Expired++
	case errors.Is(err, errNotDue):
		t.res.Skipped++
	default:
		t.res.Failed++
		if t.firstErr == nil {
			t.firstErr = fmt.Errorf("tenant %s: %w", tenantID, err)
		}
	}
}

// outcome is the run's result, and an error when any tenant failed.
func (t *expireTally) outcome() (ExpireTrialsResult, error) {
	if t.res.Failed > 0 {
		return t.res, fmt.Errorf("expire trials: %d tenants failed (first: %w); run the job again, it retries only what is still due", t.res.Failed, t.firstErr)
	}
	return t.res, nil
}

// expireTrial ends one trial that was due at cutoff and says which status it moved to.
func (s *Service) expireTrial(ctx context.Context, tenantID string, cutoff time.Time) (rules.Status, error) {
	t, err := s.transition(ctx, tenantID, transitionRequest{
		to:     rules.StatusTrialExpired,
		actor:  Actor{System: expireSystem},
		cause:  CauseTrialClock,
		reason: "the trial ended",
		guard: func(t Tenant, req *transitionRequest) error {
			if t.Status != rules.StatusTrial || t.TrialEndsAt.After(cutoff) {
				return errNotDue
			}
			if t.Contract != nil {
				// Sales closed the deal before the trial ran out: no read-only day, no
				// conversion email.
				req.to, req.reason = rules.StatusActive, "the trial ended with a signed contract on file"
			}
			return nil
		},
	})
	return t.Status, err
}
