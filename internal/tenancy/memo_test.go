package tenancy_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// countingStore counts the reads the policy check makes.
type countingStore struct {
	*store.Store
	reads atomic.Int32
}

func (c *countingStore) TenantAndMember(ctx context.Context, tenantID, uid string) (tenancy.Tenant, tenancy.Member, bool, error) {
	c.reads.Add(1)
	return c.Store.TenantAndMember(ctx, tenantID, uid)
}

func TestQueryMemoReadsEachTenantOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &tickingClock{now: time.Now()})
	id, uid := testenv.UniqueID("memo-"), testenv.UniqueID("u")
	docs := testenv.Tenant{ID: id, Status: rules.StatusTrial, TrialEndsAt: time.Now().Add(time.Hour), Members: []testenv.Member{{UID: uid, Role: rules.RoleOwner}}}.Docs()
	docs["users/"+uid] = map[string]any{"tenantIds": []string{id}}
	testenv.WriteDocs(t, f.fs, docs)
	catalog, err := plans.Default()
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: f.st}
	svc := tenancy.NewService(cs, catalog, &tickingClock{now: time.Now()}, nil, tenancy.Config{})
	fields := func(ctx context.Context) {
		t.Helper()
		var wg sync.WaitGroup
		for _, action := range []rules.Action{rules.ReadData, rules.ReadAuditLog, rules.WriteData, rules.ReadData} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.Authorize(ctx, id, action); err != nil {
					t.Errorf("authorize %s: %v", action, err)
				}
			}()
		}
		wg.Wait()
	}

	fields(as(uid, ""))
	if n := cs.reads.Swap(0); n != 4 {
		t.Fatalf("without the memo: %d reads for 4 checks, want 4 (the test would prove nothing)", n)
	}
	fields(tenancy.WithTenantViewMemo(as(uid, "")))
	if n := cs.reads.Swap(0); n != 1 {
		t.Errorf("in a query: %d reads for 4 concurrent checks of one tenant, want 1", n)
	}
	// me seeds the memo: the tenant fields under me.memberships need no read of their own.
	ctx := tenancy.WithTenantViewMemo(as(uid, ""))
	if v, err := svc.Me(ctx); err != nil || len(v.Memberships) != 1 {
		t.Fatalf("me: %+v, %v", v, err)
	}
	fields(ctx)
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("after me: %d reads for the membership's fields, want 0", n)
	}
}
