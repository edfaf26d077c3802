package tests

// Member changes in the tenant's audit log (Tenant.auditLog): each written in the change's own
// transaction, with its actor, request id and before/after, and never an invitation token.

import (
	"encoding/json"
	"strings"
	"testing"
)

// auditLog is Tenant.auditLog as token reads it, newest first (at most 100 entries).
func (s *testServer) auditLog(t testing.TB, token, tenantID string) []gqlAuditEntry {
	t.Helper()
	st, data, errs := s.gql(t, token, `query($id: ID!) { tenant(id: $id) {
		auditLog(first: 100) { id action at reason actorUserId actorPlatformRole actorSystem requestId changes { field before after } }
	} }`, map[string]any{"id": tenantID})
	var d struct {
		Tenant struct {
			AuditLog []gqlAuditEntry `json:"auditLog"`
		} `json:"tenant"`
	}
	mustData(t, st, data, errs, &d)
	return d.Tenant.AuditLog
}

func TestMemberChangesAreAudited(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 20, "planId": "pro"})
	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	viewer := join(t, s, owner.IDToken, tenantID, "VIEWER")

	mutate := func(token, q string, vars map[string]any) {
		t.Helper()
		st, data, errs := s.gql(t, token, q, vars)
		var d map[string]any
		mustData(t, st, data, errs, &d)
	}
	pendingEmail := freshEmail("aud-pending")
	inv := s.mustInvite(t, owner.IDToken, tenantID, pendingEmail, "VIEWER")
	mutate(owner.IDToken, `mutation($id: ID!) { resendInvitation(id: $id) { id } }`, map[string]any{"id": inv.ID})
	mutate(owner.IDToken, `mutation($id: ID!) { revokeInvitation(id: $id) { id } }`, map[string]any{"id": inv.ID})
	mutate(owner.IDToken, `mutation($t: ID!, $u: ID!) { changeMemberRole(tenantId: $t, userId: $u, role: MANAGER) { role } }`,
		map[string]any{"t": tenantID, "u": member.UID})
	mutate(owner.IDToken, `mutation($t: ID!) { setInvitationExpiryDays(tenantId: $t, days: 3) { id } }`, map[string]any{"t": tenantID})
	mutate(owner.IDToken, `mutation($t: ID!, $u: ID!) { transferOwnership(tenantId: $t, userId: $u) { id } }`,
		map[string]any{"t": tenantID, "u": member.UID})
	removeQ := `mutation($t: ID!, $u: ID!) { removeMember(tenantId: $t, userId: $u) }`
	mutate(viewer.IDToken, removeQ, map[string]any{"t": tenantID, "u": viewer.UID}) // leaves
	mutate(member.IDToken, removeQ, map[string]any{"t": tenantID, "u": owner.UID})  // the new owner removes the old one

	// The tenant's owner (now member) reads the log, newest first.
	log := s.auditLog(t, member.IDToken, tenantID)

	m := func(uid, f string) string { return "members." + uid + "." + f }
	i := func(email, f string) string { return "invitations." + email + "." + f }
	type change struct{ field, before, after string }
	want := []struct {
		action string
		actor  string // uid; "signup" accepts the signup logic (system) as the actor too
		change []change
	}{
		{"member.removed", member.UID, []change{{m(owner.UID, "role"), "admin", ""}, {m(owner.UID, "email"), owner.Email, ""}}},
		{"member.left", viewer.UID, []change{{m(viewer.UID, "role"), "viewer", ""}}},
		{"member.ownership_transferred", owner.UID, []change{
			{"owner", owner.UID, member.UID}, {m(owner.UID, "role"), "owner", "admin"}, {m(member.UID, "role"), "manager", "owner"},
		}},
		{"tenant.invitation_expiry_changed", owner.UID, []change{{"invitationExpiryDays", "*", "3"}}},
		{"member.role_changed", owner.UID, []change{{m(member.UID, "role"), "member", "manager"}}},
		{"member.invitation_revoked", owner.UID, []change{{i(pendingEmail, "status"), "pending", "revoked"}}},
		{"member.invitation_resent", owner.UID, []change{{i(pendingEmail, "resends"), "0", "1"}, {i(pendingEmail, "expiresAt"), "*", "*"}}},
		{"member.invited", owner.UID, []change{{i(pendingEmail, "role"), "", "viewer"}, {i(pendingEmail, "status"), "", "pending"}}},
		{"member.joined", viewer.UID + "|signup", []change{{m(viewer.UID, "role"), "", "viewer"}, {i(viewer.Email, "status"), "pending", "accepted"}}},
		{"member.invited", owner.UID, []change{{i(viewer.Email, "role"), "", "viewer"}}},
		{"member.joined", member.UID + "|signup", []change{{m(member.UID, "role"), "", "member"}, {m(member.UID, "email"), "", member.Email}}},
		{"member.invited", owner.UID, []change{{i(member.Email, "role"), "", "member"}}},
	}
	if len(log) != len(want) {
		t.Fatalf("audit log has %d entries, want %d: %s", len(log), len(want), jsonString(log))
	}
	for n, w := range want {
		e := log[n]
		actor := ""
		switch {
		case e.ActorUserID != nil:
			actor = *e.ActorUserID
		case e.ActorSystem != nil:
			actor = *e.ActorSystem
		}
		if e.Action != w.action || !strings.Contains("|"+w.actor+"|", "|"+actor+"|") || actor == "" {
			t.Errorf("entry %d = %s by %q, want %s by %s", n, e.Action, actor, w.action, w.actor)
		}
		if e.ActorSystem == nil && (e.RequestID == nil || *e.RequestID == "") {
			t.Errorf("entry %d (%s) has no request id", n, e.Action)
		}
		for _, c := range w.change {
			b, a, ok := e.change(c.field)
			if !ok || (c.before != "*" && b != c.before) || (c.after != "*" && a != c.after) || (c.before == "*" && b == "") {
				t.Errorf("entry %d (%s): change of %s = %q → %q (found %v), want %q → %q; changes %s", n, e.Action, c.field, b, a, ok, c.before, c.after, jsonString(e.Changes))
			}
		}
	}

	// No token, token hash or token field anywhere in the audit documents.
	snaps, err := fs(t).Collection("tenants/" + tenantID + "/audit").Documents(fsCtx(t)).GetAll()
	if err != nil || len(snaps) != len(want) {
		t.Fatalf("audit documents: %d (%v), want %d", len(snaps), err, len(want))
	}
	var secrets []string
	hashes, err := fs(t).Collection("invitationTokens").Where("tenantId", "==", tenantID).Documents(fsCtx(t)).GetAll()
	if err != nil || len(hashes) < 4 { // three invitations, one of them resent
		t.Fatalf("token index of %s: %d (%v)", tenantID, len(hashes), err)
	}
	for _, h := range hashes {
		secrets = append(secrets, h.Ref.ID)
	}
	emails, err := fs(t).Collection("outbox").Where("payload.tenantId", "==", tenantID).Documents(fsCtx(t)).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range emails {
		if tok, err := e.DataAt("payload.secret.token"); err == nil {
			if tok, _ := tok.(string); tok != "" {
				secrets = append(secrets, tok)
			}
		}
	}
	for _, snap := range snaps {
		raw, err := json.Marshal(snap.Data())
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if strings.Contains(strings.ToLower(text), "token") {
			t.Errorf("audit document %s mentions a token: %s", snap.Ref.ID, text)
		}
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("audit document %s holds a token or token hash: %s", snap.Ref.ID, text)
			}
		}
	}
}
