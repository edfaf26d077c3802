package functions_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// The user.create background function, through the functions framework as Cloud Functions
// delivers it (a legacy background event: {"data": <user record>, "context": {...}}), delivered
// twice: the second delivery changes nothing.
func TestOnUserCreateAcceptsInvitationsOnce(t *testing.T) {
	a, owner, tenantID := appWithTenant(t, "Trigger Org")
	ctx := context.Background()
	email := testenv.UniqueID("inv-") + "@example.test"
	inv, err := a.Members.Invite(owner, tenantID, members.InviteRequest{Email: email, Role: rules.RoleManager})
	if err != nil {
		t.Fatal(err)
	}

	url := serveFunctions(t) + "/OnUserCreate"

	uid := testenv.UniqueID("uid")
	// The record as Firebase Auth sends it (camelCase, the email as the user typed it).
	body := authEvent("user.create", map[string]any{
		"uid": uid, "email": "  " + bytesUpper(email), "emailVerified": true, "displayName": "Ada",
		"metadata":     map[string]any{"createdAt": time.Now().UTC().Format(time.RFC3339)},
		"providerData": []any{map[string]any{"providerId": "google.com", "email": email, "uid": "g-1"}},
	})
	check := func() {
		t.Helper()
		fs := a.Firestore()
		m, err := fs.Doc("tenants/" + tenantID + "/members/" + uid).Get(ctx)
		if err != nil {
			t.Fatalf("membership of %s: %v", uid, err)
		}
		if m.Data()["role"] != "manager" {
			t.Errorf("role %v, want manager", m.Data()["role"])
		}
		tn, err := fs.Doc("tenants/" + tenantID).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := tn.Data(); d["seatsUsed"] != int64(2) || d["pendingInvitations"] != int64(0) {
			t.Errorf("seatsUsed %v pendingInvitations %v, want 2 and 0", d["seatsUsed"], d["pendingInvitations"])
		}
		iv, err := fs.Doc("tenants/" + tenantID + "/invitations/" + inv.Invitation.ID).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if iv.Data()["status"] != "accepted" || iv.Data()["acceptedBy"] != uid {
			t.Errorf("invitation %v", iv.Data())
		}
	}
	deliver(t, url, body)
	check()
	deliver(t, url, body) // at-least-once: the same event again
	check()
}

func bytesUpper(s string) string { return string(bytes.ToUpper([]byte(s))) }
