package members

// The invitation decision is pure (it only computes on what the transaction read), so it is
// tested here without Firestore, with the real plan catalog and policy table, the way billing's
// decide is. tests/members_test.go and tests/invitation_limits_test.go run the same paths end to
// end against the emulator.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

func newInviteDecider(t *testing.T) *Service {
	t.Helper()
	catalog, err := plans.Default()
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(t0)
	// The decision needs no store; only its transaction would.
	return NewService(nil, tenancy.NewService(nil, catalog, clk, nil, tenancy.Config{}), clk, Limits{}, Config{})
}

// inviteState is an owner's invitation transaction in a trial tenant of the trial plan (5 seats,
// 5 pending invitations) with the owner as its one member; change adjusts it.
func inviteState(change func(*InviteState)) InviteState {
	st := InviteState{
		Tenant: TenantState{Tenant: tenancy.Tenant{
			ID: "T1", Name: "Acme", Status: rules.StatusTrial, PlanID: "trial", SeatCap: 5, SeatsUsed: 1,
			TrialEndsAt: t0.Add(7 * 24 * time.Hour),
		}},
		Inviter:      tenancy.Member{TenantID: "T1", UID: "u1", Email: "owner@example.test", Role: rules.RoleOwner},
		InviterFound: true,
		Existing:     map[string]Invitation{},
	}
	if change != nil {
		change(&st)
	}
	return st
}

// inviteCallFor invites emails with role, none of them a member yet.
func inviteCallFor(role rules.Role, emails ...string) inviteCall {
	c := inviteCall{key: "call-" + string(role), inviterEmail: "owner@example.test", emails: emails,
		roles: map[string]rules.Role{}, fields: map[string]string{}, isMember: map[string]bool{}}
	for _, e := range emails {
		c.roles[e], c.fields[e] = role, "email"
	}
	return c
}

// pendingTo is a pending invitation of T1 to email, expiring at expiresAt.
func pendingTo(email string, expiresAt time.Time) Invitation {
	return Invitation{
		ID: InvitationID("T1", email), TenantID: "T1", Email: email, Role: rules.RoleMember,
		Status: StatusPending, ExpiresAt: expiresAt, CreatedAt: expiresAt.Add(-7 * 24 * time.Hour),
	}
}

// summary is what a plan does, for failure messages (a plan carries the new tokens).
func summary(p InvitePlan) string {
	return fmt.Sprintf("expire %d, create %d, pending %d, floor %s", len(p.Expire), len(p.Create), p.PendingInvitations, p.PendingExpiryFloor)
}

func TestDecideInviteRefusals(t *testing.T) {
	s := newInviteDecider(t)
	a, b := "a@example.test", "b@example.test"
	for _, c := range []struct {
		name  string
		st    InviteState
		call  inviteCall
		want  error
		field string // for BAD_USER_INPUT
	}{
		{"no membership", inviteState(func(st *InviteState) { st.InviterFound = false }), inviteCallFor(rules.RoleMember, a), errs.ErrNotFound, ""},
		{"a member may not invite", inviteState(func(st *InviteState) { st.Inviter.Role = rules.RoleMember }), inviteCallFor(rules.RoleViewer, a), errs.ErrForbidden, ""},
		{"a viewer may not invite", inviteState(func(st *InviteState) { st.Inviter.Role = rules.RoleViewer }), inviteCallFor(rules.RoleViewer, a), errs.ErrForbidden, ""},
		{"a manager may not invite an admin", inviteState(func(st *InviteState) { st.Inviter.Role = rules.RoleManager }), inviteCallFor(rules.RoleAdmin, a), errs.ErrForbidden, ""},
		{"a manager may not invite a manager", inviteState(func(st *InviteState) { st.Inviter.Role = rules.RoleManager }), inviteCallFor(rules.RoleManager, a), errs.ErrForbidden, ""},
		{"an admin may not invite an owner", inviteState(func(st *InviteState) { st.Inviter.Role = rules.RoleAdmin }), inviteCallFor(rules.RoleOwner, a), errs.ErrForbidden, ""},
		{"trial expired", inviteState(func(st *InviteState) { st.Tenant.Status = rules.StatusTrialExpired }), inviteCallFor(rules.RoleMember, a), errs.ErrTenantReadOnly, ""},
		{"a trial past its end, not yet expired by the job", inviteState(func(st *InviteState) { st.Tenant.TrialEndsAt = t0 }), inviteCallFor(rules.RoleMember, a), errs.ErrTenantReadOnly, ""},
		{"past due", inviteState(func(st *InviteState) { st.Tenant.Status = rules.StatusPastDue }), inviteCallFor(rules.RoleMember, a), errs.ErrTenantReadOnly, ""},
		{"suspended", inviteState(func(st *InviteState) { st.Tenant.Status = rules.StatusSuspended }), inviteCallFor(rules.RoleMember, a), errs.ErrTenantSuspended, ""},
		{"cancelled", inviteState(func(st *InviteState) { st.Tenant.Status = rules.StatusCancelled }), inviteCallFor(rules.RoleMember, a), errs.ErrTenantSuspended, ""},
		{"already a member", inviteState(nil), func() inviteCall {
			c := inviteCallFor(rules.RoleMember, a, b)
			c.isMember[b], c.fields[b] = true, "emails[1]"
			return c
		}(), errs.ErrInvalidInput, "emails[1]"},
		{"the seats are taken", inviteState(func(st *InviteState) {
			st.Tenant.SeatsUsed, st.Tenant.PendingInvitations = 3, 1
			st.Tenant.PendingExpiryFloor = t0.Add(time.Hour)
		}), inviteCallFor(rules.RoleMember, a, b), errs.ErrSeatLimitReached, ""},
		{"the plan's pending limit", inviteState(func(st *InviteState) {
			st.Tenant.PlanID, st.Tenant.SeatCap, st.Tenant.PendingInvitations = "pro", 50, 25
			st.Tenant.PendingExpiryFloor = t0.Add(time.Hour)
		}), inviteCallFor(rules.RoleMember, a), errs.ErrInvitationLimitReached, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan, res, err := s.decideInvite(context.Background(), c.st, c.call)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if len(plan.Create) != 0 || len(res) != 0 {
				t.Errorf("a refusal planned %s and answered %d results", summary(plan), len(res))
			}
			var ve *errs.ValidationError
			if c.field != "" && (!errors.As(err, &ve) || ve.Field != c.field) {
				t.Errorf("err %v, want it on field %s", err, c.field)
			}
		})
	}
}

func TestDecideInvitePlans(t *testing.T) {
	s := newInviteDecider(t)
	ctx := context.Background()
	a, b := "a@example.test", "b@example.test"
	expiry := t0.Add(DefaultExpiryDays * 24 * time.Hour) // of a new invitation

	t.Run("new addresses take one seat each and set the floor", func(t *testing.T) {
		plan, res, err := s.decideInvite(ctx, inviteState(nil), inviteCallFor(rules.RoleAdmin, a, b))
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Create) != 2 || len(res) != 2 || res[0].Existing || len(plan.Audit) != 2 {
			t.Fatalf("plan %s, %d results", summary(plan), len(res))
		}
		inv := plan.Create[0].Invitation
		if inv.Status != StatusPending || inv.Role != rules.RoleAdmin || !inv.ExpiresAt.Equal(expiry) || inv.InvitedBy != "u1" ||
			inv.ID != InvitationID("T1", a) || inv.TokenHash == "" {
			t.Errorf("invitation %s to %s as %s, expiring %s, by %s", inv.ID, inv.Email, inv.Role, inv.ExpiresAt, inv.InvitedBy)
		}
		if plan.PendingInvitations != 2 || !plan.PendingExpiryFloor.Equal(expiry) {
			t.Errorf("pending %d, floor %s; want 2 and %s", plan.PendingInvitations, plan.PendingExpiryFloor, expiry)
		}
	})
	t.Run("a manager invites members and viewers", func(t *testing.T) {
		st := inviteState(func(st *InviteState) { st.Inviter.Role = rules.RoleManager })
		for _, role := range []rules.Role{rules.RoleMember, rules.RoleViewer} {
			if plan, _, err := s.decideInvite(ctx, st, inviteCallFor(role, a)); err != nil || len(plan.Create) != 1 {
				t.Errorf("%s: plan %s, err %v", role, summary(plan), err)
			}
		}
	})
	t.Run("the last free seat is taken", func(t *testing.T) {
		st := inviteState(func(st *InviteState) { st.Tenant.SeatsUsed = 4 })
		if plan, _, err := s.decideInvite(ctx, st, inviteCallFor(rules.RoleMember, a)); err != nil || plan.PendingInvitations != 1 {
			t.Errorf("plan %s, err %v", summary(plan), err)
		}
	})
	t.Run("an existing pending invitation is returned as is, and nothing is written", func(t *testing.T) {
		prev := pendingTo(a, t0.Add(time.Hour))
		st := inviteState(func(st *InviteState) {
			st.Tenant.SeatsUsed, st.Tenant.PendingInvitations, st.Tenant.PendingExpiryFloor = 4, 1, prev.ExpiresAt
			st.Existing[a] = prev
		})
		plan, res, err := s.decideInvite(ctx, st, inviteCallFor(rules.RoleAdmin, a))
		if !ErrNoop(err) {
			t.Fatalf("err %v, want nothing to write", err)
		}
		if len(res) != 1 || !res[0].Existing || res[0].Invitation.ID != prev.ID || res[0].Invitation.Role != rules.RoleMember ||
			!res[0].Invitation.ExpiresAt.Equal(prev.ExpiresAt) || len(plan.Create) != 0 {
			t.Errorf("results %+v, plan %s; want the pending invitation unchanged", res, summary(plan))
		}
	})
	t.Run("with a new address beside it, only the new one takes a seat", func(t *testing.T) {
		prev := pendingTo(a, t0.Add(time.Hour))
		st := inviteState(func(st *InviteState) {
			st.Tenant.SeatsUsed, st.Tenant.PendingInvitations, st.Tenant.PendingExpiryFloor = 3, 1, prev.ExpiresAt
			st.Existing[a] = prev
		})
		plan, res, err := s.decideInvite(ctx, st, inviteCallFor(rules.RoleMember, a, b))
		if err != nil || len(plan.Create) != 1 || plan.Create[0].Invitation.Email != b || len(res) != 2 {
			t.Fatalf("plan %s, %d results, err %v", summary(plan), len(res), err)
		}
		if plan.PendingInvitations != 2 || !plan.PendingExpiryFloor.Equal(prev.ExpiresAt) {
			t.Errorf("pending %d, floor %s; want 2 and the earlier %s", plan.PendingInvitations, plan.PendingExpiryFloor, prev.ExpiresAt)
		}
	})
	t.Run("expired invitations free their seats first", func(t *testing.T) {
		old1, old2 := pendingTo("x@example.test", t0.Add(-2*time.Hour)), pendingTo("y@example.test", t0.Add(-time.Hour))
		st := inviteState(func(st *InviteState) {
			st.Tenant.SeatsUsed, st.Tenant.PendingInvitations, st.Tenant.PendingExpiryFloor = 3, 2, old1.ExpiresAt
			st.Scanned, st.Earliest = true, []Invitation{old1, old2}
		})
		if !st.ScanDue(t0) {
			t.Fatal("the floor has passed, but no scan is due")
		}
		plan, _, err := s.decideInvite(ctx, st, inviteCallFor(rules.RoleMember, a, b))
		if err != nil {
			t.Fatalf("two seats held by expired invitations are not free: %v", err)
		}
		for _, inv := range plan.Expire {
			if inv.Status != StatusExpired || !inv.ClosedAt.Equal(t0) {
				t.Errorf("invitation %s expired as %s at %s, want expired now", inv.ID, inv.Status, inv.ClosedAt)
			}
		}
		if len(plan.Expire) != 2 {
			t.Errorf("%d invitations expired, want both", len(plan.Expire))
		}
		if plan.PendingInvitations != 2 || !plan.PendingExpiryFloor.Equal(expiry) {
			t.Errorf("pending %d, floor %s; want 2 and %s", plan.PendingInvitations, plan.PendingExpiryFloor, expiry)
		}
	})
	t.Run("the scan stops at the first unexpired invitation, which is the new floor", func(t *testing.T) {
		old, next := pendingTo("x@example.test", t0.Add(-time.Hour)), pendingTo("y@example.test", t0.Add(time.Hour))
		st := inviteState(func(st *InviteState) {
			st.Tenant.SeatsUsed, st.Tenant.PendingInvitations, st.Tenant.PendingExpiryFloor = 1, 2, old.ExpiresAt
			st.Scanned, st.Earliest = true, []Invitation{old, next}
		})
		plan, _, err := s.decideInvite(ctx, st, inviteCallFor(rules.RoleMember, a))
		if err != nil || len(plan.Expire) != 1 || plan.Expire[0].ID != old.ID {
			t.Fatalf("plan %s, err %v", summary(plan), err)
		}
		if plan.PendingInvitations != 2 || !plan.PendingExpiryFloor.Equal(next.ExpiresAt) {
			t.Errorf("pending %d, floor %s; want 2 and %s", plan.PendingInvitations, plan.PendingExpiryFloor, next.ExpiresAt)
		}
	})
	t.Run("an address's invitation past its expiry is replaced, not also expired", func(t *testing.T) {
		prev := pendingTo(a, t0.Add(-time.Hour))
		prev.Sends = []time.Time{t0.Add(-2 * time.Hour)}
		for _, scanned := range []bool{false, true} {
			st := inviteState(func(st *InviteState) {
				st.Tenant.SeatsUsed, st.Tenant.PendingInvitations = 4, 1
				st.Existing[a] = prev
				if scanned {
					st.Tenant.PendingExpiryFloor = prev.ExpiresAt
					st.Scanned, st.Earliest = true, []Invitation{prev}
				}
			})
			plan, res, err := s.decideInvite(ctx, st, inviteCallFor(rules.RoleViewer, a))
			if err != nil {
				t.Fatalf("scanned %v: the expired invitation's seat is not free: %v", scanned, err)
			}
			if len(plan.Expire) != 0 || len(plan.Create) != 1 || res[0].Existing || plan.PendingInvitations != 1 {
				t.Errorf("scanned %v: plan %s, results %+v", scanned, summary(plan), res)
			}
			if inv := plan.Create[0].Invitation; inv.Role != rules.RoleViewer || len(inv.Sends) != 2 {
				t.Errorf("scanned %v: invitation as %s with %d sends; want the new role and the earlier send kept", scanned, inv.Role, len(inv.Sends))
			}
		}
	})
	t.Run("a floor not yet passed needs no scan", func(t *testing.T) {
		st := inviteState(func(st *InviteState) {
			st.Tenant.PendingInvitations, st.Tenant.PendingExpiryFloor = 1, t0.Add(time.Second)
		})
		if st.ScanDue(t0) {
			t.Error("scan due before the floor")
		}
		st.Tenant.PendingExpiryFloor = time.Time{}
		if !st.ScanDue(t0) {
			t.Error("no scan with the floor unknown")
		}
	})
}
