package tenancy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

// tickingClock moves forward one microsecond on every reading, so changes made one after the
// other are dated in that order, and history entries sort the way they were committed.
type tickingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Microsecond)
	return c.now
}

type fixture struct {
	fs  *firestore.Client
	st  *store.Store
	svc *tenancy.Service
}

func newFixture(t testing.TB, clk clock.Clock) fixture {
	t.Helper()
	// A project of the test's own: the expire-trials query spans all tenants of a project, so on
	// the shared project the job would also expire other tests' trials (and they this test's).
	fs := testenv.Require(t).IsolatedProject(t).Firestore(t)
	catalog, err := plans.Default()
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(fs)
	return fixture{fs: fs, st: st, svc: tenancy.NewService(st, catalog, clk, nil, tenancy.Config{})}
}

func (f fixture) tenant(t testing.TB, id string) tenancy.Tenant {
	t.Helper()
	got, err := f.st.Tenant(context.Background(), id)
	if err != nil {
		t.Fatalf("read tenant %s: %v", id, err)
	}
	return got
}

// history returns a tenant's history entries, oldest first.
func (f fixture) history(t testing.TB, id string) []tenancy.HistoryEntry {
	t.Helper()
	h, err := f.st.StatusHistory(context.Background(), id, 200)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return h
}

func (f fixture) count(t testing.TB, q firestore.Query) int {
	t.Helper()
	snaps, err := q.Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	return len(snaps)
}

// emails counts the conversion emails queued for a tenant.
func (f fixture) emails(t testing.TB, id string) int {
	t.Helper()
	return f.count(t, f.fs.Collection("outbox").Where("tenantId", "==", id).Where("kind", "==", kinds.TrialExpiredEmail{}.Kind()))
}

func (f fixture) auditEntries(t testing.TB, id string) []map[string]any {
	t.Helper()
	return testenv.QueryData(t, f.fs.Collection("tenants").Doc(id).Collection("audit").Query)
}

// as returns a context signed in as uid with a platform role, as the server's middleware would
// build it (without a token recheck, which auth.RequireFresh then skips).
func as(uid string, role auth.PlatformRole) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UID: uid, Email: uid + "@example.test", EmailVerified: true, PlatformRole: role})
}

// wantErr fails unless err wraps want (nil: no error); field, if given, is the validation field.
func wantErr(t testing.TB, what string, err, want error, field ...string) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	case len(field) > 0 && errs.Field(err) != field[0]:
		t.Fatalf("%s: error field %q, want %q (%v)", what, errs.Field(err), field[0], err)
	}
}
