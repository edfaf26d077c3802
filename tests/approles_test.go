package tests

// App roles on members (issue 12, item 3): granted by invitation on every acceptance path, set
// with setMemberAppRoles by owners and admins only, audited, refused when the application does
// not declare them, and stored where the generated rules read them
// (tenants/{t}/members/{uid}.appRoles).

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
)

// clinicApp is examples/clinic's declaration: app roles receptionist and practitioner.
const clinicApp = "../examples/clinic/tenantry.app.yaml"

const setAppRolesMutation = `mutation($t: ID!, $u: ID!, $r: [String!]!) {
	setMemberAppRoles(tenantId: $t, userId: $u, appRoles: $r) { user { id } role appRoles }
}`

// clinicTenant provisions a tenant with room for a few members on s.
func clinicTenant(t *testing.T, s *testServer) (ownerToken, ownerUID, tenantID string) {
	t.Helper()
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 20, "planId": "pro"})
	return owner.IDToken, owner.UID, tenantID
}

// inviteWithAppRoles calls inviteMember with app roles and returns the invitation's id and app
// roles (nil on errors) and the errors.
func (s *testServer) inviteWithAppRoles(t testing.TB, token, tenantID, email, role string, appRoles []string) (string, []string, []gqlErr) {
	t.Helper()
	_, data, errs := s.gql(t, token, `mutation($in: InviteMemberInput!) { inviteMember(input: $in) { id appRoles } }`,
		map[string]any{"in": map[string]any{"tenantId": tenantID, "email": email, "role": role, "appRoles": appRoles}})
	if len(errs) > 0 {
		return "", nil, errs
	}
	var d struct {
		InviteMember struct {
			ID       string   `json:"id"`
			AppRoles []string `json:"appRoles"`
		} `json:"inviteMember"`
	}
	mustData(t, 200, data, errs, &d)
	return d.InviteMember.ID, d.InviteMember.AppRoles, nil
}

// setAppRoles calls setMemberAppRoles and returns the member's app roles (nil on errors).
func (s *testServer) setAppRoles(t testing.TB, token, tenantID, uid string, roles []string) ([]string, []gqlErr) {
	t.Helper()
	_, data, errs := s.gql(t, token, setAppRolesMutation, map[string]any{"t": tenantID, "u": uid, "r": roles})
	if len(errs) > 0 {
		return nil, errs
	}
	var d struct {
		SetMemberAppRoles struct {
			AppRoles []string `json:"appRoles"`
		} `json:"setMemberAppRoles"`
	}
	mustData(t, 200, data, errs, &d)
	return d.SetMemberAppRoles.AppRoles, nil
}

// storedAppRoles is tenants/{t}/members/{uid}.appRoles as the rules read it: absent is none.
func storedAppRoles(t testing.TB, tenantID, uid string) []string {
	t.Helper()
	raw, _ := mustDoc(t, "tenants/"+tenantID+"/members/"+uid)["appRoles"].([]any)
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		s, ok := r.(string)
		if !ok {
			t.Fatalf("members/%s.appRoles holds %T, want strings", uid, r)
		}
		out = append(out, s)
	}
	return out
}

// memberAppRoles is Tenant.members' appRoles of each member, by uid, as token sees them.
func (s *testServer) memberAppRoles(t testing.TB, token, tenantID string) map[string][]string {
	t.Helper()
	st, data, errs := s.gql(t, token, `query($id: ID!) { tenant(id: $id) { members { user { id } appRoles } } }`, map[string]any{"id": tenantID})
	var d struct {
		Tenant struct {
			Members []struct {
				User     struct{ ID string }
				AppRoles []string `json:"appRoles"`
			} `json:"members"`
		} `json:"tenant"`
	}
	mustData(t, st, data, errs, &d)
	out := map[string][]string{}
	for _, m := range d.Tenant.Members {
		if m.AppRoles == nil {
			t.Fatalf("Member.appRoles of %s is null: %s", m.User.ID, data)
		}
		out[m.User.ID] = m.AppRoles
	}
	return out
}

// auditEntries is the tenant's audit log with action, newest first.
func (s *testServer) auditEntries(t testing.TB, token, tenantID, action string) []gqlAuditEntry {
	t.Helper()
	var out []gqlAuditEntry
	for _, e := range s.auditLog(t, token, tenantID) {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func wantRoles(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got == nil || !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// An invitation's app roles reach the membership through acceptInvitation and through the
// signup logic's acceptance, and show in Member.appRoles, the membership document and the audit
// log.
func TestAppRolesGrantedOnAcceptance(t *testing.T) {
	t.Parallel()
	s := clinicServer(t, nil, app.Options{})
	ownerToken, ownerUID, tenantID := clinicTenant(t, s)

	t.Run("acceptInvitation", func(t *testing.T) {
		u := verifiedUser(t, "")
		roleIn(t, s, u.IDToken, tenantID) // signed up before the invitation: the link accepts it
		id, roles, errs := s.inviteWithAppRoles(t, ownerToken, tenantID, u.Email, "MEMBER", []string{"receptionist", "receptionist"})
		if errs != nil {
			t.Fatalf("inviteMember: %+v", errs)
		}
		wantRoles(t, "Invitation.appRoles", roles, "receptionist")
		if got, errs := s.accept(t, u.IDToken, invitationToken(t, id)); got != "MEMBER" {
			t.Fatalf("acceptInvitation: role %q, errors %+v", got, errs)
		}
		wantRoles(t, "stored appRoles", storedAppRoles(t, tenantID, u.UID), "receptionist")
		byUID := s.memberAppRoles(t, ownerToken, tenantID)
		wantRoles(t, "Member.appRoles of the new member", byUID[u.UID], "receptionist")
		wantRoles(t, "Member.appRoles of the owner", byUID[ownerUID])

		joined := s.auditEntries(t, ownerToken, tenantID, "member.joined")
		if len(joined) == 0 || joined[0].ActorUserID == nil || *joined[0].ActorUserID != u.UID {
			t.Fatalf("member.joined entries %s, want the newest by %s (acceptInvitation)", jsonString(joined), u.UID)
		}
		if _, after, _ := joined[0].change("members." + u.UID + ".appRoles"); after != `["receptionist"]` {
			t.Errorf("member.joined changes %s, want members.%s.appRoles → [\"receptionist\"]", jsonString(joined[0].Changes), u.UID)
		}
		invited := s.auditEntries(t, ownerToken, tenantID, "member.invited")
		if _, after, _ := invited[0].change("invitations." + u.Email + ".appRoles"); after != `["receptionist"]` {
			t.Errorf("member.invited changes %s, want the invitation's appRoles", jsonString(invited[0].Changes))
		}
	})
	t.Run("the signup logic", func(t *testing.T) {
		email := freshEmail("apr-signup")
		if _, _, errs := s.inviteWithAppRoles(t, ownerToken, tenantID, email, "VIEWER", []string{"practitioner"}); errs != nil {
			t.Fatalf("inviteMember: %+v", errs)
		}
		u := verifiedUser(t, email)
		if r := roleIn(t, s, u.IDToken, tenantID); r != "VIEWER" {
			t.Fatalf("first request: role %q, want VIEWER", r)
		}
		wantRoles(t, "stored appRoles", storedAppRoles(t, tenantID, u.UID), "practitioner")
	})
	t.Run("inviteMembers grants the same app roles to every address", func(t *testing.T) {
		emails := []string{freshEmail("apr-b1"), freshEmail("apr-b2")}
		st, data, errs := s.gql(t, ownerToken, `mutation($in: InviteMembersInput!) { inviteMembers(input: $in) { email appRoles } }`,
			map[string]any{"in": map[string]any{"tenantId": tenantID, "emails": emails, "role": "MEMBER", "appRoles": []string{"receptionist", "practitioner"}}})
		var d struct {
			InviteMembers []struct {
				Email    string   `json:"email"`
				AppRoles []string `json:"appRoles"`
			} `json:"inviteMembers"`
		}
		mustData(t, st, data, errs, &d)
		if len(d.InviteMembers) != 2 {
			t.Fatalf("answer %s", data)
		}
		for _, inv := range d.InviteMembers {
			wantRoles(t, "appRoles of "+inv.Email, inv.AppRoles, "practitioner", "receptionist")
		}
	})
}

// Who may grant app roles, and which: owners and admins, declared roles only.
func TestSetMemberAppRoles(t *testing.T) {
	t.Parallel()
	s := clinicServer(t, nil, app.Options{})
	ownerToken, ownerUID, tenantID := clinicTenant(t, s)
	admin := join(t, s, ownerToken, tenantID, "ADMIN")
	manager := join(t, s, ownerToken, tenantID, "MANAGER")
	member := join(t, s, ownerToken, tenantID, "MEMBER")
	viewer := join(t, s, ownerToken, tenantID, "VIEWER")
	outsider := verifiedUser(t, "")

	t.Run("the owner grants, duplicates collapse", func(t *testing.T) {
		got, errs := s.setAppRoles(t, ownerToken, tenantID, member.UID, []string{"receptionist", "practitioner", "receptionist"})
		if errs != nil {
			t.Fatalf("setMemberAppRoles: %+v", errs)
		}
		wantRoles(t, "answer", got, "practitioner", "receptionist")
		wantRoles(t, "stored appRoles", storedAppRoles(t, tenantID, member.UID), "practitioner", "receptionist")
		wantRoles(t, "Member.appRoles", s.memberAppRoles(t, ownerToken, tenantID)[member.UID], "practitioner", "receptionist")
	})
	t.Run("an admin replaces them, an empty list removes them", func(t *testing.T) {
		got, errs := s.setAppRoles(t, admin.IDToken, tenantID, member.UID, []string{"receptionist"})
		if errs != nil {
			t.Fatalf("setMemberAppRoles: %+v", errs)
		}
		wantRoles(t, "answer", got, "receptionist")
		if _, errs = s.setAppRoles(t, admin.IDToken, tenantID, viewer.UID, []string{"practitioner"}); errs != nil {
			t.Fatalf("setMemberAppRoles: %+v", errs)
		}
		wantRoles(t, "stored appRoles", storedAppRoles(t, tenantID, viewer.UID), "practitioner")
		if got, errs = s.setAppRoles(t, admin.IDToken, tenantID, viewer.UID, []string{}); errs != nil {
			t.Fatalf("setMemberAppRoles: %+v", errs)
		}
		wantRoles(t, "answer", got)
		wantRoles(t, "stored appRoles", storedAppRoles(t, tenantID, viewer.UID))
	})
	t.Run("each change is audited with before and after", func(t *testing.T) {
		log := s.auditEntries(t, ownerToken, tenantID, "member.app_roles_changed")
		field := "members." + member.UID + ".appRoles"
		var seen []string
		for _, e := range log {
			if b, a, ok := e.change(field); ok && e.ActorUserID != nil && e.RequestID != nil {
				seen = append(seen, *e.ActorUserID+": "+b+" → "+a)
			}
		}
		want := []string{
			admin.UID + `: ["practitioner","receptionist"] → ["receptionist"]`,
			ownerUID + `: [] → ["practitioner","receptionist"]`,
		}
		if !slices.Equal(seen, want) {
			t.Errorf("audited changes of %s: %q, want %q", field, seen, want)
		}
	})
	for _, c := range []struct {
		name, token, target, code string
	}{
		{"a manager cannot", manager.IDToken, member.UID, "FORBIDDEN"},
		{"a member cannot", member.IDToken, member.UID, "FORBIDDEN"},
		{"a viewer cannot", viewer.IDToken, member.UID, "FORBIDDEN"},
		{"an admin cannot change the owner's", admin.IDToken, ownerUID, "FORBIDDEN"},
		{"a non-member cannot see the tenant", outsider.IDToken, member.UID, "NOT_FOUND"},
		{"an unknown member", ownerToken, "nobody-here", "NOT_FOUND"},
		{"anonymous", "", member.UID, "UNAUTHENTICATED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := s.setAppRoles(t, c.token, tenantID, c.target, []string{"practitioner"})
			wantCode(t, errs, c.code, "")
		})
	}
	t.Run("an undeclared role is BAD_USER_INPUT on appRoles", func(t *testing.T) {
		_, errs := s.setAppRoles(t, ownerToken, tenantID, member.UID, []string{"receptionist", "nurse"})
		e := wantCode(t, errs, "BAD_USER_INPUT", "appRoles")
		if !strings.Contains(e.Message, `"nurse"`) || !strings.Contains(e.Message, "receptionist, practitioner") {
			t.Errorf("message %q should name the role and the declared ones", e.Message)
		}
		wantRoles(t, "stored appRoles", storedAppRoles(t, tenantID, member.UID), "receptionist")
	})
}

// Inviting with app roles: declared ones only, and only by those who manage members.
func TestInviteWithAppRolesPolicy(t *testing.T) {
	t.Parallel()
	s := clinicServer(t, nil, app.Options{})
	ownerToken, _, tenantID := clinicTenant(t, s)
	manager := join(t, s, ownerToken, tenantID, "MANAGER")

	_, _, errs := s.inviteWithAppRoles(t, ownerToken, tenantID, freshEmail("apr-u"), "MEMBER", []string{"nurse"})
	e := wantCode(t, errs, "BAD_USER_INPUT", "appRoles")
	if !strings.Contains(e.Message, `"nurse"`) || !strings.Contains(e.Message, "receptionist, practitioner") {
		t.Errorf("message %q should name the role and the declared ones", e.Message)
	}
	_, _, errs = s.gql(t, ownerToken, `mutation($in: InviteMembersInput!) { inviteMembers(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": tenantID, "emails": []string{freshEmail("apr-b")}, "role": "MEMBER", "appRoles": []string{"nurse"}}})
	wantCode(t, errs, "BAD_USER_INPUT", "appRoles")
	_, _, errs = s.inviteWithAppRoles(t, manager.IDToken, tenantID, freshEmail("apr-m"), "MEMBER", []string{"receptionist"})
	wantCode(t, errs, "FORBIDDEN", "")
	if _, pending := counters(t, tenantID); pending != 0 {
		t.Errorf("pendingInvitations %d, want 0: nothing refused may be written", pending)
	}
	// Nor may a manager resend or revoke an invitation that grants app roles.
	id, _, errs := s.inviteWithAppRoles(t, ownerToken, tenantID, freshEmail("apr-o"), "MEMBER", []string{"receptionist"})
	if errs != nil {
		t.Fatalf("owner's invitation: %+v", errs)
	}
	_, errs = s.resend(t, manager.IDToken, id)
	wantCode(t, errs, "FORBIDDEN", "")
	wantCode(t, s.revoke(t, manager.IDToken, id), "FORBIDDEN", "")
	// Without app roles a manager still invites.
	if _, roles, errs := s.inviteWithAppRoles(t, manager.IDToken, tenantID, freshEmail("apr-m2"), "MEMBER", nil); errs != nil || roles == nil || len(roles) != 0 {
		t.Errorf("manager's invitation without app roles: appRoles %q, errors %+v", roles, errs)
	}
}

// The status table applies to setMemberAppRoles like to every member change.
func TestSetMemberAppRolesInClosedTenants(t *testing.T) {
	t.Parallel()
	s := clinicServer(t, nil, app.Options{})
	inClosedTenants(t, func(t *testing.T, status, code string) {
		ownerToken, _, tenantID := clinicTenant(t, s)
		member := join(t, s, ownerToken, tenantID, "MEMBER")
		setTenant(t, tenantID, map[string]any{"status": status})
		_, errs := s.setAppRoles(t, ownerToken, tenantID, member.UID, []string{"receptionist"})
		wantCode(t, errs, code, "")
		wantRoles(t, "stored appRoles", storedAppRoles(t, tenantID, member.UID))
	})
}

// Without a declaration there are no app roles to grant.
func TestAppRolesWithoutDeclaration(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *config.Config) { c.AppFile = "" }, app.Options{})
	if s.App.Declaration != nil {
		t.Fatalf("the server loaded a declaration (%s); run the tests without tenantry.app.yaml in tests/", s.App.Declaration.File)
	}
	ownerToken, ownerUID, tenantID := clinicTenant(t, s)
	member := join(t, s, ownerToken, tenantID, "MEMBER")

	_, _, errs := s.inviteWithAppRoles(t, ownerToken, tenantID, freshEmail("apr-none"), "MEMBER", []string{"receptionist"})
	e := wantCode(t, errs, "BAD_USER_INPUT", "appRoles")
	if !strings.Contains(e.Message, "declares no app roles") || !strings.Contains(e.Message, "TENANTRY_APP") {
		t.Errorf("message %q should say the application declares none, and where to declare them", e.Message)
	}
	_, errs = s.setAppRoles(t, ownerToken, tenantID, member.UID, []string{"receptionist"})
	wantCode(t, errs, "BAD_USER_INPUT", "appRoles")
	got, errs := s.setAppRoles(t, ownerToken, tenantID, member.UID, []string{})
	if errs != nil {
		t.Fatalf("an empty list is always allowed: %+v", errs)
	}
	wantRoles(t, "answer", got)
	byUID := s.memberAppRoles(t, ownerToken, tenantID)
	wantRoles(t, "Member.appRoles of the owner", byUID[ownerUID])
	raw, _ := json.Marshal(mustDoc(t, "tenants/"+tenantID+"/members/"+ownerUID))
	if strings.Contains(string(raw), "appRoles") {
		t.Errorf("the owner's membership %s holds appRoles; a membership without app roles keeps its shape", raw)
	}
}
