package rules_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// TestWritesRacingTrialEnd has members write application data straight to Firestore, as the SPA
// does, while their trial's end passes. The rules compare trialEndsAt with request.time, so
// every write sent after the end is refused at once, with no job run yet (the tenant document
// still says trial); the expire-trials job then records the change, and the tenant holds exactly
// the documents whose writes were accepted.
func TestWritesRacingTrialEnd(t *testing.T) {
	t.Parallel()
	// A project of its own: the job's query spans all tenants of a project.
	env := isolated(t, rules.FirestoreRules())
	fs := env.Firestore(t)
	authEnv := testenv.Require(t)
	writers := []testenv.User{
		authEnv.NewUser(t, testenv.UserOptions{EmailVerified: true}),
		authEnv.NewUser(t, testenv.UserOptions{EmailVerified: true}),
	}
	id := testenv.UniqueID("race-")
	tenantRef := fs.Doc("tenants/" + id)
	testenv.SeedTenants(t, fs, seedTenant(id, rules.StatusTrial, time.Now().Add(time.Hour),
		writers[0].As(rules.RoleOwner), writers[1].As(rules.RoleMember)))

	results, end := raceTrialEnd(t, env, fs, id, writers)
	var accepted, refusedAfter int
	for _, w := range results {
		switch {
		case w.status == http.StatusOK && w.sentAt.After(end):
			t.Errorf("a write sent %s after the trial's end was accepted", w.sentAt.Sub(end))
		case w.status == http.StatusOK:
			accepted++
		case w.sentAt.After(end):
			refusedAfter++
		}
	}
	if accepted == 0 || refusedAfter == 0 {
		t.Fatalf("%d writes accepted, %d refused after the end: the race did not happen; the test proves nothing", accepted, refusedAfter)
	}
	snap, err := tenantRef.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := snap.DataAt("status"); s != "trial" {
		t.Fatalf("tenant is %v before the job ran; the refusals must not depend on it", s)
	}
	expireRacedTrial(t, fs, id, end, accepted)
	t.Logf("%d writes accepted before the trial's end, %d sent after it all refused, with no job run yet",
		accepted, refusedAfter)
}

// raceWrite is one write of the race: when it was sent, and the rules' answer.
type raceWrite struct {
	sentAt time.Time
	status int
}

// raceTrialEnd has the writers create notes in tenant id from four goroutines, moves the trial's
// end 300 ms ahead once writes are landing, and stops 60 writes after the end. It returns every
// write and the end.
func raceTrialEnd(t *testing.T, env testenv.Env, fs *firestore.Client, id string, writers []testenv.User) ([]raceWrite, time.Time) {
	t.Helper()
	var (
		mu      sync.Mutex
		results []raceWrite
		okCount atomic.Int64 // writes accepted so far
		after   atomic.Int64 // writes sent after the trial's end
		endNs   atomic.Int64 // the trial's end once set, Unix ns; 0 before
		wg      sync.WaitGroup
		errs    = make(chan error, 64)
	)
	const writesAfterEnd = 60
	for g := range 4 {
		u := writers[g%len(writers)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				sentAt := time.Now()
				if e := endNs.Load(); e != 0 && sentAt.UnixNano() > e && after.Add(1) > writesAfterEnd {
					return
				}
				status, body, err := env.TryFirestoreREST(http.MethodPost,
					fmt.Sprintf("tenants/%s/notes?documentId=w%d-%04d", id, g, i), u.IDToken, fields("text", "racing"))
				if err != nil {
					errs <- err
					return
				}
				if status != http.StatusOK && status != http.StatusForbidden {
					errs <- fmt.Errorf("write: HTTP %d: %s", status, body)
					return
				}
				if status == http.StatusOK {
					okCount.Add(1)
				}
				mu.Lock()
				results = append(results, raceWrite{sentAt: sentAt, status: status})
				mu.Unlock()
			}
		}()
	}

	// Move the end close only once writes are landing, however slowly a cold emulator warms up,
	// so the race is certain to happen rather than a matter of timing.
	for deadline := time.Now().Add(60 * time.Second); okCount.Load() < 8; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			endNs.Store(1)
			wg.Wait()
			t.Fatalf("only %d writes accepted in 60 s before the trial's end could be set", okCount.Load())
		}
	}
	end := time.Now().Add(300 * time.Millisecond).Truncate(time.Microsecond)
	testenv.UpdateDoc(t, fs, "tenants/"+id, map[string]any{"trialEndsAt": end})
	endNs.Store(end.UnixNano())
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return results, end
}

// expireRacedTrial runs the expire-trials job after the race: it still records the change
// (history, email), and the tenant holds exactly the accepted writes.
func expireRacedTrial(t *testing.T, fs *firestore.Client, id string, end time.Time, accepted int) {
	t.Helper()
	catalog, err := plans.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc := tenancy.NewService(store.New(fs), catalog, clock.NewManual(end.Add(time.Second)), nil, tenancy.Config{})
	if res, err := svc.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{}, nil); err != nil || res.Expired != 1 {
		t.Fatalf("job: %s, %v; want the one trial expired", res, err)
	}
	snap, err := fs.Doc("tenants/" + id).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := snap.DataAt("status"); s != "trial_expired" {
		t.Fatalf("tenant is %v after the job, want trial_expired", s)
	}
	stored, err := fs.Collection("tenants/" + id + "/notes").DocumentRefs(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != accepted {
		t.Errorf("%d documents stored, %d writes accepted", len(stored), accepted)
	}
}
