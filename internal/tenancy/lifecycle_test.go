package tenancy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// issueTable is the lifecycle exactly as issue 4 specifies it, written out independently of
// tenancy.Transitions so that a slip in the code's table fails here.
var issueTable = map[rules.Status][]rules.Status{
	rules.StatusProvisioning: {rules.StatusTrial, rules.StatusActive, rules.StatusCancelled},
	rules.StatusTrial:        {rules.StatusTrialExpired, rules.StatusActive, rules.StatusPastDue, rules.StatusSuspended, rules.StatusCancelled},
	rules.StatusTrialExpired: {rules.StatusTrial, rules.StatusActive, rules.StatusSuspended, rules.StatusCancelled},
	rules.StatusActive:       {rules.StatusPastDue, rules.StatusSuspended, rules.StatusCancelled},
	rules.StatusPastDue:      {rules.StatusActive, rules.StatusSuspended, rules.StatusCancelled},
	// Suspended by staff or billing; a lift goes back wherever billing and the trial clock say.
	rules.StatusSuspended: {rules.StatusTrial, rules.StatusTrialExpired, rules.StatusActive, rules.StatusPastDue, rules.StatusCancelled},
	rules.StatusCancelled: {},
}

func allowedByIssue(from, to rules.Status) bool {
	for _, s := range issueTable[from] {
		if s == to {
			return true
		}
	}
	return false
}

func allStatuses() []rules.Status {
	out := make([]rules.Status, len(rules.StatusTable))
	for i, s := range rules.StatusTable {
		out[i] = s.Status
	}
	return out
}

func TestTransitionsTableIsTheIssuesTable(t *testing.T) {
	t.Parallel()
	for _, from := range allStatuses() {
		for _, to := range allStatuses() {
			if got, want := tenancy.CanTransition(from, to), allowedByIssue(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

// TestEveryTransition tries all 49 from → to pairs through setTenantStatus's domain function:
// each one in the table is applied and recorded (history, audit, and the conversion email on
// trial_expired), each one not in it is INVALID_TRANSITION and leaves no trace.
func TestEveryTransition(t *testing.T) {
	t.Parallel()
	now := time.Date(2031, 5, 4, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, clock.NewManual(now))
	staff := "staff-" + testenv.UniqueID("")
	type pair struct {
		from, to rules.Status
		id       string
	}
	var pairs []pair
	var seeds []testenv.Tenant
	for _, from := range allStatuses() {
		for _, to := range allStatuses() {
			p := pair{from, to, testenv.UniqueID("tr-")}
			pairs = append(pairs, p)
			// The trial end is ahead of the clock, so a move to trial is not refused for a
			// trial that has already ended.
			seeds = append(seeds, testenv.Tenant{ID: p.id, Status: from, TrialEndsAt: now.Add(72 * time.Hour)})
		}
	}
	testenv.SeedTenants(t, f.fs, seeds...)

	for _, p := range pairs {
		t.Run(fmt.Sprintf("%s→%s", p.from, p.to), func(t *testing.T) {
			t.Parallel()
			reqID := testenv.UniqueID("req-")
			ctx := reqctx.WithRequestID(as(staff, auth.PlatformSuperAdmin), reqID)
			reason := "matrix: " + string(p.from) + " to " + string(p.to)
			v, err := f.svc.SetStatus(ctx, p.id, p.to, reason)
			if !allowedByIssue(p.from, p.to) {
				wantErr(t, "SetStatus", err, errs.ErrInvalidTransition)
				if got := f.tenant(t, p.id); got.Status != p.from {
					t.Errorf("refused transition changed the status to %s", got.Status)
				}
				if h := f.history(t, p.id); len(h) != 0 {
					t.Errorf("refused transition wrote history: %+v", h)
				}
				if a := f.auditEntries(t, p.id); len(a) != 0 {
					t.Errorf("refused transition wrote audit entries: %v", a)
				}
				if !strings.Contains(err.Error(), "cannot") {
					t.Errorf("message %q should say what is allowed instead", err)
				}
				return
			}
			wantErr(t, "SetStatus", err, nil)
			if v.Tenant.Status != p.to || !v.Tenant.StatusChangedAt.Equal(now) {
				t.Errorf("answer: status %s changed at %s, want %s at %s", v.Tenant.Status, v.Tenant.StatusChangedAt, p.to, now)
			}
			got := f.tenant(t, p.id)
			if got.Status != p.to || !got.StatusChangedAt.Equal(now) {
				t.Errorf("stored: status %s changed at %s, want %s at %s", got.Status, got.StatusChangedAt, p.to, now)
			}
			h := f.history(t, p.id)
			if len(h) != 1 {
				t.Fatalf("history has %d entries, want 1", len(h))
			}
			e := h[0]
			if e.From != p.from || e.To != p.to || e.Actor.UID != staff || e.Actor.PlatformRole != auth.PlatformSuperAdmin ||
				e.Reason != reason || e.RequestID != reqID || !e.At.Equal(now) {
				t.Errorf("history entry = %+v, want %s→%s by %s (super_admin), reason %q, request %s, at %s", e, p.from, p.to, staff, reason, reqID, now)
			}
			a := f.auditEntries(t, p.id)
			if len(a) != 1 || a[0]["action"] != tenancy.AuditSetStatus || a[0]["actorUid"] != staff ||
				a[0]["reason"] != reason || a[0]["requestId"] != reqID {
				t.Errorf("audit entries = %v, want one %s by %s", a, tenancy.AuditSetStatus, staff)
			}
			wantEmails := 0
			if p.to == rules.StatusTrialExpired {
				wantEmails = 1
			}
			if n := f.emails(t, p.id); n != wantEmails {
				t.Errorf("%d conversion emails queued, want %d", n, wantEmails)
			}
		})
	}
}

func TestSetStatusAuthorization(t *testing.T) {
	t.Parallel()
	now := time.Date(2031, 5, 4, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, clock.NewManual(now))
	id := testenv.UniqueID("auth-")
	member := testenv.UniqueID("m-")
	testenv.SeedTenants(t, f.fs, testenv.Tenant{ID: id, Status: rules.StatusActive, TrialEndsAt: now.Add(-time.Hour), Members: []testenv.Member{{UID: member, Role: rules.RoleOwner}}})

	cases := []struct {
		name   string
		ctx    context.Context
		reason string
		want   error
		field  string
	}{
		{"anonymous", context.Background(), "a valid reason", errs.ErrUnauthenticated, ""},
		{"non-member without platform role", as(testenv.UniqueID("x-"), auth.PlatformNone), "a valid reason", errs.ErrNotFound, ""},
		{"owner without platform role", as(member, auth.PlatformNone), "a valid reason", errs.ErrForbidden, ""},
		{"sales", as(testenv.UniqueID("s-"), auth.PlatformSales), "a valid reason", errs.ErrForbidden, ""},
		{"support, reason too short", as(testenv.UniqueID("s-"), auth.PlatformSupport), " ab ", errs.ErrInvalidInput, "reason"},
		{"support, reason too long", as(testenv.UniqueID("s-"), auth.PlatformSupport), strings.Repeat("x", 501), errs.ErrInvalidInput, "reason"},
		{"support, reason with a control character", as(testenv.UniqueID("s-"), auth.PlatformSupport), "hidden\u202etext", errs.ErrInvalidInput, "reason"},
	}
	for _, c := range cases {
		_, err := f.svc.SetStatus(c.ctx, id, rules.StatusSuspended, c.reason)
		if c.field != "" {
			wantErr(t, c.name, err, c.want, c.field)
		} else {
			wantErr(t, c.name, err, c.want)
		}
	}
	if got := f.tenant(t, id); got.Status != rules.StatusActive {
		t.Fatalf("refused calls changed the status to %s", got.Status)
	}
	// The reason is trimmed; 500 characters are accepted.
	long := strings.Repeat("é", 500)
	for _, role := range []auth.PlatformRole{auth.PlatformSupport, auth.PlatformSuperAdmin} {
		to := rules.StatusSuspended
		if role == auth.PlatformSuperAdmin {
			to = rules.StatusActive
		}
		if _, err := f.svc.SetStatus(as(testenv.UniqueID("s-"), role), id, to, "  "+long+"\n"); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	h := f.history(t, id)
	if len(h) != 2 || h[0].Reason != long {
		t.Fatalf("history = %+v, want two entries with the trimmed reason", h)
	}
	// A move to trial whose end has passed is refused: the job would expire it again at once.
	f2 := testenv.UniqueID("auth-")
	testenv.SeedTenants(t, f.fs, testenv.Tenant{ID: f2, Status: rules.StatusTrialExpired, TrialEndsAt: now.Add(-time.Hour)})
	_, err := f.svc.SetStatus(as(testenv.UniqueID("s-"), auth.PlatformSuperAdmin), f2, rules.StatusTrial, "reopen please")
	wantErr(t, "trial_expired → trial with the end in the past", err, errs.ErrInvalidTransition)
	if !strings.Contains(err.Error(), "extendTrial") {
		t.Errorf("message %q should point to extendTrial", err)
	}
	_, err = f.svc.SetStatus(as(testenv.UniqueID("s-"), auth.PlatformSupport), testenv.UniqueID("missing-"), rules.StatusActive, "no such tenant")
	wantErr(t, "missing tenant", err, errs.ErrNotFound)
}

func TestExtendTrial(t *testing.T) {
	t.Parallel()
	now := time.Date(2031, 5, 4, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, clock.NewManual(now))
	expired, running, active := testenv.UniqueID("ext-"), testenv.UniqueID("ext-"), testenv.UniqueID("ext-")
	member := testenv.UniqueID("m-")
	testenv.SeedTenants(t, f.fs,
		testenv.Tenant{ID: expired, Status: rules.StatusTrialExpired, TrialEndsAt: now.Add(-48 * time.Hour), Members: []testenv.Member{{UID: member, Role: rules.RoleOwner}}},
		testenv.Tenant{ID: running, Status: rules.StatusTrial, TrialEndsAt: now.Add(48 * time.Hour)},
		testenv.Tenant{ID: active, Status: rules.StatusActive, TrialEndsAt: now.Add(-48 * time.Hour)},
	)
	sales := as(testenv.UniqueID("sales-"), auth.PlatformSales)
	newEnd := now.Add(14 * 24 * time.Hour).Add(123456789 * time.Nanosecond)

	refused := []struct {
		name  string
		ctx   context.Context
		id    string
		end   time.Time
		why   string
		want  error
		field string
	}{
		{"anonymous", context.Background(), expired, newEnd, "a reason", errs.ErrUnauthenticated, ""},
		{"non-member", as(testenv.UniqueID("x-"), auth.PlatformNone), expired, newEnd, "a reason", errs.ErrNotFound, ""},
		{"owner without platform role", as(member, auth.PlatformNone), expired, newEnd, "a reason", errs.ErrForbidden, ""},
		{"support", as(testenv.UniqueID("s-"), auth.PlatformSupport), expired, newEnd, "a reason", errs.ErrForbidden, ""},
		{"end in the past", sales, expired, now.Add(-time.Second), "a reason", errs.ErrInvalidInput, "trialEndsAt"},
		{"end now", sales, expired, now, "a reason", errs.ErrInvalidInput, "trialEndsAt"},
		{"end beyond a year", sales, expired, now.Add(366 * 24 * time.Hour), "a reason", errs.ErrInvalidInput, "trialEndsAt"},
		{"reason too short", sales, expired, newEnd, "no", errs.ErrInvalidInput, "reason"},
		{"active tenant", sales, active, newEnd, "a reason", errs.ErrInvalidTransition, ""},
	}
	for _, c := range refused {
		_, err := f.svc.ExtendTrial(c.ctx, c.id, c.end, c.why)
		if c.field != "" {
			wantErr(t, c.name, err, c.want, c.field)
		} else {
			wantErr(t, c.name, err, c.want)
		}
	}
	if h := f.history(t, expired); len(h) != 0 {
		t.Fatalf("refused extensions wrote history: %+v", h)
	}

	// trial_expired → trial, by sales; the end is kept to the microsecond, as Firestore stores it.
	v, err := f.svc.ExtendTrial(sales, expired, newEnd, "customer asked for two more weeks")
	if err != nil {
		t.Fatal(err)
	}
	wantEnd := newEnd.Truncate(time.Microsecond)
	got := f.tenant(t, expired)
	if v.Tenant.Status != rules.StatusTrial || got.Status != rules.StatusTrial || !got.TrialEndsAt.Equal(wantEnd) {
		t.Fatalf("after extension: answer %s, stored %s ending %s; want trial ending %s", v.Tenant.Status, got.Status, got.TrialEndsAt, wantEnd)
	}
	h := f.history(t, expired)
	if len(h) != 1 || h[0].From != rules.StatusTrialExpired || h[0].To != rules.StatusTrial ||
		!h[0].TrialEndsAt.Equal(wantEnd) || !h[0].PreviousTrialEndsAt.Equal(now.Add(-48*time.Hour)) || h[0].Actor.PlatformRole != auth.PlatformSales {
		t.Fatalf("history = %+v", h)
	}
	a := f.auditEntries(t, expired)
	if len(a) != 1 || a[0]["action"] != tenancy.AuditExtendTrial || a[0]["reason"] != "customer asked for two more weeks" {
		t.Fatalf("audit = %v", a)
	}

	// trial → trial with a new end, by a super admin; the status does not change.
	if _, err := f.svc.ExtendTrial(as(testenv.UniqueID("sa-"), auth.PlatformSuperAdmin), running, newEnd, "sales negotiation"); err != nil {
		t.Fatal(err)
	}
	if got := f.tenant(t, running); got.Status != rules.StatusTrial || !got.TrialEndsAt.Equal(wantEnd) {
		t.Fatalf("running trial after extension: %s ending %s", got.Status, got.TrialEndsAt)
	}
	if h := f.history(t, running); len(h) != 1 || h[0].From != rules.StatusTrial || h[0].To != rules.StatusTrial {
		t.Fatalf("history of the running trial = %+v", h)
	}
}
