package rules_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// TestEscalationsFail tries what a malicious or curious SPA user would: promote themselves, reopen
// their tenant, raise its seat cap or plan, join a tenant that is not theirs, reach into another
// tenant, write server-owned documents, or smuggle such a write into a batch with an allowed one.
// Each must be refused by the generated rules, and nothing may change. Positive controls run
// first, so a broken fixture that refuses everything cannot pass.
func TestEscalationsFail(t *testing.T) {
	t.Parallel()
	f := newEscalationFixture(t)
	for _, c := range f.controls() {
		if status, body := f.env.FirestoreREST(t, c.method, c.path, c.user.IDToken, c.body); status != http.StatusOK {
			t.Fatalf("positive control %q: HTTP %d, want 200: %s", c.name, status, body)
		}
	}
	for _, at := range f.attempts() {
		t.Run(at.name, func(t *testing.T) {
			status, body := f.env.FirestoreREST(t, at.method, at.path, at.user.IDToken, at.body)
			if status != http.StatusForbidden && !strings.Contains(string(body), "PERMISSION_DENIED") {
				t.Errorf("%s %s: HTTP %d, want 403: %s", at.method, at.path, status, body)
			}
		})
	}
	f.requireNothingChanged(t)
}

// escalationFixture is two active tenants, A (an owner, an admin, a member and a viewer) and B
// (another owner), an expired tenant the member owns, and an outsider.
type escalationFixture struct {
	env                                            testenv.Env
	fs                                             *firestore.Client
	owner, admin, member, viewer, outsider, ownerB testenv.User
	a, b, expired                                  string
}

func newEscalationFixture(t *testing.T) *escalationFixture {
	t.Helper()
	env := loadRules(t)
	user := func() testenv.User { return env.NewUser(t, testenv.UserOptions{EmailVerified: true}) }
	f := &escalationFixture{env: env, fs: env.Firestore(t),
		owner: user(), admin: user(), member: user(), viewer: user(), outsider: user(), ownerB: user(),
		a: testenv.UniqueID("esc-a-"), b: testenv.UniqueID("esc-b-"), expired: testenv.UniqueID("esc-x-")}
	a, b, expired, member := f.a, f.b, f.expired, f.member
	ends := time.Now().UTC().Add(7 * 24 * time.Hour)
	docs := map[string]map[string]any{
		"tenants/" + a + "/notes/n1":       {"text": "seeded"},
		"tenants/" + b + "/notes/n1":       {"text": "seeded"},
		"tenants/" + expired + "/notes/n1": {"text": "seeded"},
		"tenants/" + a + "/audit/e1":       {"action": "seeded"},
		"users/" + member.UID:              {"email": member.Email, "tenantIds": []string{a, expired}},
	}
	addDocs(docs, seedTenant(a, rules.StatusActive, ends,
		f.owner.As(rules.RoleOwner), f.admin.As(rules.RoleAdmin), member.As(rules.RoleMember), f.viewer.As(rules.RoleViewer)))
	addDocs(docs, seedTenant(b, rules.StatusActive, ends, f.ownerB.As(rules.RoleOwner)))
	addDocs(docs, seedTenant(expired, rules.StatusTrialExpired, ends.AddDate(0, 0, -30), member.As(rules.RoleOwner)))
	testenv.WriteDocs(t, f.fs, docs)
	t.Cleanup(func() {
		deleteTenants(f.fs, []string{a, b, expired})
		_, _ = f.fs.Doc("users/" + member.UID).Delete(context.Background())
		_, _ = f.fs.Doc("users/" + f.outsider.UID).Delete(context.Background())
	})
	return f
}

// attempt is one REST call as a user (testenv.User{} for nobody).
type attempt struct {
	name   string
	method string
	path   string
	user   testenv.User
	body   any
}

// str is a string value, and restDoc a document body, of the Firestore REST API.
func str(v string) map[string]any             { return map[string]any{"stringValue": v} }
func restDoc(f map[string]any) map[string]any { return map[string]any{"fields": f} }

// controls are calls the rules allow, run first so that a fixture refusing everything fails.
func (f *escalationFixture) controls() []attempt {
	a, expired, member, admin, doc := f.a, f.expired, f.member, f.admin, restDoc
	return []attempt{
		{"member reads their tenant's data", http.MethodGet, "tenants/" + a + "/notes/n1", member, nil},
		{"member writes their tenant's data", http.MethodPatch, "tenants/" + a + "/notes/n2", member, doc(map[string]any{"text": str("mine")})},
		{"member reads their own membership", http.MethodGet, "tenants/" + a + "/members/" + member.UID, member, nil},
		{"admin reads the audit log", http.MethodGet, "tenants/" + a + "/audit/e1", admin, nil},
		{"member of an expired tenant still reads its data", http.MethodGet, "tenants/" + expired + "/notes/n1", member, nil},
	}
}

// attempts are the escalations, each of which the rules must refuse.
func (f *escalationFixture) attempts() []attempt {
	a, b, expired, doc := f.a, f.b, f.expired, restDoc
	owner, member, viewer, outsider := f.owner, f.member, f.viewer, f.outsider
	name := func(path string) string {
		return "projects/" + f.env.Project + "/databases/(default)/documents/" + path
	}
	return []attempt{
		// Role escalation: memberships are server-owned, whoever asks.
		{"member sets their own role to owner", http.MethodPatch, "tenants/" + a + "/members/" + member.UID + "?updateMask.fieldPaths=role", member, doc(map[string]any{"role": str("owner")})},
		{"viewer sets their own role to admin", http.MethodPatch, "tenants/" + a + "/members/" + viewer.UID + "?updateMask.fieldPaths=role", viewer, doc(map[string]any{"role": str("admin")})},
		{"owner promotes a member directly", http.MethodPatch, "tenants/" + a + "/members/" + member.UID + "?updateMask.fieldPaths=role", owner, doc(map[string]any{"role": str("admin")})},
		{"member deletes their membership", http.MethodDelete, "tenants/" + a + "/members/" + member.UID, member, nil},
		// The tenant document: status, caps and plan only change through the API.
		{"owner of an expired tenant sets it active", http.MethodPatch, "tenants/" + expired + "?updateMask.fieldPaths=status", member, doc(map[string]any{"status": str("active")})},
		{"member sets the tenant's status", http.MethodPatch, "tenants/" + a + "?updateMask.fieldPaths=status", member, doc(map[string]any{"status": str("trial")})},
		{"member raises the seat cap", http.MethodPatch, "tenants/" + a + "?updateMask.fieldPaths=seatCap", member, doc(map[string]any{"seatCap": map[string]any{"integerValue": "1000"}})},
		{"owner raises the seat cap", http.MethodPatch, "tenants/" + a + "?updateMask.fieldPaths=seatCap", owner, doc(map[string]any{"seatCap": map[string]any{"integerValue": "1000"}})},
		{"member changes the plan", http.MethodPatch, "tenants/" + a + "?updateMask.fieldPaths=planId", member, doc(map[string]any{"planId": str("enterprise")})},
		{"owner changes the plan", http.MethodPatch, "tenants/" + a + "?updateMask.fieldPaths=planId", owner, doc(map[string]any{"planId": str("enterprise")})},
		{"owner deletes the tenant", http.MethodDelete, "tenants/" + a, owner, nil},
		// Joining a tenant one does not belong to.
		{"outsider creates a membership for themselves", http.MethodPost, "tenants/" + a + "/members?documentId=" + outsider.UID, outsider, doc(map[string]any{"role": str("owner")})},
		{"outsider upserts a membership for themselves", http.MethodPatch, "tenants/" + a + "/members/" + outsider.UID, outsider, doc(map[string]any{"role": str("member")})},
		{"member of A adds themselves to B", http.MethodPatch, "tenants/" + b + "/members/" + member.UID, member, doc(map[string]any{"role": str("owner")})},
		{"outsider links a tenant in their users document", http.MethodPatch, "users/" + outsider.UID, outsider, doc(map[string]any{"tenantIds": map[string]any{"arrayValue": map[string]any{"values": []any{str(a)}}}})},
		{"member edits their own users document", http.MethodPatch, "users/" + member.UID + "?updateMask.fieldPaths=tenantIds", member, doc(map[string]any{"tenantIds": map[string]any{"arrayValue": map[string]any{"values": []any{str(b)}}}})},
		{"outsider creates a tenant", http.MethodPost, "tenants?documentId=" + testenv.UniqueID("esc-new-"), outsider, doc(map[string]any{"status": str("active")})},
		// Tenant A's member reaching into tenant B.
		{"member of A reads B's tenant", http.MethodGet, "tenants/" + b, member, nil},
		{"member of A reads B's data", http.MethodGet, "tenants/" + b + "/notes/n1", member, nil},
		{"member of A lists B's data", http.MethodGet, "tenants/" + b + "/notes", member, nil},
		{"member of A lists B's members", http.MethodGet, "tenants/" + b + "/members", member, nil},
		{"member of A updates B's data", http.MethodPatch, "tenants/" + b + "/notes/n1", member, doc(map[string]any{"text": str("defaced")})},
		{"member of A creates data in B", http.MethodPost, "tenants/" + b + "/notes?documentId=planted", member, doc(map[string]any{"text": str("planted")})},
		{"member of A deletes B's data", http.MethodDelete, "tenants/" + b + "/notes/n1", member, nil},
		{"member lists all tenants", http.MethodGet, "tenants", member, nil},
		// Server-owned collections under their own tenant.
		{"member creates an invitation", http.MethodPost, "tenants/" + a + "/invitations?documentId=inv1", member, doc(map[string]any{"email": str("friend@example.test"), "role": str("admin")})},
		{"owner creates an invitation directly", http.MethodPost, "tenants/" + a + "/invitations?documentId=inv2", owner, doc(map[string]any{"email": str("friend@example.test"), "role": str("admin")})},
		{"member reads the audit log", http.MethodGet, "tenants/" + a + "/audit/e1", member, nil},
		{"owner forges an audit entry", http.MethodPost, "tenants/" + a + "/audit?documentId=forged", owner, doc(map[string]any{"action": str("nothing to see")})},
		{"owner erases an audit entry", http.MethodDelete, "tenants/" + a + "/audit/e1", owner, nil},
		{"owner writes history", http.MethodPost, "tenants/" + a + "/history?documentId=h1", owner, doc(map[string]any{"to": str("active")})},
		{"owner writes billing under the tenant", http.MethodPost, "tenants/" + a + "/billing?documentId=b1", owner, doc(map[string]any{"status": str("paid")})},
		{"owner writes the top-level billing record", http.MethodPatch, "billing/" + a, owner, doc(map[string]any{"status": str("paid")})},
		{"owner queues an outbox entry", http.MethodPost, "outbox?documentId=" + testenv.UniqueID("esc-"), owner, doc(map[string]any{"kind": str("email.welcome")})},
		// An allowed write cannot carry a forbidden one: the batch is refused as a whole.
		{"batch of allowed data and the tenant's status", http.MethodPost, ":commit", member, map[string]any{"writes": []any{
			map[string]any{"update": map[string]any{"name": name("tenants/" + a + "/notes/n1"), "fields": map[string]any{"text": str("batched")}}},
			map[string]any{"update": map[string]any{"name": name("tenants/" + expired), "fields": map[string]any{"status": str("active")}}, "updateMask": map[string]any{"fieldPaths": []string{"status"}}},
		}}},
		{"collection-group query across tenants", http.MethodPost, ":runQuery", member, map[string]any{"structuredQuery": map[string]any{"from": []any{map[string]any{"collectionId": "notes", "allDescendants": true}}}}},
		{"anonymous reads data", http.MethodGet, "tenants/" + a + "/notes/n1", testenv.User{}, nil},
	}
}

// requireNothingChanged checks that no refused call changed a document.
func (f *escalationFixture) requireNothingChanged(t *testing.T) {
	t.Helper()
	ctx, fs := context.Background(), f.fs
	a, b, expired, member, outsider := f.a, f.b, f.expired, f.member, f.outsider
	for _, id := range []string{a, expired} {
		snap, err := fs.Doc("tenants/" + id).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := snap.Data()
		if d["seatCap"] != int64(10) || d["planId"] != "starter" {
			t.Errorf("tenant %s changed: %v", id, d)
		}
	}
	if s, _ := fs.Doc("tenants/" + expired).Get(ctx); s.Data()["status"] != "trial_expired" {
		t.Errorf("the expired tenant's status changed to %v", s.Data()["status"])
	}
	if s, _ := fs.Doc("tenants/" + a + "/members/" + member.UID).Get(ctx); s.Data()["role"] != "member" {
		t.Errorf("the member's role changed to %v", s.Data()["role"])
	}
	for _, p := range []string{"tenants/" + a + "/members/" + outsider.UID, "tenants/" + b + "/members/" + member.UID, "tenants/" + b + "/notes/planted", "tenants/" + a + "/invitations/inv1"} {
		if s, err := fs.Doc(p).Get(ctx); err == nil && s.Exists() {
			t.Errorf("%s was created", p)
		}
	}
	for _, p := range []string{"tenants/" + a + "/notes/n1", "tenants/" + b + "/notes/n1"} {
		if s, err := fs.Doc(p).Get(ctx); err != nil || s.Data()["text"] != "seeded" {
			t.Errorf("%s changed or vanished: %v %v", p, s.Data(), err)
		}
	}
}
