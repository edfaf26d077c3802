package tenancy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// TestPastDueGrace moves tenants into past_due and out again through the one lifecycle function
// (setTenantStatus's domain call), and checks the grace it records on the tenant document and
// the access the API then gives: none on a plan without grace (writes close on the first failed
// payment), the plan's days otherwise, a contract's days over the plan's, open writes with a
// banner until the grace ends and closed from that instant, and the grace gone once the tenant
// is active again.
func TestPastDueGrace(t *testing.T) {
	t.Parallel()
	f, _, ctx, now := graceFixture(t)
	days := func(n int) map[string]any {
		return map[string]any{"planId": "starter", "seatCap": 10, "goLiveDate": now.Add(-time.Hour), "graceDays": n}
	}
	cases := []struct {
		name     string
		plan     string
		contract map[string]any
		want     time.Duration // the grace; 0: none
	}{
		{"a plan without grace", "starter", nil, 0},
		{"a plan with 7 days", "enterprise", nil, 7 * 24 * time.Hour},
		{"a contract's 2 days on a plan without grace", "starter", days(2), 2 * 24 * time.Hour},
		{"a contract's 0 days on a plan with 7", "enterprise", days(0), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := testenv.UniqueID("grace-")
			testenv.SeedTenants(t, f.fs, testenv.Tenant{ID: id, Status: rules.StatusActive, PlanID: c.plan, Contract: c.contract, TrialEndsAt: now.Add(-time.Hour)})
			if _, err := f.svc.SetStatus(ctx, id, rules.StatusPastDue, "payment failed (test)"); err != nil {
				t.Fatal(err)
			}
			got := f.tenant(t, id)
			if want := zeroOr(now, c.want); !got.GraceEndsAt.Equal(want) {
				t.Fatalf("graceEndsAt = %v, want %v", got.GraceEndsAt, want)
			}
			member := tenancy.TenantView{Tenant: got, Role: rules.RoleMember}
			inGrace := tenancy.AccessAt(member, now)
			if inGrace.CanWrite != (c.want > 0) || !inGrace.CanRead || inGrace.Reason == "" {
				t.Errorf("access right after the failed payment = %+v, want canWrite %v with a banner", inGrace, c.want > 0)
			}
			if c.want > 0 && !strings.Contains(inGrace.Reason, got.GraceEndsAt.Format("January 2, 2006")) {
				t.Errorf("the banner %q should say until when writes stay open", inGrace.Reason)
			}
			if a := tenancy.AccessAt(member, now.Add(c.want)); a.CanWrite || !a.CanRead {
				t.Errorf("access once the grace has ended = %+v, want read-only", a)
			}
			if _, err := f.svc.SetStatus(ctx, id, rules.StatusActive, "invoice paid (test)"); err != nil {
				t.Fatal(err)
			}
			if g := f.tenant(t, id).GraceEndsAt; !g.IsZero() {
				t.Errorf("graceEndsAt after the payment recovered = %v, want none", g)
			}
			if data := docData(t, f, id); data[rules.FieldGraceEndsAt] != nil {
				t.Errorf("the tenant document still has %s = %v", rules.FieldGraceEndsAt, data[rules.FieldGraceEndsAt])
			}
		})
	}
}

// TestGraceSurvivesASuspension: a staff suspension of a past_due tenant keeps its grace end, and
// lifting the suspension later restores past_due with the same end, not a new grace.
func TestGraceSurvivesASuspension(t *testing.T) {
	t.Parallel()
	f, clk, ctx, now := graceFixture(t)
	id := testenv.UniqueID("grace-")
	end := now.Add(2 * 24 * time.Hour)
	testenv.SeedTenants(t, f.fs, testenv.Tenant{ID: id, Status: rules.StatusPastDue, PlanID: "enterprise", GraceEndsAt: end, TrialEndsAt: now.Add(-time.Hour)})
	testenv.UpdateDoc(t, f.fs, "tenants/"+id, map[string]any{"billingStatus": "past_due", "statusCause": "billing"})
	if _, err := f.svc.SetStatus(ctx, id, rules.StatusSuspended, "abuse report (test)"); err != nil {
		t.Fatal(err)
	}
	if g := f.tenant(t, id).GraceEndsAt; !g.Equal(end) {
		t.Fatalf("graceEndsAt while suspended = %v, want %v kept", g, end)
	}
	clk.Advance(24 * time.Hour)
	v, err := f.svc.LiftSuspension(ctx, id, "report cleared (test)")
	if err != nil {
		t.Fatal(err)
	}
	if v.Tenant.Status != rules.StatusPastDue || !f.tenant(t, id).GraceEndsAt.Equal(end) {
		t.Errorf("after the lift: status %s, graceEndsAt %v; want past_due with the grace ending %v", v.Tenant.Status, f.tenant(t, id).GraceEndsAt, end)
	}
}

// graceFixture is a fixture on a manual clock, the clock, a super admin's context and the
// clock's start.
func graceFixture(t testing.TB) (fixture, *clock.Manual, context.Context, time.Time) {
	now := time.Date(2031, 6, 1, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	return newFixture(t, clk), clk, as("staff-"+testenv.UniqueID(""), auth.PlatformSuperAdmin), now
}

func zeroOr(now time.Time, d time.Duration) time.Time {
	if d == 0 {
		return time.Time{}
	}
	return now.Add(d)
}

// docData is the tenant document's raw fields.
func docData(t testing.TB, f fixture, id string) map[string]any {
	t.Helper()
	snap, err := f.fs.Collection("tenants").Doc(id).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Data()
}
