package rules_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/tenantry/tenantry/rules"
)

// tableMutant is a deliberately wrong edit of the policy tables, with the answers of the wrong
// tables worked out by hand from the contract's policy.
type tableMutant struct {
	name   string
	apply  func(t testing.TB) // swaps the tables for edited copies until t ends
	policy policy
}

// editRow replaces *table (rules.StatusTable, rules.ActionTable) with a copy in which edit
// changes the row match picks, until t ends.
func editRow[R any](t testing.TB, table *[]R, match func(R) bool, edit func(*R)) {
	t.Helper()
	orig := *table
	t.Cleanup(func() { *table = orig })
	edited := slices.Clone(orig)
	i := slices.IndexFunc(edited, match)
	if i < 0 {
		t.Fatal("the mutant's row is not in the table; update the mutant")
	}
	edit(&edited[i])
	*table = edited
}

// editStatus edits the status table's row for status, until t ends.
func editStatus(t testing.TB, status rules.Status, edit func(*rules.StatusAccess)) {
	t.Helper()
	editRow(t, &rules.StatusTable, func(s rules.StatusAccess) bool { return s.Status == status }, edit)
}

// editAction edits the action table's row for action, until t ends; the row's role list is a
// copy, so the edit may append to it.
func editAction(t testing.TB, action rules.Action, edit func(*rules.ActionPolicy)) {
	t.Helper()
	editRow(t, &rules.ActionTable, func(p rules.ActionPolicy) bool { return p.Action == action }, func(p *rules.ActionPolicy) {
		p.Roles = slices.Clone(p.Roles)
		edit(p)
	})
}

// dropDeadlines removes the deadlines drop picks from rules.Deadlines, until t ends.
func dropDeadlines(t testing.TB, drop func(rules.Deadline) bool) {
	t.Helper()
	orig := rules.Deadlines
	t.Cleanup(func() { rules.Deadlines = orig })
	rules.Deadlines = slices.DeleteFunc(slices.Clone(orig), drop)
	if len(rules.Deadlines) == len(orig) {
		t.Fatal("the mutant's deadline is not in the table; update the mutant")
	}
}

// answeredAs answers the situations the hand-written policy answers as name (see handKey) as it
// answers another one.
func answeredAs(name string, in string, p func(situation, rules.Role, rules.Action) string) func(situation, rules.Role, rules.Action) string {
	return func(s situation, r rules.Role, a rules.Action) string {
		if s.handKey() == name {
			s = situation{name: in}
		}
		return p(s, r, a)
	}
}

// grants answers a role the action once the status allows it, and the rest as the contract.
func grants(role rules.Role, action rules.Action) func(situation, rules.Role, rules.Action) string {
	return func(s situation, r rules.Role, a rules.Action) string {
		if r == role && a == action {
			return handStatusCode(s, handActionOf(a).need)
		}
		return handCode(s, r, a)
	}
}

// needs answers action as needing n, and the rest as the contract.
func needs(action rules.Action, n need) func(situation, rules.Role, rules.Action) string {
	return func(s situation, r rules.Role, a rules.Action) string {
		if a != action {
			return handCode(s, r, a)
		}
		if code := handStatusCode(s, n); code != "" {
			return code
		}
		return handCode(situation{name: "active"}, r, a)
	}
}

func tableMutants() []tableMutant {
	return []tableMutant{
		{
			name:   "past_due leaves writes open",
			apply:  func(t testing.TB) { editStatus(t, rules.StatusPastDue, func(s *rules.StatusAccess) { s.Write = true }) },
			policy: policy{member: answeredAs("past_due", "active", handCode), staff: handStaffMay},
		},
		{
			name: "suspended leaves reads open",
			apply: func(t testing.TB) {
				editStatus(t, rules.StatusSuspended, func(s *rules.StatusAccess) { s.Read = true })
			},
			policy: policy{member: answeredAs("suspended", "past_due", handCode), staff: handStaffMay},
		},
		{
			name: "the trial's end ignored",
			apply: func(t testing.TB) {
				dropDeadlines(t, func(d rules.Deadline) bool { return d.Field == rules.FieldTrialEndsAt })
			},
			policy: policy{member: answeredAs("trial_past_end", "trial", handCode), staff: handStaffMay},
		},
		{
			name: "past-due grace ignored",
			apply: func(t testing.TB) {
				dropDeadlines(t, func(d rules.Deadline) bool { return d.Field == rules.FieldGraceEndsAt })
			},
			policy: policy{member: answeredAs("past_due_in_grace", "past_due", handCode), staff: handStaffMay},
		},
		{
			name: "viewers write data",
			apply: func(t testing.TB) {
				editAction(t, rules.WriteData, func(p *rules.ActionPolicy) { p.Roles = append(p.Roles, rules.RoleViewer) })
			},
			policy: policy{member: grants(rules.RoleViewer, rules.WriteData), staff: handStaffMay},
		},
		{
			name: "managers manage members",
			apply: func(t testing.TB) {
				editAction(t, rules.ManageMembers, func(p *rules.ActionPolicy) { p.Roles = append(p.Roles, rules.RoleManager) })
			},
			policy: policy{member: grants(rules.RoleManager, rules.ManageMembers), staff: handStaffMay},
		},
		{
			name: "billing closes with writes",
			apply: func(t testing.TB) {
				editAction(t, rules.ManageBilling, func(p *rules.ActionPolicy) { p.Kind = rules.KindWrite })
			},
			policy: policy{member: needs(rules.ManageBilling, needWrite), staff: handStaffMay},
		},
		{
			name: "the audit log closes with writes, and to staff",
			apply: func(t testing.TB) {
				editAction(t, rules.ReadAuditLog, func(p *rules.ActionPolicy) { p.Kind = rules.KindWrite })
			},
			policy: policy{member: needs(rules.ReadAuditLog, needWrite), staff: func(a rules.Action) bool {
				return a != rules.ReadAuditLog && handStaffMay(a)
			}},
		},
	}
}

// TestMatricesCatchWrongTables proves that the API matrix and the data matrix can fail when the
// policy tables are wrong: for each deliberate break of rules.StatusTable, rules.ActionTable or
// rules.Deadlines, it runs the API matrix's cells against an API (which reads the tables at call
// time) and the data matrix's cells against rules generated from the broken tables (in a project
// of their own), and requires each matrix to report exactly the checks the break changes, by
// name. A break that changes no application-data cell (the member, billing and audit-log actions)
// is not run through the data matrix.
//
// It swaps package variables that rules.Check, the API and the generator read, so nothing else
// may read them while it runs. It therefore does not call t.Parallel: Go runs every sequential
// top-level test before it releases the parallel ones, and every other test in this binary that
// reads the tables is parallel, or sequential and so never running at the same time. Each break
// is undone by t.Cleanup before the next one, and before the parallel tests start. Keep it
// sequential, and keep any test added to this package that reads the tables either parallel or
// free of goroutines outliving it.
func TestMatricesCatchWrongTables(t *testing.T) {
	m := newAPIMatrix(t)
	for _, mu := range tableMutants() {
		t.Run(mu.name, func(t *testing.T) {
			mu.apply(t)
			requireReported(t, "the API matrix", m.mismatches(t), m.wrongChecks(mu.policy))
			data := wrongCells(func(c cell) bool {
				return c.caller.role != "" && mu.policy.member(c.sit, c.caller.role, dataAction(c.op)) == ""
			})
			if len(data) > 0 {
				requireReported(t, "the data matrix", dataMismatches(t, isolated(t, rules.FirestoreRules())), data)
			}
		})
	}
}

// dataAction is the action of a data matrix operation.
func dataAction(op string) rules.Action {
	if op == "read" {
		return rules.ReadData
	}
	return rules.WriteData
}

// mismatches runs every cell of the API matrix against the contract's policy and names the
// checks that failed, as situation/caller/check.
func (m *apiMatrix) mismatches(t *testing.T) []string {
	t.Helper()
	var (
		mu  sync.Mutex
		got = map[string]bool{}
	)
	t.Run("API cells", func(t *testing.T) {
		for _, st := range situations() {
			for _, c := range m.callers {
				t.Run(st.name+"/"+c.name, func(t *testing.T) {
					t.Parallel()
					m.check(t, st, c, handPolicy.want(st, c), func(check, _ string) {
						mu.Lock()
						defer mu.Unlock()
						got[st.name+"/"+c.name+"/"+check] = true
					})
				})
			}
		}
	})
	var out []string
	for k := range got {
		out = append(out, k)
	}
	return out
}

// wrongChecks names the checks of the API matrix whose expectation differs between p and the
// contract's policy, as situation/caller/check.
func (m *apiMatrix) wrongChecks(p policy) []string {
	var out []string
	for _, st := range situations() {
		for _, c := range m.callers {
			wrong := p.want(st, c).byCheck()
			for check, want := range handPolicy.want(st, c).byCheck() {
				if wrong[check] != want {
					out = append(out, st.name+"/"+c.name+"/"+check)
				}
			}
		}
	}
	return out
}
