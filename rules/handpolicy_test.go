package rules_test

import (
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/server"
	"github.com/tenantry/tenantry/rules"
)

// The contract's access policy written out by hand (../shared/contract/README.md, and
// docs/architecture.md "The one access policy"), independent of rules.StatusTable,
// rules.Deadlines, rules.ActionTable and rules.Check, which the API and the generated rules are
// both built from: a wrong table would pass any test that takes its expectations from it.
//
// By status: reads are open in trial, active, trial_expired and past_due; writes in trial and
// active only, and in past_due while its grace runs; a trial past its end is trial_expired unless
// a contract is signed. By role: see handActions. The status is checked first (TENANT_SUSPENDED
// where reads are closed, TENANT_READ_ONLY where only writes are), then the role (FORBIDDEN).
var (
	handReadOpen = map[string]bool{
		"trial": true, "active": true, "trial_expired": true, "past_due": true, "past_due_in_grace": true,
		"trial_past_end": true, "trial_past_end_with_contract": true,
	}
	handWriteOpen = map[string]bool{"trial": true, "active": true, "trial_past_end_with_contract": true, "past_due_in_grace": true}
)

// handKey is the name the hand-written policy answers a situation by: a grace only changes
// past_due, and only while it runs; a grace end left on any other status, or passed, changes
// nothing.
func (s situation) handKey() string {
	if s.grace == graceNone || (s.status == rules.StatusPastDue && s.grace == graceRunning) {
		return s.name
	}
	return string(s.status)
}

// need is the part of a tenant's status that an action needs open.
type need int

const (
	needRead    need = iota
	needWrite        // reads and writes open
	needBilling      // open in every status but cancelled, so a customer can pay their way back
)

// handAction is one action of the contract: what it needs and who may take it.
type handAction struct {
	action rules.Action
	need   need
	roles  []rules.Role
}

// handActions is the contract's action table, by hand. Platform staff who are not members take
// the read actions in any status, and nothing else.
var handActions = []handAction{
	{rules.ReadData, needRead, []rules.Role{rules.RoleOwner, rules.RoleAdmin, rules.RoleManager, rules.RoleMember, rules.RoleViewer}},
	{rules.WriteData, needWrite, []rules.Role{rules.RoleOwner, rules.RoleAdmin, rules.RoleManager, rules.RoleMember}},
	{rules.ManageMembers, needWrite, []rules.Role{rules.RoleOwner, rules.RoleAdmin}},
	{rules.InviteMembers, needWrite, []rules.Role{rules.RoleOwner, rules.RoleAdmin, rules.RoleManager}},
	{rules.ManageBilling, needBilling, []rules.Role{rules.RoleOwner}},
	{rules.TransferOwnership, needWrite, []rules.Role{rules.RoleOwner}},
	{rules.ReadAuditLog, needRead, []rules.Role{rules.RoleOwner, rules.RoleAdmin}},
	{rules.ManageServiceTokens, needWrite, []rules.Role{rules.RoleOwner, rules.RoleAdmin}},
	{rules.ReadServiceTokens, needRead, []rules.Role{rules.RoleOwner, rules.RoleAdmin}},
	{rules.ImportData, needWrite, []rules.Role{rules.RoleOwner, rules.RoleAdmin}},
}

func handActionOf(a rules.Action) handAction {
	for _, h := range handActions {
		if h.action == a {
			return h
		}
	}
	panic("no hand-written row for action " + string(a))
}

// handStatusCode is what the status alone answers to an action that needs n: "" when open.
func handStatusCode(s situation, n need) string {
	switch {
	case n == needBilling && s.handKey() == "cancelled":
		return server.CodeTenantSuspended
	case n == needBilling:
		return ""
	case !handReadOpen[s.handKey()]:
		return server.CodeTenantSuspended
	case n == needWrite && !handWriteOpen[s.handKey()]:
		return server.CodeTenantReadOnly
	}
	return ""
}

// handCode is the contract's answer to a member with role taking action in the situation: ""
// when allowed, else the error code the API gives.
func handCode(s situation, role rules.Role, action rules.Action) string {
	h := handActionOf(action)
	if code := handStatusCode(s, h.need); code != "" {
		return code
	}
	if !slices.Contains(h.roles, role) {
		return server.CodeForbidden
	}
	return ""
}

// handStaffMay says whether platform staff who are not members may take action.
func handStaffMay(action rules.Action) bool { return handActionOf(action).need == needRead }

// handAllows is the hand-written policy's answer for application data, for a member with role
// ("" for outsiders, who are refused everything).
func handAllows(s situation, role rules.Role, write bool) bool {
	if role == "" {
		return false
	}
	if write {
		return handCode(s, role, rules.WriteData) == ""
	}
	return handCode(s, role, rules.ReadData) == ""
}

// TestCheckAgreesWithHandWrittenPolicy holds the tables (status, deadlines, actions) to the
// contract's policy as written out by hand, for every situation, role and action.
func TestCheckAgreesWithHandWrittenPolicy(t *testing.T) {
	var tableActions, contractActions []string
	for _, p := range rules.ActionTable {
		tableActions = append(tableActions, string(p.Action))
	}
	for _, h := range handActions {
		contractActions = append(contractActions, string(h.action))
	}
	slices.Sort(tableActions)
	slices.Sort(contractActions)
	if !slices.Equal(tableActions, contractActions) {
		t.Fatalf("the action table has %v, the contract %v", tableActions, contractActions)
	}
	now := time.Now()
	for _, s := range situations() {
		eff := s.state(now).Effective(now)
		for _, h := range handActions {
			for _, r := range rules.Roles {
				if got, want := expectCode(rules.Check(eff, r, h.action)), handCode(s, r, h.action); got != want {
					t.Errorf("%s/%s/%s: Check answers %q, the contract's policy %q", s.name, r, h.action, got, want)
				}
			}
		}
	}
	for _, h := range handActions {
		if got, want := rules.KindOf(h.action) == rules.KindRead, handStaffMay(h.action); got != want {
			t.Errorf("%s: a read action for staff in the table: %v, in the contract: %v", h.action, got, want)
		}
	}
}

func TestEffectiveStatus(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	st := func(s rules.Status, end time.Time, contract bool) rules.TenantState {
		return rules.TenantState{Status: s, Times: map[string]time.Time{rules.FieldTrialEndsAt: end}, Has: map[string]bool{rules.FieldContract: contract}}
	}
	grace := func(s rules.Status, graceEnd time.Time) rules.TenantState {
		return rules.TenantState{Status: s, Times: map[string]time.Time{rules.FieldTrialEndsAt: now.Add(-time.Hour), rules.FieldGraceEndsAt: graceEnd}}
	}
	cases := []struct {
		name  string
		state rules.TenantState
		want  rules.Status
	}{
		{"trial running", st(rules.StatusTrial, now.Add(time.Second), false), rules.StatusTrial},
		{"trial ends this instant", st(rules.StatusTrial, now, false), rules.StatusTrialExpired},
		{"trial ended", st(rules.StatusTrial, now.Add(-time.Hour), false), rules.StatusTrialExpired},
		{"trial ended with a contract", st(rules.StatusTrial, now.Add(-time.Hour), true), rules.StatusTrial},
		{"trial without an end", st(rules.StatusTrial, time.Time{}, false), rules.StatusTrial},
		{"active past the old trial end", st(rules.StatusActive, now.Add(-time.Hour), false), rules.StatusActive},
		{"past_due", st(rules.StatusPastDue, now.Add(-time.Hour), false), rules.StatusPastDue},
		{"past_due in grace", grace(rules.StatusPastDue, now.Add(time.Second)), rules.StatusActive},
		{"past_due, grace ends this instant", grace(rules.StatusPastDue, now), rules.StatusPastDue},
		{"past_due, grace over", grace(rules.StatusPastDue, now.Add(-time.Hour)), rules.StatusPastDue},
		{"suspended with a grace end ahead", grace(rules.StatusSuspended, now.Add(time.Hour)), rules.StatusSuspended},
		{"trial past its end with a grace end ahead", grace(rules.StatusTrial, now.Add(time.Hour)), rules.StatusTrialExpired},
	}
	for _, c := range cases {
		if got := c.state.Effective(now); got != c.want {
			t.Errorf("%s: Effective = %s, want %s", c.name, got, c.want)
		}
	}
}
