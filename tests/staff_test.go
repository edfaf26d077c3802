package tests

// The staff surface through the API (issue 6): the tenants query with its filters, search and
// cursor pagination, Tenant.contract, and Tenant.auditLog with every staff action in it.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
)

const tenantsQuery = `query($filter: TenantFilter, $first: Int, $after: String) {
	tenants(filter: $filter, first: $first, after: $after) {
		edges { cursor node { id name subdomain status source createdAt } }
		pageInfo { hasNextPage endCursor }
	}
}`

type tenantsPage struct {
	Edges []struct {
		Cursor string `json:"cursor"`
		Node   struct {
			ID        string    `json:"id"`
			Name      string    `json:"name"`
			Status    string    `json:"status"`
			Source    string    `json:"source"`
			CreatedAt time.Time `json:"createdAt"`
		} `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	} `json:"pageInfo"`
}

func (s *testServer) tenants(t testing.TB, token string, filter map[string]any, first int, after string) (*tenantsPage, []gqlErr) {
	t.Helper()
	vars := map[string]any{"filter": filter, "first": first}
	if after != "" {
		vars["after"] = after
	}
	status, data, errs := s.gql(t, token, tenantsQuery, vars)
	if len(errs) > 0 {
		return nil, errs
	}
	var d struct {
		Tenants tenantsPage `json:"tenants"`
	}
	mustData(t, status, data, errs, &d)
	return &d.Tenants, nil
}

// allIDs pages through a search and returns the ids in order, checking the page invariants.
func (s *testServer) allIDs(t testing.TB, token string, filter map[string]any, first int) []string {
	t.Helper()
	var ids []string
	after := ""
	for range 20 {
		p, errs := s.tenants(t, token, filter, first, after)
		if p == nil {
			t.Fatalf("tenants: %+v", errs)
		}
		if len(p.Edges) > first {
			t.Fatalf("page of %d edges, asked for %d", len(p.Edges), first)
		}
		for _, e := range p.Edges {
			ids = append(ids, e.Node.ID)
		}
		if n := len(p.Edges); n > 0 && (p.PageInfo.EndCursor == nil || *p.PageInfo.EndCursor != p.Edges[n-1].Cursor) {
			t.Fatalf("endCursor %v is not the last edge's cursor", p.PageInfo.EndCursor)
		}
		if !p.PageInfo.HasNextPage {
			return ids
		}
		after = *p.PageInfo.EndCursor
	}
	t.Fatal("more than 20 pages")
	return nil
}

func TestStaffTenantsQuery(t *testing.T) {
	t.Parallel()
	s := shared(t)
	word := testenv.UniqueID("zq") // letters and digits only: one search word of our own
	var selfIDs []string
	for _, n := range []string{"Alpha", "Beta", "Gamma"} {
		p := s.mustProvision(t, newUser(t).IDToken, provisionInput(uniqueKey(), word+" "+n, "", ""))
		selfIDs = append(selfIDs, p.Tenant.ID)
	}
	rep := staffUser(t, "sales")
	sub, ref := uniqueSubdomain(), "CRM-"+strings.ToUpper(word)+"-7"
	contract := s.mustProvisionContract(t, rep.IDToken, contractInputs(uniqueKey(), "Unrelated Name", freshEmail("st"), sub, ref, "pro", 30, goLive(30)))
	all := append(slices.Clone(selfIDs), contract.Tenant.ID)

	support := staffUser(t, "support")
	t.Run("search pages newest first", func(t *testing.T) {
		ids := s.allIDs(t, support.IDToken, map[string]any{"search": strings.ToUpper(word)}, 2)
		// The contract's reference contains the word too.
		want := slices.Clone(all)
		slices.Reverse(want) // newest first
		if !slices.Equal(ids, want) {
			t.Fatalf("search %q paged as %v, want %v", word, ids, want)
		}
	})
	t.Run("prefix of a word", func(t *testing.T) {
		ids := s.allIDs(t, rep.IDToken, map[string]any{"search": word + " be"}, 10)
		if !slices.Equal(ids, []string{selfIDs[1]}) {
			t.Errorf("search %q = %v, want only the Beta tenant", word+" be", ids)
		}
	})
	t.Run("contract reference and subdomain", func(t *testing.T) {
		for _, q := range []string{strings.ToLower(ref), "crm-" + word, sub} {
			ids := s.allIDs(t, rep.IDToken, map[string]any{"search": q}, 10)
			if !slices.Equal(ids, []string{contract.Tenant.ID}) {
				t.Errorf("search %q = %v, want the contract tenant", q, ids)
			}
		}
	})
	t.Run("filters", func(t *testing.T) {
		ids := s.allIDs(t, rep.IDToken, map[string]any{"search": word, "source": "SALES_ASSISTED"}, 10)
		if !slices.Equal(ids, []string{contract.Tenant.ID}) {
			t.Errorf("sales-assisted = %v", ids)
		}
		ids = s.allIDs(t, rep.IDToken, map[string]any{"search": word, "source": "SELF_SERVE", "status": "TRIAL"}, 1)
		if len(ids) != 3 {
			t.Errorf("self-serve trials = %v, want 3", ids)
		}
		if ids := s.allIDs(t, rep.IDToken, map[string]any{"search": word, "status": "ACTIVE"}, 10); len(ids) != 0 {
			t.Errorf("active = %v, want none", ids)
		}
		// Without a search the list still pages (over every tenant of the emulator).
		p, errs := s.tenants(t, support.IDToken, map[string]any{"status": "TRIAL"}, 3, "")
		if p == nil || len(p.Edges) != 3 || !p.PageInfo.HasNextPage {
			t.Errorf("unsearched page: %+v %+v", p, errs)
		}
	})
	t.Run("only staff", func(t *testing.T) {
		_, errs := s.tenants(t, newUser(t).IDToken, nil, 10, "")
		wantCode(t, errs, "FORBIDDEN", "")
		_, errs = s.tenants(t, "", nil, 10, "")
		wantCode(t, errs, "UNAUTHENTICATED", "")
	})
	t.Run("bad input", func(t *testing.T) {
		_, errs := s.tenants(t, rep.IDToken, nil, 0, "")
		wantCode(t, errs, "BAD_USER_INPUT", "first")
		_, errs = s.tenants(t, rep.IDToken, nil, 101, "")
		wantCode(t, errs, "BAD_USER_INPUT", "first")
		_, errs = s.tenants(t, rep.IDToken, nil, 10, "not-a-cursor")
		wantCode(t, errs, "BAD_USER_INPUT", "after")
		_, errs = s.tenants(t, rep.IDToken, map[string]any{"search": " x "}, 10, "")
		wantCode(t, errs, "BAD_USER_INPUT", "filter.search")
	})
}

const staffTenantQuery = `query($id: ID!, $first: Int) { tenant(id: $id) {
	id status
	contract { reference plan { id } seatCap goLiveDate signedAt adminContact { email name } provisionedBy { userId email platformRole } }
	auditLog(first: $first) { id action at reason actorUserId actorPlatformRole actorSystem requestId changes { field before after } }
} }`

type gqlAuditEntry struct {
	ID                string  `json:"id"`
	Action            string  `json:"action"`
	Reason            string  `json:"reason"`
	ActorUserID       *string `json:"actorUserId"`
	ActorPlatformRole *string `json:"actorPlatformRole"`
	ActorSystem       *string `json:"actorSystem"`
	RequestID         *string `json:"requestId"`
	Changes           []struct {
		Field  string  `json:"field"`
		Before *string `json:"before"`
		After  *string `json:"after"`
	} `json:"changes"`
}

type staffTenant struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Contract *struct {
		Reference string `json:"reference"`
		Plan      struct {
			ID string `json:"id"`
		} `json:"plan"`
		SeatCap       int       `json:"seatCap"`
		GoLiveDate    time.Time `json:"goLiveDate"`
		SignedAt      time.Time `json:"signedAt"`
		AdminContact  struct{ Email, Name string }
		ProvisionedBy struct {
			UserID       string `json:"userId"`
			Email        string `json:"email"`
			PlatformRole string `json:"platformRole"`
		} `json:"provisionedBy"`
	} `json:"contract"`
	AuditLog []gqlAuditEntry `json:"auditLog"`
}

func (s *testServer) staffTenant(t testing.TB, token, id string) (staffTenant, []gqlErr) {
	t.Helper()
	_, data, errs := s.gql(t, token, staffTenantQuery, map[string]any{"id": id, "first": 50})
	var d struct {
		Tenant *staffTenant `json:"tenant"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Tenant == nil {
		t.Fatalf("tenant(%s): %s %+v", id, data, errs)
	}
	return *d.Tenant, errs
}

func (e gqlAuditEntry) change(field string) (before, after string, ok bool) {
	for _, c := range e.Changes {
		if c.Field == field {
			if c.Before != nil {
				before = *c.Before
			}
			if c.After != nil {
				after = *c.After
			}
			return before, after, true
		}
	}
	return "", "", false
}

// tenantActions keeps the entries of tenant.* actions (the lifecycle's), dropping member.* ones.
func tenantActions(log []gqlAuditEntry) []gqlAuditEntry {
	var out []gqlAuditEntry
	for _, e := range log {
		if strings.HasPrefix(e.Action, "tenant.") {
			out = append(out, e)
		}
	}
	return out
}

// Every staff action is in the tenant's audit log with its actor, platform role, reason, request
// id and before/after; the contract is shown to staff.
func TestAuditLogRecordsEveryStaffAction(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, id := ownerAndTenant(t, s)
	member := join(t, s, owner.IDToken, id, "MEMBER")
	support, rep, admin := staffUser(t, "support"), staffUser(t, "sales"), staffUser(t, "super_admin")

	gqlOK := func(token, q string, vars map[string]any) {
		t.Helper()
		status, data, errs := s.gql(t, token, q, vars)
		var d map[string]any
		mustData(t, status, data, errs, &d)
	}
	// super admin: trial → trial_expired; sales: extend the trial; sales: convert it to a contract.
	gqlOK(admin.IDToken, `mutation($id: ID!) { setTenantStatus(tenantId: $id, status: TRIAL_EXPIRED, reason: "customer asked to pause the evaluation") { status } }`, map[string]any{"id": id})
	gqlOK(rep.IDToken, `mutation($id: ID!, $end: Time!) { extendTrial(tenantId: $id, trialEndsAt: $end, reason: "negotiation in progress") { status } }`,
		map[string]any{"id": id, "end": goLive(10).Format(time.RFC3339)})
	ref := testenv.UniqueID("OPP-")
	in := contractInputs(uniqueKey(), "Audited Co", freshEmail("aud"), "", ref, "pro", 25, goLive(40))
	in["existingTenantId"] = id
	s.mustProvisionContract(t, rep.IDToken, in)

	st, errs := s.staffTenant(t, support.IDToken, id)
	if len(errs) > 0 {
		t.Fatalf("support reads the tenant: %+v", errs)
	}
	if c := st.Contract; c == nil || c.Reference != ref || c.Plan.ID != "pro" || c.SeatCap != 25 ||
		c.ProvisionedBy.UserID != rep.UID || c.ProvisionedBy.PlatformRole != "SALES" || c.SignedAt.IsZero() {
		t.Errorf("contract = %+v", st.Contract)
	}
	want := []struct{ action, actor, role, reason, field, before, after string }{
		{"tenant.convert_contract", rep.UID, "SALES", "signed contract " + ref, "planId", "trial", "pro"},
		{"tenant.extend_trial", rep.UID, "SALES", "negotiation in progress", "status", "trial_expired", "trial"},
		{"tenant.set_status", admin.UID, "SUPER_ADMIN", "customer asked to pause the evaluation", "status", "trial", "trial_expired"},
	}
	// The member who joined is audited too (member.*, see TestMemberChangesAreAudited); this test
	// is about the staff actions.
	st.AuditLog = tenantActions(st.AuditLog)
	if len(st.AuditLog) != len(want) {
		t.Fatalf("audit log = %+v, want %d entries", st.AuditLog, len(want))
	}
	for i, w := range want {
		e := st.AuditLog[i]
		if e.Action != w.action || e.ActorUserID == nil || *e.ActorUserID != w.actor || e.ActorPlatformRole == nil ||
			*e.ActorPlatformRole != w.role || e.Reason != w.reason || e.RequestID == nil || *e.RequestID == "" || e.ID == "" {
			t.Errorf("audit entry %d = %+v, want %s by %s (%s) because %q, with a request id", i, e, w.action, w.actor, w.role, w.reason)
		}
		if b, a, ok := e.change(w.field); !ok || b != w.before || a != w.after {
			t.Errorf("audit entry %d (%s): change of %s = %q → %q, want %q → %q (changes %+v)", i, e.Action, w.field, b, a, w.before, w.after, e.Changes)
		}
	}

	// The owner reads the audit log too, but not the contract (staff only); a plain member
	// reads neither, and the rest of the tenant still answers.
	ot, errs := s.staffTenant(t, owner.IDToken, id)
	if len(tenantActions(ot.AuditLog)) != len(want) || ot.Contract != nil || ot.Status != "TRIAL" {
		t.Errorf("owner's view: %+v", ot)
	}
	if len(errs) != 1 || errs[0].Code() != "FORBIDDEN" || !strings.Contains(jsonString(errs[0].Path), "contract") {
		t.Errorf("owner reading the contract: errors %+v, want one FORBIDDEN on contract", errs)
	}
	mt, errs := s.staffTenant(t, member.IDToken, id)
	if mt.AuditLog != nil || mt.Contract != nil || mt.ID != id || len(errs) != 2 {
		t.Errorf("member's view: %+v, errors %+v; want the tenant without audit log and contract, two errors", mt, errs)
	}
}
