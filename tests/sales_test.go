package tests

// Sales-assisted provisioning through the API (issue 6): provisionContractTenant for a new tenant
// and for converting an evaluation tenant in place, who may call it, what it writes, and how the
// named admin becomes the owner. The staff queries (tenants, Tenant.contract, Tenant.auditLog) are
// in staff_test.go; go-live is proven with an injected clock in internal/tenancy/contract_test.go.

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

const contractMutation = `mutation Contract($input: ProvisionContractTenantInput!) {
	provisionContractTenant(input: $input) { replayed tenant { ` + tenantFields + ` } }
}`

// staffUser creates a user with the platform role claim (none when role is "").
func staffUser(t testing.TB, role string) testenv.User {
	t.Helper()
	opts := testenv.UserOptions{EmailVerified: true}
	if role != "" {
		opts.Claims = map[string]any{auth.PlatformRoleClaim: role}
	}
	return emulators(t).NewUser(t, opts)
}

// goLive is a go-live date days ahead, at whole seconds (as a sales rep would type it).
func goLive(days int) time.Time {
	return time.Now().UTC().AddDate(0, 0, days).Truncate(time.Second)
}

// contractInputs builds provisionContractTenant's input; "" optional fields are left out.
func contractInputs(key, name, adminEmail, subdomain, reference string, plan string, seats int, golive time.Time) map[string]any {
	in := map[string]any{
		"idempotencyKey": key, "organizationName": name, "planId": plan, "seatCap": seats,
		"goLiveDate": golive.Format(time.RFC3339Nano), "contractReference": reference,
		"adminContact": map[string]any{"email": adminEmail, "name": "Grace Hopper"},
	}
	if subdomain != "" {
		in["subdomain"] = subdomain
	}
	return in
}

// provisionContract calls provisionContractTenant; the payload is nil when there are errors.
func (s *testServer) provisionContract(t testing.TB, token string, input map[string]any) (*provisionPayload, []gqlErr) {
	t.Helper()
	status, data, errs := s.gql(t, token, contractMutation, map[string]any{"input": input})
	if len(errs) > 0 {
		return nil, errs
	}
	var d struct {
		ProvisionContractTenant provisionPayload `json:"provisionContractTenant"`
	}
	mustData(t, status, data, errs, &d)
	return &d.ProvisionContractTenant, nil
}

func (s *testServer) mustProvisionContract(t testing.TB, token string, input map[string]any) provisionPayload {
	t.Helper()
	p, errs := s.provisionContract(t, token, input)
	if p == nil {
		t.Fatalf("provisionContractTenant(%v): %+v", input, errs)
	}
	return *p
}

// roleIn is the caller's role in tenantID according to `me` (which also runs the lazy signup).
func roleIn(t testing.TB, s *testServer, token, tenantID string) string {
	t.Helper()
	status, data, errs := s.gql(t, token, `{ me { memberships { role tenant { id } } } }`, nil)
	var d struct {
		Me struct {
			Memberships []struct {
				Role   string `json:"role"`
				Tenant struct {
					ID string `json:"id"`
				} `json:"tenant"`
			} `json:"memberships"`
		} `json:"me"`
	}
	mustData(t, status, data, errs, &d)
	for _, m := range d.Me.Memberships {
		if m.Tenant.ID == tenantID {
			return m.Role
		}
	}
	return ""
}

// tenantAs reads tenant(id) with its access and members as the caller.
func tenantAs(t testing.TB, s *testServer, token, tenantID string) gqlTenant {
	t.Helper()
	status, data, errs := s.gql(t, token, `query($id: ID!) { tenant(id: $id) { `+tenantFields+` } }`, map[string]any{"id": tenantID})
	var d struct {
		Tenant *gqlTenant `json:"tenant"`
	}
	mustData(t, status, data, errs, &d)
	if d.Tenant == nil {
		t.Fatalf("tenant %s is null", tenantID)
	}
	return *d.Tenant
}

func TestProvisionContractTenantNeedsSalesOrSuperAdmin(t *testing.T) {
	t.Parallel()
	s := shared(t)
	for _, role := range []string{"", "support"} {
		t.Run("role "+role, func(t *testing.T) {
			u := staffUser(t, role)
			sub := uniqueSubdomain()
			_, errs := s.provisionContract(t, u.IDToken, contractInputs(uniqueKey(), "Forbidden Co", freshEmail("fa"), sub, "OPP-F", "enterprise", 10, goLive(30)))
			e := wantCode(t, errs, "FORBIDDEN", "")
			if !strings.Contains(e.Message, "SALES") {
				t.Errorf("message %q should say which platform role is needed", e.Message)
			}
			nothingWrittenFor(t, u.UID)
			assertAbsent(t, "subdomains/"+sub)
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		_, errs := s.provisionContract(t, "", contractInputs(uniqueKey(), "Anon Co", freshEmail("fa"), "", "OPP-A", "enterprise", 10, goLive(30)))
		wantCode(t, errs, "UNAUTHENTICATED", "")
	})
	t.Run("super_admin", func(t *testing.T) {
		u := staffUser(t, "super_admin")
		p := s.mustProvisionContract(t, u.IDToken, contractInputs(uniqueKey(), "Admin Co", freshEmail("sa"), "", "OPP-S", "pro", 60, goLive(30)))
		if p.Tenant.Source != "SALES_ASSISTED" || p.Tenant.SeatCap != 60 {
			t.Errorf("tenant = %+v", p.Tenant)
		}
	})
}

func TestProvisionContractTenant(t *testing.T) {
	t.Parallel()
	s := shared(t)
	rep := staffUser(t, "sales")
	adminEmail := freshEmail("named-admin")
	key, sub, ref := uniqueKey(), uniqueSubdomain(), testenv.UniqueID("OPP-")
	golive := goLive(45)
	input := contractInputs(key, "Contract Corp "+sub, strings.ToUpper(adminEmail), sub, ref, "enterprise", 750, golive)

	p := s.mustProvisionContract(t, rep.IDToken, input)
	tn := p.Tenant
	if p.Replayed {
		t.Error("first call: replayed = true")
	}
	// The contract's terms, not the self-serve defaults; the seat cap beyond the plan's 500.
	if tn.Plan.ID != "enterprise" || tn.SeatCap != 750 || tn.Plan.SeatCap != 500 || tn.Status != "TRIAL" ||
		tn.Source != "SALES_ASSISTED" || tn.Subdomain == nil || *tn.Subdomain != sub ||
		tn.TrialEndsAt == nil || !tn.TrialEndsAt.Equal(golive) || tn.SeatsUsed != 0 || tn.PendingInvitations != 1 {
		t.Fatalf("tenant = %+v (subdomain %v, trialEndsAt %v); want enterprise, 750 seats, TRIAL until %s, %s, 0 used and 1 pending",
			tn, tn.Subdomain, tn.TrialEndsAt, golive, sub)
	}
	id := tn.ID

	// The documents, all from one commit.
	td := mustDoc(t, "tenants/"+id)
	for field, want := range map[string]any{
		"status": "trial", "planId": "enterprise", "seatCap": int64(750), "seatsUsed": int64(0), "pendingInvitations": int64(1),
		"source": "sales_assisted", "subdomain": sub,
	} {
		if td[field] != want {
			t.Errorf("tenants/%s.%s = %#v, want %#v", id, field, td[field], want)
		}
	}
	// The contract's terms on the tenant; its reference and who entered it in the staff record.
	c, _ := td["contract"].(map[string]any)
	contact, _ := c["adminContact"].(map[string]any)
	if c["planId"] != "enterprise" || c["seatCap"] != int64(750) || !golive.Equal(c["goLiveDate"].(time.Time)) ||
		c["signedAt"] == nil || contact["email"] != adminEmail || contact["name"] != "Grace Hopper" ||
		c["reference"] != nil || c["provisionedBy"] != nil || td["createdBy"] != nil || td["searchTokens"] != nil {
		t.Errorf("tenants/%s: contract %v, createdBy %v, searchTokens %v", id, c, td["createdBy"], td["searchTokens"])
	}
	staff := mustDoc(t, "tenants/"+id+"/private/staff")
	sc, _ := staff["contract"].(map[string]any)
	by, _ := sc["provisionedBy"].(map[string]any)
	if staff["createdBy"] != rep.UID || sc["reference"] != ref ||
		by["uid"] != rep.UID || by["email"] != strings.ToLower(rep.Email) || by["platformRole"] != "sales" {
		t.Errorf("tenants/%s/private/staff = %v", id, staff)
	}
	if n := countDocs(t, "tenants/"+id+"/members"); n != 0 {
		t.Errorf("%d members at provisioning, want none (the sales rep is not a member)", n)
	}
	if ids := userTenantIDs(t, rep.UID); slices.Contains(ids, id) {
		t.Errorf("the rep's users document links the tenant: %v", ids)
	}
	invID := tenancy.InvitationID(id, adminEmail)
	inv := mustDoc(t, "tenants/"+id+"/invitations/"+invID)
	if inv["role"] != "owner" || inv["status"] != "pending" || inv["email"] != adminEmail || inv["invitedBy"] != rep.UID {
		t.Errorf("owner invitation = %v", inv)
	}
	token := invitationToken(t, invID) // from the email.invitation outbox entry's payload.secret.token
	if tokenHash, _ := inv["tokenHash"].(string); tokenHash != tenancy.HashInvitationToken(token) {
		t.Errorf("invitation tokenHash %q does not match the emailed token", tokenHash)
	}
	if idx := mustDoc(t, "invitationTokens/"+tenancy.HashInvitationToken(token)); idx["tenantId"] != id || idx["invitationId"] != invID {
		t.Errorf("invitationTokens entry = %v", idx)
	}
	assertAbsent(t, "outbox/email.welcome-"+id) // the invitation is the named admin's welcome
	if b := mustDoc(t, "outbox/billing.setup-"+id); b["payload"].(map[string]any)["email"] != adminEmail {
		t.Errorf("billing setup goes to %v, want the named admin", b["payload"])
	}
	if sd := mustDoc(t, "subdomains/"+sub); sd["tenantId"] != id {
		t.Errorf("subdomains/%s = %v", sub, sd)
	}
	if rec := mustDoc(t, "idempotencyRecords/"+tenancy.IdempotencyRecordID(rep.UID, key)); rec["tenantId"] != id || rec["operation"] != "provisionContractTenant" {
		t.Errorf("idempotency record = %v", rec)
	}

	// A replay returns the same tenant; the same key with other terms is refused.
	again := s.mustProvisionContract(t, rep.IDToken, input)
	if !again.Replayed || again.Tenant.ID != id {
		t.Errorf("replay: replayed %v tenant %s, want true and %s", again.Replayed, again.Tenant.ID, id)
	}
	other := maps.Clone(input)
	other["seatCap"] = 751
	_, errs := s.provisionContract(t, rep.IDToken, other)
	wantCode(t, errs, "IDEMPOTENCY_KEY_REUSED", "")
	if ids := tenantsCreatedBy(t, rep.UID); len(ids) != 1 {
		t.Errorf("tenants created by the rep: %v, want 1", ids)
	}

	// The named admin signs up (a verified user with the invited address, created in the Auth
	// emulator) and makes a first request: the signup logic accepts the owner invitation.
	admin := verifiedUser(t, adminEmail)
	if r := roleIn(t, s, admin.IDToken, id); r != "OWNER" {
		t.Fatalf("the named admin's role after signup is %q, want OWNER", r)
	}
	got := tenantAs(t, s, admin.IDToken, id)
	if got.SeatCap != 750 || got.SeatsUsed != 1 || got.PendingInvitations != 0 || !got.Access.CanWrite {
		t.Errorf("after the admin joined: %+v, want the contracted 750 seats, 1 used, none pending, writable", got)
	}
	if r := memberRole(t, id, admin.UID); r != "owner" {
		t.Errorf("stored role %q, want owner", r)
	}
	// The accepted link cannot be used by anyone else.
	if _, errs := s.accept(t, verifiedUser(t, "").IDToken, token); len(errs) == 0 {
		t.Error("another user accepted the used owner invitation")
	}
}

func TestProvisionContractTenantErrors(t *testing.T) {
	t.Parallel()
	s := shared(t)
	rep := staffUser(t, "sales")
	taken := uniqueSubdomain()
	s.mustProvision(t, newUser(t).IDToken, provisionInput(uniqueKey(), "Holder", taken, ""))

	for _, tc := range []struct {
		name        string
		edit        func(map[string]any)
		code, field string
	}{
		{"go-live in the past", func(in map[string]any) { in["goLiveDate"] = time.Now().Add(-time.Hour).Format(time.RFC3339) }, "BAD_USER_INPUT", "goLiveDate"},
		{"no such plan", func(in map[string]any) { in["planId"] = "platinum" }, "BAD_USER_INPUT", "planId"},
		{"seat cap 0", func(in map[string]any) { in["seatCap"] = 0 }, "BAD_USER_INPUT", "seatCap"},
		{"seat cap too large", func(in map[string]any) { in["seatCap"] = 100001 }, "BAD_USER_INPUT", "seatCap"},
		{"reference with a control character", func(in map[string]any) { in["contractReference"] = "OPP\u0007" }, "BAD_USER_INPUT", "contractReference"},
		{"reference too long", func(in map[string]any) { in["contractReference"] = strings.Repeat("R", 101) }, "BAD_USER_INPUT", "contractReference"},
		{"bad admin email", func(in map[string]any) { in["adminContact"] = map[string]any{"email": "not an email"} }, "BAD_USER_INPUT", "adminContact.email"},
		{"subdomain taken", func(in map[string]any) { in["subdomain"] = taken }, "SUBDOMAIN_TAKEN", ""},
		{"unknown tenant to convert", func(in map[string]any) { in["existingTenantId"] = "NOSUCHTENANT0000000000000" }, "NOT_FOUND", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := contractInputs(uniqueKey(), "Error Co", freshEmail("err"), uniqueSubdomain(), "OPP-E", "pro", 20, goLive(20))
			tc.edit(in)
			_, errs := s.provisionContract(t, rep.IDToken, in)
			e := wantCode(t, errs, tc.code, tc.field)
			if len(e.Message) < 20 {
				t.Errorf("message %q does not say what to do", e.Message)
			}
		})
	}
	if ids := tenantsCreatedBy(t, rep.UID); len(ids) != 0 {
		t.Errorf("refused calls created tenants %v", ids)
	}
}

// Self-serve and sales tenants come out of the same provisioning function: with the clock pinned,
// their tenant documents differ only in the fields the contract's inputs (and the caller) explain.
func TestSelfServeAndContractTenantsDifferOnlyByContractInputs(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	s := newServer(t, nil, app.Options{Clock: clock.NewManual(now)})
	owner := newUser(t)
	rep := staffUser(t, "sales")
	adminEmail := freshEmail("cmp")
	subA, subB, ref := uniqueSubdomain(), uniqueSubdomain(), testenv.UniqueID("REF-")
	golive := now.AddDate(0, 0, 30)

	self := s.mustProvision(t, owner.IDToken, provisionInput(uniqueKey(), "Self Serve Org", subA, ""))
	sales := s.mustProvisionContract(t, rep.IDToken, contractInputs(uniqueKey(), "Contract Org", adminEmail, subB, ref, "enterprise", 750, golive))
	a := mustDoc(t, "tenants/"+self.Tenant.ID)
	b := mustDoc(t, "tenants/"+sales.Tenant.ID)

	// Each difference, with the input that explains it and the value that input gives.
	explained := map[string]struct {
		why          string
		self, seller any
	}{
		"name":               {"organizationName", "Self Serve Org", "Contract Org"},
		"subdomain":          {"subdomain", subA, subB},
		"planId":             {"planId (self-serve: the default plan)", "trial", "enterprise"},
		"seatCap":            {"seatCap (self-serve: the plan's)", int64(5), int64(750)},
		"seatsUsed":          {"adminContact: the caller owns a self-serve tenant; a contract's seat is held by the admin's invitation", int64(1), int64(0)},
		"pendingInvitations": {"adminContact: the owner invitation", int64(0), int64(1)},
		"trialEndsAt":        {"goLiveDate (self-serve: now + the plan's trial days)", now.AddDate(0, 0, 14), golive},
		"source":             {"the caller: provisionContractTenant", "self_serve", "sales_assisted"},
		"contract":           {"the contract record", nil, "present"},
		"pendingExpiryFloor": {"adminContact: the owner invitation's expiry", nil, now.Add(tenancy.ContractInvitationExpiry)},
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		e, ok := explained[k]
		if !ok {
			if !reflect.DeepEqual(a[k], b[k]) {
				t.Errorf("field %s differs with no contract input to explain it: self-serve %#v, contract %#v", k, a[k], b[k])
			}
			continue
		}
		for _, side := range []struct {
			name      string
			got, want any
		}{{"self-serve", a[k], e.self}, {"contract", b[k], e.seller}} {
			switch want := side.want.(type) {
			case nil:
				if side.got != nil {
					t.Errorf("%s tenant has %s = %v, want none (%s)", side.name, k, side.got, e.why)
				}
			case time.Time:
				if got, _ := side.got.(time.Time); !got.Equal(want) {
					t.Errorf("%s tenant %s = %v, want %s (%s)", side.name, k, side.got, want, e.why)
				}
			case string:
				switch want {
				case "present":
					if side.got == nil {
						t.Errorf("%s tenant has no %s (%s)", side.name, k, e.why)
					}
				case "tokens":
					if toks, _ := side.got.([]any); len(toks) == 0 {
						t.Errorf("%s tenant has no %s", side.name, k)
					}
				default:
					if side.got != want {
						t.Errorf("%s tenant %s = %#v, want %#v (%s)", side.name, k, side.got, want, e.why)
					}
				}
			default:
				if side.got != want {
					t.Errorf("%s tenant %s = %#v, want %#v (%s)", side.name, k, side.got, want, e.why)
				}
			}
		}
	}
	// The fields both share, to the microsecond (the pinned clock).
	for _, k := range []string{"status", "createdAt", "statusChangedAt"} {
		if a[k] == nil || !reflect.DeepEqual(a[k], b[k]) {
			t.Errorf("%s: self-serve %v, contract %v; want equal", k, a[k], b[k])
		}
	}
	// Their staff records: who created each, and the search tokens of its inputs.
	sa, sb := mustDoc(t, "tenants/"+self.Tenant.ID+"/private/staff"), mustDoc(t, "tenants/"+sales.Tenant.ID+"/private/staff")
	refTerm, _ := tenancy.SearchTerm(ref) // "REF-abc" is searched as "ref abc"
	if !slices.Contains(tokensOf(sb), refTerm) || !slices.Contains(tokensOf(sa), "self serve org") {
		t.Errorf("search tokens: self-serve %v, contract %v", tokensOf(sa), tokensOf(sb))
	}
	if sa["createdBy"] != owner.UID || sb["createdBy"] != rep.UID {
		t.Errorf("createdBy: self-serve %v, contract %v; want %s and %s", sa["createdBy"], sb["createdBy"], owner.UID, rep.UID)
	}
}

func tokensOf(d map[string]any) []string {
	raw, _ := d["searchTokens"].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// expireEvaluation moves a tenant to trial_expired the way the lifecycle does it (a super admin's
// setTenantStatus), with its trial end in the past.
func expireEvaluation(t testing.TB, s *testServer, tenantID string) {
	t.Helper()
	setTenant(t, tenantID, map[string]any{"trialEndsAt": time.Now().Add(-time.Hour)})
	sa := staffUser(t, "super_admin")
	status, data, errs := s.gql(t, sa.IDToken, `mutation($id: ID!) { setTenantStatus(tenantId: $id, status: TRIAL_EXPIRED, reason: "evaluation ended") { status } }`,
		map[string]any{"id": tenantID})
	var d struct {
		SetTenantStatus struct{ Status string } `json:"setTenantStatus"`
	}
	mustData(t, status, data, errs, &d)
	if d.SetTenantStatus.Status != "TRIAL_EXPIRED" {
		t.Fatalf("setTenantStatus: %s", data)
	}
}

func TestConvertExpiredEvaluationTenant(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, id := ownerAndTenant(t, s)
	member := join(t, s, owner.IDToken, id, "MEMBER")
	// The application's own data, written by the SPA directly.
	project := map[string]any{"title": "Q3 roadmap", "owner": owner.UID}
	testenv.WriteDocs(t, fs(t), map[string]map[string]any{"tenants/" + id + "/projects/x": project})
	expireEvaluation(t, s, id)
	if a := tenantAs(t, s, owner.IDToken, id).Access; a.CanWrite || !a.CanRead {
		t.Fatalf("expired evaluation: access %+v, want read-only", a)
	}
	membersBefore := memberRoles(t, id)

	rep := staffUser(t, "sales")
	adminEmail := freshEmail("buyer")
	key, ref, golive := uniqueKey(), testenv.UniqueID("OPP-"), goLive(60)
	input := contractInputs(key, "Buyer Legal Name Inc.", adminEmail, "", ref, "pro", 40, golive)
	input["existingTenantId"] = id
	p := s.mustProvisionContract(t, rep.IDToken, input)
	tn := p.Tenant
	if p.Replayed || tn.ID != id || tn.Status != "TRIAL" || tn.Plan.ID != "pro" || tn.SeatCap != 40 ||
		tn.TrialEndsAt == nil || !tn.TrialEndsAt.Equal(golive) || tn.Name != "Members Org" || tn.Source != "SELF_SERVE" {
		t.Fatalf("converted tenant = %+v (trialEndsAt %v); want the same tenant, TRIAL until %s, pro, 40 seats, its own name and source", tn, tn.TrialEndsAt, golive)
	}

	// Members and data untouched; writes open again.
	if after := memberRoles(t, id); !reflect.DeepEqual(after, membersBefore) {
		t.Errorf("members changed: before %v, after %v", membersBefore, after)
	}
	if got := mustDoc(t, "tenants/"+id+"/projects/x"); !reflect.DeepEqual(got, project) {
		t.Errorf("app data = %v, want %v", got, project)
	}
	for _, u := range []testenv.User{owner, member} {
		if a := tenantAs(t, s, u.IDToken, id).Access; !a.CanWrite {
			t.Errorf("after conversion %s cannot write: %+v", u.Email, a)
		}
	}
	td := mustDoc(t, "tenants/"+id)
	if c, _ := td["contract"].(map[string]any); c["seatCap"] != int64(40) || c["reference"] != nil {
		t.Errorf("contract terms = %v, want 40 seats and no reference (it is staff-only)", td["contract"])
	}
	if sc, _ := mustDoc(t, "tenants/"+id+"/private/staff")["contract"].(map[string]any); sc["reference"] != ref {
		t.Errorf("staff record's contract = %v, want reference %s", sc, ref)
	}
	if td["pendingInvitations"] != int64(1) {
		t.Errorf("pendingInvitations = %v, want 1 (the named admin's owner invitation)", td["pendingInvitations"])
	}
	if inv := mustDoc(t, "tenants/"+id+"/invitations/"+tenancy.InvitationID(id, adminEmail)); inv["role"] != "owner" || inv["status"] != "pending" {
		t.Errorf("owner invitation = %v", inv)
	}
	// The status change went through the lifecycle: a history entry by the rep.
	hist := historyOf(t, id)
	last := hist[len(hist)-1]
	if last["from"] != "trial_expired" || last["to"] != "trial" || last["actorUid"] != rep.UID || last["reason"] != "signed contract "+ref {
		t.Errorf("last history entry = %v", last)
	}

	// Idempotent by key.
	again := s.mustProvisionContract(t, rep.IDToken, input)
	if !again.Replayed || again.Tenant.ID != id {
		t.Errorf("replay: %+v", again)
	}
	if n := len(historyOf(t, id)); n != len(hist) {
		t.Errorf("the replay wrote history: %d entries, want %d", n, len(hist))
	}

	// The named admin signs up and becomes the owner; the evaluator steps down to admin, so the
	// tenant keeps exactly one owner.
	buyer := verifiedUser(t, adminEmail)
	if r := roleIn(t, s, buyer.IDToken, id); r != "OWNER" {
		t.Fatalf("named admin's role = %q, want OWNER", r)
	}
	if r := memberRole(t, id, owner.UID); r != "admin" {
		t.Errorf("the evaluator's role = %q, want admin", r)
	}
	if n := countWhere(t, "tenants/"+id+"/members", "role", "owner"); n != 1 {
		t.Errorf("%d owners, want 1", n)
	}
	if seats, pending := counters(t, id); seats != 3 || pending != 0 {
		t.Errorf("seats %d pending %d, want 3 and 0", seats, pending)
	}
}

func memberRoles(t testing.TB, tenantID string) map[string]string {
	t.Helper()
	snaps, err := fs(t).Collection("tenants/" + tenantID + "/members").Documents(fsCtx(t)).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range snaps {
		out[s.Ref.ID], _ = s.Data()["role"].(string)
	}
	return out
}

// historyOf lists a tenant's history entries, oldest first.
func historyOf(t testing.TB, tenantID string) []map[string]any {
	t.Helper()
	snaps, err := fs(t).Collection("tenants/" + tenantID + "/history").Documents(fsCtx(t)).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(snaps))
	for i, s := range snaps {
		out[i] = s.Data()
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["at"].(time.Time).Before(out[j]["at"].(time.Time)) })
	if len(out) == 0 {
		t.Fatalf("tenant %s has no history", tenantID)
	}
	return out
}

func TestConvertEvaluationTenantCases(t *testing.T) {
	t.Parallel()
	s := shared(t)
	rep := staffUser(t, "sales")
	convert := func(tenantID, adminEmail, subdomain string) (*provisionPayload, []gqlErr) {
		in := contractInputs(uniqueKey(), "Case Co", adminEmail, subdomain, testenv.UniqueID("OPP-"), "starter", 10, goLive(30))
		in["existingTenantId"] = tenantID
		return s.provisionContract(t, rep.IDToken, in)
	}

	t.Run("the named admin is the owner already: no invitation", func(t *testing.T) {
		owner, id := ownerAndTenant(t, s)
		p, errs := convert(id, owner.Email, "")
		if p == nil {
			t.Fatal(errs)
		}
		if p.Tenant.PendingInvitations != 0 || p.Tenant.Status != "TRIAL" {
			t.Errorf("tenant = %+v, want no pending invitation", p.Tenant)
		}
		if n := countDocs(t, "tenants/"+id+"/invitations"); n != 0 {
			t.Errorf("%d invitations written", n)
		}
		if r := memberRole(t, id, owner.UID); r != "owner" {
			t.Errorf("owner's role = %q", r)
		}
	})
	t.Run("the named admin is a member but not the owner: no invitation, noted", func(t *testing.T) {
		owner, id := ownerAndTenant(t, s)
		m := join(t, s, owner.IDToken, id, "ADMIN")
		p, errs := convert(id, m.Email, "")
		if p == nil {
			t.Fatal(errs)
		}
		if n := countWhere(t, "tenants/"+id+"/invitations", "role", "owner"); n != 0 {
			t.Errorf("%d owner invitations written", n)
		}
		if r := memberRole(t, id, m.UID); r != "admin" {
			t.Errorf("member's role = %q, want admin (unchanged)", r)
		}
		audit := auditOf(t, id, "tenant.convert_contract")
		if note, _ := audit["details"].(map[string]any)["note"].(string); !strings.Contains(note, "transferOwnership") {
			t.Errorf("audit details = %v, want a note on the existing member", audit["details"])
		}
	})
	t.Run("a tenant without a subdomain gets the contract's", func(t *testing.T) {
		_, id := ownerAndTenant(t, s)
		sub := uniqueSubdomain()
		p, errs := convert(id, freshEmail("sub"), sub)
		if p == nil || p.Tenant.Subdomain == nil || *p.Tenant.Subdomain != sub {
			t.Fatalf("payload %+v errors %+v", p, errs)
		}
		if sd := mustDoc(t, "subdomains/"+sub); sd["tenantId"] != id {
			t.Errorf("claim = %v", sd)
		}
	})
	t.Run("a different subdomain than the tenant's is refused", func(t *testing.T) {
		owner := newUser(t)
		tp := s.mustProvision(t, owner.IDToken, provisionInput(uniqueKey(), "Has Sub", uniqueSubdomain(), ""))
		_, errs := convert(tp.Tenant.ID, freshEmail("x"), uniqueSubdomain())
		wantCode(t, errs, "BAD_USER_INPUT", "subdomain")
	})
	t.Run("an active tenant is not an evaluation", func(t *testing.T) {
		_, id := ownerAndTenant(t, s)
		setTenant(t, id, map[string]any{"status": "active"})
		_, errs := convert(id, freshEmail("act"), "")
		wantCode(t, errs, "INVALID_TRANSITION", "")
	})
	t.Run("a seat cap below the members is refused", func(t *testing.T) {
		owner, id := ownerAndTenant(t, s)
		join(t, s, owner.IDToken, id, "MEMBER")
		in := contractInputs(uniqueKey(), "Small Co", freshEmail("small"), "", "OPP-SMALL", "starter", 2, goLive(30))
		in["existingTenantId"] = id
		_, errs := s.provisionContract(t, rep.IDToken, in)
		e := wantCode(t, errs, "BAD_USER_INPUT", "seatCap")
		if !strings.Contains(e.Message, "at least 3") {
			t.Errorf("message %q should give the minimum", e.Message)
		}
	})
	t.Run("support cannot convert", func(t *testing.T) {
		_, id := ownerAndTenant(t, s)
		in := contractInputs(uniqueKey(), "Case Co", freshEmail("sup"), "", "OPP-SUP", "starter", 10, goLive(30))
		in["existingTenantId"] = id
		_, errs := s.provisionContract(t, staffUser(t, "support").IDToken, in)
		wantCode(t, errs, "FORBIDDEN", "")
	})
}

// auditOf returns the tenant's newest audit entry with action.
func auditOf(t testing.TB, tenantID, action string) map[string]any {
	t.Helper()
	snaps, err := fs(t).Collection("tenants/"+tenantID+"/audit").Where("action", "==", action).Documents(fsCtx(t)).GetAll()
	if err != nil || len(snaps) == 0 {
		t.Fatalf("no %s audit entry in %s (%v)", action, tenantID, err)
	}
	return snaps[len(snaps)-1].Data()
}

// jsonString is a compact rendering for failure messages.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
