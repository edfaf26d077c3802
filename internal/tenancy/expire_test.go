package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// TestExpireTrialsThousand seeds 1,000 tenants with mixed end dates around the cut-off (and a few
// that must not be touched: other statuses with a passed trialEndsAt, trials with a signed
// contract) and runs the job twice with an injected clock.
func TestExpireTrialsThousand(t *testing.T) {
	t.Parallel()
	base := time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)
	cutoff := base.Add(24 * time.Hour)
	f := newFixture(t, clock.NewManual(cutoff))
	prefix := testenv.UniqueID("exp-")

	want := map[string]rules.Status{} // what each tenant must end as
	wantEmail := map[string]bool{}    // the tenants this run must queue a conversion email for
	var seeds []testenv.Tenant
	for i := range 1000 {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		s := testenv.Tenant{ID: id, Status: rules.StatusTrial}
		// End dates spread over two days around the cut-off, to the microsecond; one tenant ends
		// exactly at the cut-off (due: the trial is over at trialEndsAt).
		s.TrialEndsAt = base.Add(time.Duration(rand.Int64N(int64(48*time.Hour))) / time.Microsecond * time.Microsecond)
		if i == 0 {
			s.TrialEndsAt = cutoff
		}
		switch {
		case i%50 == 1:
			s.Status = rules.StatusActive // past its trial end, but not a trial: untouched
		case i%50 == 2:
			s.Status = rules.StatusTrialExpired // already expired: untouched, no second email
		case i%50 == 3:
			s.Contract = map[string]any{"reference": "CRM-" + id} // a signed contract: active instead, no email
		}
		due := s.Status == rules.StatusTrial && !s.TrialEndsAt.After(cutoff)
		switch {
		case due && s.Contract != nil:
			want[id] = rules.StatusActive
		case due:
			want[id] = rules.StatusTrialExpired
			wantEmail[id] = true
		default:
			want[id] = s.Status
		}
		seeds = append(seeds, s)
	}
	start := time.Now()
	testenv.SeedTenants(t, f.fs, seeds...)
	t.Logf("seeded 1,000 tenants in %s", time.Since(start).Round(time.Millisecond))

	wantExpired, wantActivated := len(wantEmail), 0
	for _, s := range seeds {
		if s.Status == rules.StatusTrial && want[s.ID] == rules.StatusActive {
			wantActivated++
		}
	}

	ctx := context.Background()
	var reports []tenancy.ExpireTrialsResult
	start = time.Now()
	res, err := f.svc.ExpireTrials(ctx, tenancy.ExpireTrialsOptions{PageSize: 100}, func(r tenancy.ExpireTrialsResult) { reports = append(reports, r) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %s in %s, %d progress reports", res, time.Since(start).Round(time.Millisecond), len(reports))
	if res.Expired != wantExpired || res.Activated != wantActivated || res.Failed != 0 {
		t.Errorf("first run: %s; want %d expired, %d activated, 0 failed", res, wantExpired, wantActivated)
	}
	if len(reports) < wantExpired/100 {
		t.Errorf("%d progress reports for %d pages", len(reports), wantExpired/100)
	}

	check := func(run string) {
		t.Helper()
		// One query reads every tenant back; their outbox entries are fetched by id prefix.
		tenants := f.fs.Collection("tenants")
		snaps, err := tenants.Where(firestore.DocumentID, ">=", tenants.Doc(prefix)).
			Where(firestore.DocumentID, "<", tenants.Doc(prefix+"~")).Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) != len(seeds) {
			t.Fatalf("%s: read back %d tenants, want %d", run, len(snaps), len(seeds))
		}
		mismatches := 0
		for _, s := range snaps {
			got, _ := s.DataAt("status")
			if got != string(want[s.Ref.ID]) {
				if mismatches++; mismatches <= 10 {
					trialEnd, _ := s.DataAt("trialEndsAt")
					t.Errorf("%s: %s is %v, want %s (trial ends %v, cut-off %s)", run, s.Ref.ID, got, want[s.Ref.ID], trialEnd, cutoff)
				}
			}
		}
		emails, err := f.fs.Collection("outbox").Where("kind", "==", kinds.TrialExpiredEmail{}.Kind()).
			Where("tenantId", ">=", prefix).Where("tenantId", "<", prefix+"~").Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		perTenant := map[string]int{}
		for _, e := range emails {
			tid, _ := e.DataAt("tenantId")
			perTenant[tid.(string)]++
			if !wantEmail[tid.(string)] {
				t.Errorf("%s: conversion email for %s, which was not a due trial", run, tid)
			}
			wantID := kinds.ID(kinds.TrialExpiredEmail{}, tid.(string)+"-"+strconv.FormatInt(cutoff.UnixNano(), 10))
			if e.Ref.ID != wantID {
				t.Errorf("%s: outbox id %s, want %s", run, e.Ref.ID, wantID)
			}
			if state, _ := e.DataAt("state"); state != "pending" {
				t.Errorf("%s: outbox entry %s is %v, want pending", run, e.Ref.ID, state)
			}
		}
		for id := range wantEmail {
			if perTenant[id] != 1 {
				t.Errorf("%s: %s has %d conversion emails, want 1", run, id, perTenant[id])
			}
		}
	}
	check("first run")

	// Every change is in the history, dated by the injected clock, with the run's id.
	for _, s := range seeds[:60] {
		h := f.history(t, s.ID)
		if s.Status != rules.StatusTrial || want[s.ID] == rules.StatusTrial {
			if len(h) != 0 {
				t.Errorf("%s was not due but has history %+v", s.ID, h)
			}
			continue
		}
		if len(h) != 1 || h[0].From != rules.StatusTrial || h[0].To != want[s.ID] || h[0].Actor.System != "expire-trials" ||
			h[0].Actor.UID != "" || h[0].RequestID == "" || !h[0].At.Equal(cutoff) {
			t.Errorf("history of %s = %+v", s.ID, h)
		}
	}

	// A second run changes nothing and queues no email.
	res2, err := f.svc.ExpireTrials(ctx, tenancy.ExpireTrialsOptions{PageSize: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2 != (tenancy.ExpireTrialsResult{}) {
		t.Errorf("second run: %s; want nothing done", res2)
	}
	check("second run")
}

// TestExpireTrialsResumes interrupts a run after its first page: running the job again finishes
// the rest, and no tenant gets two emails.
func TestExpireTrialsResumes(t *testing.T) {
	t.Parallel()
	base := time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)
	f := newFixture(t, clock.NewManual(base.Add(time.Hour)))
	var seeds []testenv.Tenant
	for i := range 45 {
		seeds = append(seeds, testenv.Tenant{ID: testenv.UniqueID("res-"), Status: rules.StatusTrial, TrialEndsAt: base.Add(time.Duration(i) * time.Second)})
	}
	testenv.SeedTenants(t, f.fs, seeds...)

	ctx, cancel := context.WithCancel(context.Background())
	first, err := f.svc.ExpireTrials(ctx, tenancy.ExpireTrialsOptions{PageSize: 10, Workers: 2}, func(tenancy.ExpireTrialsResult) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	if first.Expired == 0 || first.Expired >= len(seeds) {
		t.Fatalf("interrupted run expired %d of %d; want some but not all", first.Expired, len(seeds))
	}
	second, err := f.svc.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{PageSize: 10, Workers: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Expired+second.Expired != len(seeds) {
		t.Fatalf("runs expired %d + %d, want %d in all", first.Expired, second.Expired, len(seeds))
	}
	for _, s := range seeds {
		if got := f.tenant(t, s.ID); got.Status != rules.StatusTrialExpired {
			t.Errorf("%s is %s, want trial_expired", s.ID, got.Status)
		}
		if n := f.emails(t, s.ID); n != 1 {
			t.Errorf("%s has %d conversion emails, want 1", s.ID, n)
		}
	}
}

// TestStaffChangesRacingExpiry runs the job while staff extend some trials and cancel others,
// all at once. Each change checks the status in its own transaction, so whichever order they
// commit in, the history of every tenant is one unbroken chain, its last entry is the stored
// status, and a conversion email exists exactly for each move to trial_expired that committed.
func TestStaffChangesRacingExpiry(t *testing.T) {
	t.Parallel()
	base := time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := &tickingClock{now: base.Add(time.Hour)}
	f := newFixture(t, clk)
	const n = 24
	var seeds []testenv.Tenant
	for range n {
		seeds = append(seeds, testenv.Tenant{ID: testenv.UniqueID("race-"), Status: rules.StatusTrial, TrialEndsAt: base})
	}
	testenv.SeedTenants(t, f.fs, seeds...)
	newEnd := base.Add(30 * 24 * time.Hour)

	var wg sync.WaitGroup
	errc := make(chan error, 2*n)
	for range 2 { // two copies of the job at once, as when a schedule overlaps a manual run
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{PageSize: 5, Workers: 4}, nil); err != nil {
				errc <- fmt.Errorf("job: %w", err)
			}
		}()
	}
	for i, s := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = f.svc.ExtendTrial(as("sales-race", auth.PlatformSales), s.ID, newEnd, "racing the job")
			} else {
				_, err = f.svc.SetStatus(as("admin-race", auth.PlatformSuperAdmin), s.ID, rules.StatusCancelled, "racing the job")
			}
			if err != nil {
				errc <- fmt.Errorf("%s: %w", s.ID, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}

	orders := map[string]int{}
	for i, s := range seeds {
		h := f.history(t, s.ID)
		got := f.tenant(t, s.ID)
		if len(h) == 0 {
			t.Fatalf("%s: no history", s.ID)
		}
		prev := rules.StatusTrial
		path := string(prev)
		expiries := 0
		for _, e := range h {
			if e.From != prev {
				t.Errorf("%s: history breaks: entry %s→%s follows %s (%+v)", s.ID, e.From, e.To, prev, h)
			}
			if e.To == rules.StatusTrialExpired {
				expiries++
			}
			prev = e.To
			path += "→" + string(e.To)
		}
		orders[path]++
		if got.Status != prev {
			t.Errorf("%s: stored status %s, last history entry %s", s.ID, got.Status, prev)
		}
		wantFinal := rules.StatusCancelled
		if i%2 == 0 {
			wantFinal = rules.StatusTrial
			if !got.TrialEndsAt.Equal(newEnd) {
				t.Errorf("%s: trial ends %s, want %s", s.ID, got.TrialEndsAt, newEnd)
			}
		}
		if got.Status != wantFinal {
			t.Errorf("%s: final status %s, want %s (path %s)", s.ID, got.Status, wantFinal, path)
		}
		if e := f.emails(t, s.ID); e != expiries {
			t.Errorf("%s: %d conversion emails for %d expiries (path %s)", s.ID, e, expiries, path)
		}
	}
	t.Logf("orders seen: %v", orders)
}
