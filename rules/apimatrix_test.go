package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/server"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// apiCaller is a column of the API matrix: a member with a role, platform staff, a signed-in
// non-member, or nobody.
type apiCaller struct {
	name  string
	role  rules.Role
	staff auth.PlatformRole
	user  testenv.User
}

// expectCode is what the API answers for the policy's decision: "" when allowed.
func expectCode(err error) string {
	if err == nil {
		return ""
	}
	return server.CodeOf(err)
}

const (
	qAccess  = `query($id: ID!) { tenant(id: $id) { id status access { canRead canWrite reason } } }`
	qMembers = `query($id: ID!) { tenant(id: $id) { members { role user { id } } } }`
	qHistory = `query($id: ID!) { tenant(id: $id) { id statusHistory { from to } } }`
)

// apiMatrix is the API matrix's fixture: an API, one tenant per situation with the five role
// holders as its members, and the other callers (platform staff, a non-member, nobody).
type apiMatrix struct {
	api     apiServer
	callers []apiCaller
	tenants map[string]string // situation name → tenant id
	ends    time.Time         // a trial end a week ahead
}

func newAPIMatrix(t testing.TB) *apiMatrix {
	t.Helper()
	env := testenv.Require(t)
	m := &apiMatrix{api: startAPI(t), tenants: map[string]string{}}
	for _, r := range rules.Roles {
		m.callers = append(m.callers, apiCaller{name: string(r), role: r})
	}
	m.callers = append(m.callers,
		apiCaller{name: "super_admin", staff: auth.PlatformSuperAdmin},
		apiCaller{name: "sales", staff: auth.PlatformSales},
		apiCaller{name: "support", staff: auth.PlatformSupport},
		apiCaller{name: "non-member"},
		apiCaller{name: "anonymous"},
	)
	var members []testenv.Member
	for i, c := range m.callers {
		switch {
		case c.name == "anonymous":
		case c.staff != "":
			m.callers[i].user = env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{"platformRole": string(c.staff)}})
		default:
			m.callers[i].user = env.NewUser(t, testenv.UserOptions{EmailVerified: true})
		}
		if c.role != "" {
			members = append(members, m.callers[i].user.As(c.role))
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	m.ends = now.Add(7 * 24 * time.Hour)
	var seeds []testenv.Tenant
	var ids []string
	for _, s := range situations() {
		id := testenv.UniqueID("api-")
		m.tenants[s.name] = id
		seeds = append(seeds, s.tenant(id, now, members))
		ids = append(ids, id)
	}
	fs := env.Firestore(t)
	testenv.SeedTenants(t, fs, seeds...)
	t.Cleanup(func() { deleteTenants(fs, ids) })
	return m
}

// policy is an answer key for the API matrix: the code a member with role gets for action in a
// situation ("" when allowed), and whether platform staff who are not members may take action.
type policy struct {
	member func(s situation, role rules.Role, action rules.Action) string
	staff  func(action rules.Action) bool
}

// handPolicy is the contract's policy, written out by hand (handpolicy_test.go).
var handPolicy = policy{member: handCode, staff: handStaffMay}

// cellWant is what the API must answer one caller about one situation's tenant.
type cellWant struct {
	// outsider is the code for a caller who is neither a member nor staff, whatever the
	// operation: UNAUTHENTICATED for nobody, NOT_FOUND for a non-member; "" for the others.
	outsider    string
	read, write bool   // Tenant.access
	banner      bool   // Tenant.access.reason is set: something is closed, or a grace keeps writes open
	members     string // the code of Tenant.members (reading tenant data)
	history     string // the code of Tenant.statusHistory (the audit-log action)
	// authorize is the domain check's code per action; nil for the anonymous caller, who has no
	// principal to check.
	authorize map[rules.Action]string
}

// staffCode is what p answers platform staff for action.
func (p policy) staffCode(action rules.Action) string {
	if p.staff(action) {
		return ""
	}
	return server.CodeForbidden
}

// want is what p says the API answers c about st's tenant.
func (p policy) want(st situation, c apiCaller) cellWant {
	switch {
	case c.name == "anonymous":
		code := server.CodeUnauthenticated
		return cellWant{outsider: code, members: code, history: code}
	case c.name == "non-member":
		code := server.CodeNotFound
		return cellWant{outsider: code, members: code, history: code, authorize: eachAction(func(rules.Action) string { return code })}
	case c.staff != "":
		// Staff read everything and write nothing as members.
		return cellWant{read: true, banner: true, members: p.staffCode(rules.ReadData), history: p.staffCode(rules.ReadAuditLog), authorize: eachAction(p.staffCode)}
	}
	code := func(a rules.Action) string { return p.member(st, c.role, a) }
	w := cellWant{
		read: code(rules.ReadData) == "", write: code(rules.WriteData) == "",
		members: code(rules.ReadData), history: code(rules.ReadAuditLog), authorize: eachAction(code),
	}
	// The banner says what is closed, or until when a grace keeps writes open.
	w.banner = !(w.read && w.write) || st.handKey() == "past_due_in_grace"
	return w
}

// eachAction is code's answer for every action of the contract.
func eachAction(code func(rules.Action) string) map[rules.Action]string {
	out := map[rules.Action]string{}
	for _, h := range handActions {
		out[h.action] = code(h.action)
	}
	return out
}

// byCheck names each expectation by the check that holds the API to it, as the checks report
// their mismatches; the staff operations are left out, as they do not depend on the tables.
func (w cellWant) byCheck() map[string]string {
	k := map[string]string{
		"access":        fmt.Sprintf("%s read=%v write=%v banner=%v", w.outsider, w.read, w.write, w.banner),
		"members":       w.members,
		"statusHistory": w.history,
	}
	for a, code := range w.authorize {
		k["Authorize("+string(a)+")"] = code
	}
	return k
}

// check asks the API what the SPA and the playground would, as c about st's tenant, and reports
// every answer that differs from w under the name of its check. It fails the test only when the
// API cannot be asked at all.
func (m *apiMatrix) check(t testing.TB, st situation, c apiCaller, w cellWant, report func(check, msg string)) {
	t.Helper()
	id := m.tenants[st.name]
	m.checkAccess(t, st, c, w, report)
	vars := map[string]any{"id": id}
	if got := m.api.call(t, c.user.IDToken, "", qMembers, vars); got.Codes() != w.members {
		report("members", fmt.Sprintf("errors %q, want %q (%s)", got.Codes(), w.members, got.FieldJSON("tenant")))
	} else if w.members == "" && !strings.Contains(string(got.FieldJSON("tenant")), m.callers[0].user.UID) {
		report("members", fmt.Sprintf("%s lacks the owner", got.FieldJSON("tenant")))
	}
	if got := m.api.call(t, c.user.IDToken, "", qHistory, vars); got.Codes() != w.history {
		report("statusHistory", fmt.Sprintf("errors %q, want %q", got.Codes(), w.history))
	} else if w.history != "" && w.outsider == "" && !strings.Contains(string(got.FieldJSON("tenant")), id) {
		report("statusHistory", fmt.Sprintf("refused, but the rest of the tenant should still answer: %s", got.FieldJSON("tenant")))
	}
	m.checkStaffOperations(t, c, id, w, report)
	if w.authorize == nil {
		return
	}
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{UID: c.user.UID, Email: c.user.Email, PlatformRole: c.staff})
	for _, h := range handActions {
		_, err := m.api.app.Tenancy.Authorize(ctx, id, h.action)
		if got := expectCode(err); got != w.authorize[h.action] {
			report("Authorize("+string(h.action)+")", fmt.Sprintf("%q (%v), want %q", got, err, w.authorize[h.action]))
		}
	}
}

// checkAccess holds Tenant.access to w: the stored status (the job records a trial's end;
// access already applies it), what is open, and a banner exactly when something is closed.
func (m *apiMatrix) checkAccess(t testing.TB, st situation, c apiCaller, w cellWant, report func(check, msg string)) {
	t.Helper()
	a := m.api.call(t, c.user.IDToken, "", qAccess, map[string]any{"id": m.tenants[st.name]})
	if w.outsider != "" {
		if a.Codes() != w.outsider || string(a.FieldJSON("tenant")) != "null" {
			report("access", fmt.Sprintf("errors %q data %s; want %s and null", a.Codes(), a.FieldJSON("tenant"), w.outsider))
		}
		return
	}
	var got struct {
		Status string
		Access struct {
			CanRead, CanWrite bool
			Reason            *string
		}
	}
	if err := json.Unmarshal(a.FieldJSON("tenant"), &got); err != nil || a.Codes() != "" {
		t.Fatalf("tenant: %v %q %s", err, a.Codes(), a.FieldJSON("tenant"))
	}
	if got.Status != strings.ToUpper(string(st.status)) || got.Access.CanRead != w.read || got.Access.CanWrite != w.write {
		report("access", fmt.Sprintf("status %s access %+v; want %s canRead=%v canWrite=%v", got.Status, got.Access, st.status, w.read, w.write))
	}
	if (got.Access.Reason != nil) != w.banner {
		report("access", fmt.Sprintf("reason = %v; want a banner (%v) exactly when something is closed or a grace runs", got.Access.Reason, w.banner))
	}
}

// checkStaffOperations: the staff operations are refused to everyone who lacks the platform role
// (the allowed ones change the tenant, so TestStaffOperationsAPI runs them on tenants of their
// own). The target is valid where the lifecycle allows, so a refusal here is about the caller.
func (m *apiMatrix) checkStaffOperations(t testing.TB, c apiCaller, id string, w cellWant, report func(check, msg string)) {
	t.Helper()
	want := w.outsider
	if want == "" {
		want = server.CodeForbidden
	}
	if c.staff != auth.PlatformSupport && c.staff != auth.PlatformSuperAdmin {
		r := m.api.call(t, c.user.IDToken, "", mStatus, map[string]any{"id": id, "status": "CANCELLED", "reason": "matrix test"})
		if r.Codes() != want {
			report("setTenantStatus", fmt.Sprintf("errors %q, want %q", r.Codes(), want))
		}
	}
	if c.staff != auth.PlatformSales && c.staff != auth.PlatformSuperAdmin {
		r := m.api.call(t, c.user.IDToken, "", mExtend, map[string]any{"id": id, "end": m.ends.Add(24 * time.Hour), "reason": "matrix test"})
		if r.Codes() != want {
			report("extendTrial", fmt.Sprintf("errors %q, want %q", r.Codes(), want))
		}
	}
}

// TestAPIMatrix asks the API, for every status in every grace state (none, in grace, grace
// over), and a trial past its end with and without a contract, × every role, plus platform staff, a non-member and an anonymous caller, what the SPA
// and the playground would: Tenant.access, the member list, the status history, and the staff
// operations. It also runs the domain's policy check (Authorize, which every tenant-scoped
// operation calls) for every action in every cell, reading the status and role from Firestore.
// Every expectation comes from the contract's policy written out by hand (handPolicy), never
// from the tables the API runs on; TestMatricesCatchWrongTables shows it failing against wrong
// tables.
func TestAPIMatrix(t *testing.T) {
	t.Parallel()
	m := newAPIMatrix(t)
	cells := 0
	for _, st := range situations() {
		for _, c := range m.callers {
			cells++
			t.Run(st.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				m.check(t, st, c, handPolicy.want(st, c), func(check, msg string) { t.Errorf("%s: %s", check, msg) })
			})
		}
	}
	t.Logf("%d cells: %d situations × %d callers", cells, len(situations()), len(m.callers))
}
