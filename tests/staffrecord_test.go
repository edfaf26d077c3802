package tests

// What members read on the tenant document (issue 10, item 9). Every member, viewers included,
// may get tenants/{id} through the rules, so it holds nothing staff-only: who provisioned the
// tenant (a sales rep's uid and email), the CRM's contract reference and the staff search's tokens
// live in tenants/{id}/private/staff, which no client rule reaches, and the API serves them to
// staff only.

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/testenv"
)

// memberVisibleTenantFields are the tenant document's fields every member may read. A field added
// to the tenant document is readable by viewers: add it here only if that is meant.
var memberVisibleTenantFields = []string{
	"name", "subdomain", "status", "planId", "seatCap", "seatsUsed", "pendingInvitations", "trialEndsAt",
	"source", "createdAt", "statusChangedAt", "statusCause", "billingStatus", "contract", "pendingExpiryFloor", "invitationExpiryDays",
	"membersChangedAt",
}

// contractTerms are the contract's fields on the tenant document: what the customer agreed to.
var contractTerms = []string{"planId", "seatCap", "goLiveDate", "signedAt", "adminContact"}

func TestMembersReadNoStaffDataOnTheTenant(t *testing.T) {
	t.Parallel()
	s := shared(t)
	rep := staffUser(t, "sales")
	support := staffUser(t, "support")

	// A tenant sales provisioned, and an evaluation sales converted; a viewer in each.
	adminEmail, ref := freshEmail("priv"), testenv.UniqueID("OPP-")
	sold := s.mustProvisionContract(t, rep.IDToken, contractInputs(uniqueKey(), "Private Co", adminEmail, "", ref, "pro", 20, goLive(30))).Tenant.ID
	admin := verifiedUser(t, adminEmail)
	if r := roleIn(t, s, admin.IDToken, sold); r != "OWNER" {
		t.Fatalf("named admin's role %q, want OWNER", r)
	}
	owner, converted := ownerAndTenant(t, s)
	convRef := testenv.UniqueID("OPP-")
	in := contractInputs(uniqueKey(), "Members Org", freshEmail("conv"), "", convRef, "pro", 20, goLive(30))
	in["existingTenantId"] = converted
	s.mustProvisionContract(t, rep.IDToken, in)

	for _, c := range []struct {
		name, id, ref, ownerToken string
	}{{"sold", sold, ref, admin.IDToken}, {"converted", converted, convRef, owner.IDToken}} {
		t.Run(c.name, func(t *testing.T) {
			viewer := join(t, s, c.ownerToken, c.id, "VIEWER")
			status, body := emulators(t).FirestoreREST(t, http.MethodGet, "tenants/"+c.id, viewer.IDToken, nil)
			if status != http.StatusOK {
				t.Fatalf("the viewer's GET tenants/%s: HTTP %d %s", c.id, status, body)
			}
			var d struct {
				Fields map[string]json.RawMessage `json:"fields"`
			}
			if err := json.Unmarshal(body, &d); err != nil {
				t.Fatal(err)
			}
			for f := range d.Fields {
				if !slices.Contains(memberVisibleTenantFields, f) {
					t.Errorf("viewers read tenants/%s.%s, which is not meant for members", c.id, f)
				}
			}
			var contract struct {
				MapValue struct {
					Fields map[string]json.RawMessage `json:"fields"`
				} `json:"mapValue"`
			}
			_ = json.Unmarshal(d.Fields["contract"], &contract)
			for f := range contract.MapValue.Fields {
				if !slices.Contains(contractTerms, f) {
					t.Errorf("viewers read tenants/%s.contract.%s, which is not a term of the contract", c.id, f)
				}
			}
			for _, secret := range []string{rep.UID, strings.ToLower(rep.Email), c.ref, strings.ToLower(c.ref)} {
				if strings.Contains(string(body), secret) {
					t.Errorf("viewers read %q (the sales rep or the CRM reference) on tenants/%s", secret, c.id)
				}
			}
			// The staff record itself is closed to every client, the owner included.
			for who, token := range map[string]string{"viewer": viewer.IDToken, "owner": c.ownerToken} {
				if status, _ := emulators(t).FirestoreREST(t, http.MethodGet, "tenants/"+c.id+"/private/staff", token, nil); status != http.StatusForbidden {
					t.Errorf("the %s's GET tenants/%s/private/staff: HTTP %d, want 403", who, c.id, status)
				}
			}

			// Staff still find the tenant by its reference, and see who entered the contract.
			if ids := s.allIDs(t, support.IDToken, map[string]any{"search": c.ref}, 10); !slices.Equal(ids, []string{c.id}) {
				t.Errorf("staff search %q = %v, want %s", c.ref, ids, c.id)
			}
			st, errs := s.staffTenant(t, support.IDToken, c.id)
			if len(errs) > 0 || st.Contract == nil || st.Contract.Reference != c.ref ||
				st.Contract.ProvisionedBy.UserID != rep.UID || st.Contract.ProvisionedBy.Email != strings.ToLower(rep.Email) {
				t.Errorf("staff's contract of %s: %+v %+v; want reference %s entered by %s", c.id, st.Contract, errs, c.ref, rep.UID)
			}
		})
	}
}

// The staff search filters by status on the staff records' copy of it, which every status change
// writes with the tenant.
func TestStaffSearchFollowsStatusChanges(t *testing.T) {
	t.Parallel()
	s := shared(t)
	word := testenv.UniqueID("zs")
	id := s.mustProvision(t, newUser(t).IDToken, provisionInput(uniqueKey(), word+" Status Org", "", "")).Tenant.ID
	support := staffUser(t, "super_admin") // TRIAL_EXPIRED is a super admin's to set
	status, data, errs := s.gql(t, support.IDToken, `mutation($id: ID!) { setTenantStatus(tenantId: $id, status: TRIAL_EXPIRED, reason: "evaluation paused") { status } }`,
		map[string]any{"id": id})
	if status != http.StatusOK || len(errs) > 0 {
		t.Fatalf("setTenantStatus: HTTP %d %s %+v", status, data, errs)
	}
	if ids := s.allIDs(t, support.IDToken, map[string]any{"search": word, "status": "TRIAL_EXPIRED"}, 10); !slices.Equal(ids, []string{id}) {
		t.Errorf("search %q in TRIAL_EXPIRED = %v, want %s", word, ids, id)
	}
	if ids := s.allIDs(t, support.IDToken, map[string]any{"search": word, "status": "TRIAL"}, 10); len(ids) != 0 {
		t.Errorf("search %q in TRIAL = %v, want none", word, ids)
	}
}
