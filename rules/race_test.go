package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// TestWritesRacingExpiry has members write application data straight to Firestore, as the SPA
// does, while the expire-trials job ends their trial. The rules read the status at request time,
// so every write either commits before the status change commits or is refused after it:
// no accepted write is dated after the change, every write sent after the job returned is
// refused, and the tenant holds exactly the documents whose writes were accepted.
func TestWritesRacingExpiry(t *testing.T) {
	t.Parallel()
	// A project of its own: the job's query spans all tenants of a project.
	env := isolated(t, rules.FirestoreRules())
	fs := env.Firestore(t)
	authEnv := testenv.Require(t)
	writers := []testenv.User{
		authEnv.NewUser(t, testenv.UserOptions{EmailVerified: true}),
		authEnv.NewUser(t, testenv.UserOptions{EmailVerified: true}),
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	id := testenv.UniqueID("race-")
	docs := map[string]map[string]any{"tenants/" + id: tenantDoc(rules.StatusTrial, now.Add(-time.Second))}
	for i, u := range writers {
		role := []string{"owner", "member"}[i]
		docs["tenants/"+id+"/members/"+u.UID] = map[string]any{"role": role, "email": u.Email, "joinedAt": now}
	}
	writeAll(t, fs, docs)

	catalog, err := plans.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc := tenancy.NewService(store.New(fs), catalog, clock.NewManual(now), nil, tenancy.Config{})

	type write struct {
		sentAfterJob bool
		status       int
		updateTime   time.Time
	}
	var (
		mu      sync.Mutex
		results []write
		jobDone atomic.Bool
		okCount atomic.Int64 // writes accepted so far
		after   atomic.Int64 // writes sent after the job returned
		wg      sync.WaitGroup
		errs    = make(chan error, 64)
	)
	const perWriterAfter = 15
	for g := range 4 {
		u := writers[g%len(writers)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				sentAfter := jobDone.Load()
				if sentAfter && after.Add(1) > 4*perWriterAfter {
					return
				}
				status, body, err := rest(env, http.MethodPost,
					docURL(env, fmt.Sprintf("tenants/%s/notes?documentId=w%d-%04d", id, g, i)), u.IDToken, fields("text", "racing"))
				if err != nil {
					errs <- err
					return
				}
				w := write{sentAfterJob: sentAfter, status: status}
				switch status {
				case http.StatusOK:
					okCount.Add(1)
					var d struct {
						UpdateTime time.Time `json:"updateTime"`
					}
					if err := json.Unmarshal(body, &d); err != nil {
						errs <- fmt.Errorf("decode %s: %w", body, err)
						return
					}
					w.updateTime = d.UpdateTime
				case http.StatusForbidden:
				default:
					errs <- fmt.Errorf("write: HTTP %d: %s", status, body)
					return
				}
				mu.Lock()
				results = append(results, w)
				mu.Unlock()
			}
		}()
	}

	// Start the job only once writes are landing, however slowly a cold emulator warms up, so
	// the race is certain to happen rather than a matter of timing.
	for deadline := time.Now().Add(60 * time.Second); okCount.Load() < 8; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			jobDone.Store(true)
			wg.Wait()
			t.Fatalf("only %d writes accepted in 60 s before the job could start", okCount.Load())
		}
	}
	res, err := svc.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{}, nil)
	jobDone.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err != nil || res.Expired != 1 {
		t.Fatalf("job: %s, %v; want the one trial expired", res, err)
	}

	snap, err := fs.Doc("tenants/" + id).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := snap.DataAt("status"); s != "trial_expired" {
		t.Fatalf("tenant is %v, want trial_expired", s)
	}
	changedAt := snap.UpdateTime // the commit time of the status change
	var accepted, refused, refusedAfter int
	for _, w := range results {
		switch {
		case w.status == http.StatusOK:
			accepted++
			if !w.updateTime.Before(changedAt) {
				t.Errorf("a write was accepted at %s, not before the status changed at %s", w.updateTime.Format(time.RFC3339Nano), changedAt.Format(time.RFC3339Nano))
			}
			if w.sentAfterJob {
				t.Errorf("a write sent after the job returned was accepted (at %s)", w.updateTime.Format(time.RFC3339Nano))
			}
		default:
			refused++
			if w.sentAfterJob {
				refusedAfter++
			}
		}
	}
	if accepted == 0 || refusedAfter == 0 {
		t.Fatalf("%d writes accepted, %d refused after the job: the race did not happen; the test proves nothing", accepted, refusedAfter)
	}
	stored, err := fs.Collection("tenants/" + id + "/notes").DocumentRefs(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != accepted {
		t.Errorf("%d documents stored, %d writes accepted", len(stored), accepted)
	}
	t.Logf("%d writes accepted (all before the change at %s), %d refused (%d sent after the job returned)",
		accepted, changedAt.Format(time.RFC3339Nano), refused, refusedAfter)
}
