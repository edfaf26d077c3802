package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/tenantry/tenantry/functions"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// The user.create background function, through the functions framework as Cloud Functions
// delivers it (a legacy background event: {"data": <user record>, "context": {...}}), delivered
// twice: the second delivery changes nothing.
func TestOnUserCreateAcceptsInvitationsOnce(t *testing.T) {
	testenv.Require(t)
	ctx := context.Background()
	a, err := functions.App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner := auth.WithPrincipal(ctx, auth.Principal{UID: testenv.UniqueID("owner-"), Email: testenv.UniqueID("o-") + "@example.test", EmailVerified: true})
	p, err := a.Tenancy.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: testenv.UniqueID("key-"), OrganizationName: "Trigger Org"})
	if err != nil {
		t.Fatal(err)
	}
	tenantID := p.Tenant.ID
	email := testenv.UniqueID("inv-") + "@example.test"
	inv, err := a.Members.Invite(owner, tenantID, members.InviteRequest{Email: email, Role: rules.RoleManager})
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	go func() { _ = funcframework.StartHostPort("127.0.0.1", port) }()

	uid := testenv.UniqueID("uid")
	// The record as Firebase Auth sends it (camelCase, the email as the user typed it).
	event := map[string]any{
		"data": map[string]any{
			"uid": uid, "email": "  " + bytesUpper(email), "emailVerified": true, "displayName": "Ada",
			"metadata":     map[string]any{"createdAt": time.Now().UTC().Format(time.RFC3339)},
			"providerData": []any{map[string]any{"providerId": "google.com", "email": email, "uid": "g-1"}},
		},
		"context": map[string]any{
			"eventId": testenv.UniqueID("ev"), "timestamp": time.Now().UTC().Format(time.RFC3339),
			"eventType": "providers/firebase.auth/eventTypes/user.create",
			"resource":  map[string]any{"service": "firebaseauth.googleapis.com", "name": "projects/demo-tenantry"},
		},
	}
	body, _ := json.Marshal(event)
	deliver := func() {
		t.Helper()
		var resp *http.Response
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			resp, err = http.Post("http://127.0.0.1:"+port+"/OnUserCreate", "application/json", bytes.NewReader(body))
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /OnUserCreate: HTTP %d", resp.StatusCode)
		}
	}
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
	deliver()
	check()
	deliver() // at-least-once: the same event again
	check()
}

func bytesUpper(s string) string { return string(bytes.ToUpper([]byte(s))) }
