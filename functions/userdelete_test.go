package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/tenantry/tenantry/functions"
	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// serveFunctions starts the functions framework, which serves every registered function at
// /<name>, and returns its base URL.
func serveFunctions(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	go func() { _ = funcframework.StartHostPort("127.0.0.1", port) }()
	return "http://127.0.0.1:" + port
}

// appWithTenant is the instance's app with a tenant provisioned for a fresh owner (a principal
// of its own), whom ctx carries.
func appWithTenant(t *testing.T, name string) (a *app.App, owner context.Context, tenantID string) {
	t.Helper()
	testenv.Require(t)
	ctx := context.Background()
	a, err := functions.App(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner = auth.WithPrincipal(ctx, auth.Principal{UID: testenv.UniqueID("owner-"), Email: testenv.UniqueID("o-") + "@example.test", EmailVerified: true})
	p, err := a.Tenancy.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: testenv.UniqueID("key-"), OrganizationName: name})
	if err != nil {
		t.Fatal(err)
	}
	return a, owner, p.Tenant.ID
}

// authOf is an Auth client of the project fs belongs to.
func authOf(t *testing.T, fs *firestore.Client) *fbauth.Client {
	t.Helper()
	project := strings.Split(fs.Doc("x/y").Path, "/")[1] // projects/<id>/databases/…
	fb, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: project})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fb.Auth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authEvent is a legacy background event of the Auth trigger eventType about record, as Cloud
// Functions delivers it.
func authEvent(eventType string, record map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"data": record,
		"context": map[string]any{
			"eventId": testenv.UniqueID("ev"), "timestamp": time.Now().UTC().Format(time.RFC3339),
			"eventType": "providers/firebase.auth/eventTypes/" + eventType,
			"resource":  map[string]any{"service": "firebaseauth.googleapis.com", "name": "projects/demo-tenantry"},
		},
	})
	return b
}

// deliver posts body to url until the framework answers (it starts in the background), and
// wants 200.
func deliver(t *testing.T, url string, body []byte) {
	t.Helper()
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err = http.Post(url, "application/json", bytes.NewReader(body))
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d", url, resp.StatusCode)
	}
}

// The user.delete background function, delivered as Cloud Functions does: nothing happens while
// Firebase Auth still has the user; once it is deleted, the membership goes and the seat is
// freed; a second delivery changes nothing.
func TestOnUserDeleteFreesTheSeatOnce(t *testing.T) {
	a, owner, tenantID := appWithTenant(t, "Delete Org")
	ctx := context.Background()
	// The Auth emulator keeps users per project, and the instance's app may have been built for
	// another test's project: the user is created in the app's.
	users := authOf(t, a.Firestore())
	email := testenv.UniqueID("del-") + "@example.test"
	rec, err := users.CreateUser(ctx, (&fbauth.UserToCreate{}).Email(email).EmailVerified(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = users.DeleteUser(context.Background(), rec.UID) })
	u := members.User{UID: rec.UID, Email: email, EmailVerified: true}
	inv, err := a.Members.Invite(owner, tenantID, members.InviteRequest{Email: u.Email, Role: rules.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Members.OnSignup(ctx, u); err != nil {
		t.Fatal(err)
	}
	url := serveFunctions(t) + "/OnUserDelete"
	body := authEvent("user.delete", map[string]any{"uid": u.UID, "email": u.Email})
	seats := func() any {
		t.Helper()
		snap, err := a.Firestore().Doc("tenants/" + tenantID).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Data()["seatsUsed"]
	}
	if got := seats(); got != int64(2) {
		t.Fatalf("seatsUsed %v after %s joined, want 2 (invitation %s)", got, u.Email, inv.Invitation.ID)
	}
	deliver(t, url, body) // Auth still has the user: a forged event changes nothing
	if got := seats(); got != int64(2) {
		t.Fatalf("seatsUsed %v after an event about a live user, want 2", got)
	}
	if err := users.DeleteUser(ctx, u.UID); err != nil {
		t.Fatal(err)
	}
	for range 2 { // at least once: the same event again changes nothing
		deliver(t, url, body)
		if got := seats(); got != int64(1) {
			t.Fatalf("seatsUsed %v, want 1", got)
		}
		if _, err := a.Firestore().Doc("tenants/" + tenantID + "/members/" + u.UID).Get(ctx); err == nil {
			t.Fatalf("the deleted user's membership is still there")
		}
	}
}
