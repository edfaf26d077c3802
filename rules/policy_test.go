package rules

import (
	"errors"
	"testing"

	"github.com/tenantry/tenantry/internal/errs"
)

// The generator and Check both rely on these properties of the tables.
func TestTablesAreComplete(t *testing.T) {
	seen := map[Status]bool{}
	for _, s := range StatusTable {
		if seen[s.Status] {
			t.Errorf("status %s listed twice", s.Status)
		}
		seen[s.Status] = true
		if s.Write && !s.Read {
			t.Errorf("status %s opens writes but not reads; Check would refuse the writes as suspended", s.Status)
		}
	}
	if len(seen) != 7 {
		t.Errorf("StatusTable has %d statuses, the contract has 7", len(seen))
	}
	actions := map[Action]bool{}
	for _, p := range ActionTable {
		if actions[p.Action] {
			t.Errorf("action %s listed twice", p.Action)
		}
		actions[p.Action] = true
		for _, r := range p.Roles {
			if !ValidRole(r) {
				t.Errorf("action %s names unknown role %q", p.Action, r)
			}
		}
	}
	for _, c := range ServerOwnedCollections {
		if !ServerOwned(c) {
			t.Errorf("ServerOwned(%q) = false", c)
		}
	}
	if ServerOwned("projects") {
		t.Error("an application collection is reported as server-owned")
	}
}

// TestCheckOrder pins the order the contract asks for: the status first (suspended before
// read-only), then the role.
func TestCheckOrder(t *testing.T) {
	cases := []struct {
		status Status
		role   Role
		action Action
		want   error
	}{
		{StatusSuspended, RoleViewer, WriteData, errs.ErrTenantSuspended},
		{StatusTrialExpired, RoleViewer, WriteData, errs.ErrTenantReadOnly},
		{StatusActive, RoleViewer, WriteData, errs.ErrForbidden},
		{StatusActive, RoleMember, WriteData, nil},
		{StatusPastDue, RoleOwner, ManageBilling, nil},
		{StatusSuspended, RoleOwner, ManageBilling, nil},
		{StatusCancelled, RoleOwner, ManageBilling, errs.ErrTenantSuspended},
		{StatusActive, RoleAdmin, ManageBilling, errs.ErrForbidden},
		{StatusTrialExpired, RoleAdmin, ReadAuditLog, nil},
		{StatusTrial, RoleManager, ReadAuditLog, errs.ErrForbidden},
		{StatusTrial, RoleManager, InviteMembers, nil},
		{StatusPastDue, RoleOwner, TransferOwnership, errs.ErrTenantReadOnly},
	}
	for _, c := range cases {
		err := Check(c.status, c.role, c.action)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("Check(%s, %s, %s) = %v, want %v", c.status, c.role, c.action, err, c.want)
		}
	}
	if err := Check(StatusActive, RoleOwner, Action("nope")); err == nil {
		t.Error("an unknown action was allowed")
	}
	if KindOf(Action("nope")) != KindWrite {
		t.Error("an unknown action should be treated as a write")
	}
}

func TestFuncName(t *testing.T) {
	if got := funcName(ReadAuditLog); got != "canReadAuditLog" {
		t.Errorf("funcName(%s) = %s", ReadAuditLog, got)
	}
}
