package main

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

// The platform-role commands against the Auth emulator: the claim is set and removed with the
// user's other claims kept, and the user's tokens are revoked so the change applies at once.
func TestAdminPlatformRoleCommands(t *testing.T) {
	env := testenv.Require(t)
	t.Setenv("TENANTRY_LOG_LEVEL", "error")
	ac := env.Auth(t)
	ctx := context.Background()
	u := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{"beta": true}})
	claims := func() map[string]any {
		t.Helper()
		rec, err := ac.GetUser(ctx, u.UID)
		if err != nil {
			t.Fatal(err)
		}
		return rec.CustomClaims
	}
	// Revocation compares whole seconds: let the current token's second pass first.
	time.Sleep(1100 * time.Millisecond)

	code, out, errOut := runCLI("admin", "grant-platform-role", "--email", strings.ToUpper(u.Email), "--role", "SALES")
	if code != 0 {
		t.Fatalf("grant: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Granted the platform role sales to "+u.Email) || !strings.Contains(out, "must sign in again") {
		t.Errorf("grant printed %q; want what was done and that the user must sign in again", out)
	}
	if c := claims(); c[auth.PlatformRoleClaim] != "sales" || c["beta"] != true {
		t.Errorf("claims after grant = %v, want platformRole sales and beta kept", c)
	}
	if _, err := ac.VerifyIDTokenAndCheckRevoked(ctx, u.IDToken); !fbauth.IsIDTokenRevoked(err) {
		t.Errorf("the token from before the grant: %v, want revoked", err)
	}
	fresh := env.SignIn(t, u.Email, u.Password)
	tok, err := ac.VerifyIDTokenAndCheckRevoked(ctx, fresh)
	if err != nil || tok.Claims[auth.PlatformRoleClaim] != "sales" {
		t.Fatalf("a new sign-in: %v, claims %v; want a valid token with platformRole sales", err, tok)
	}

	code, out, _ = runCLI("admin", "grant-platform-role", "--email", u.Email, "--role", "sales")
	if code != 0 || !strings.Contains(out, "already has the platform role sales; nothing changed") {
		t.Errorf("granting again: exit %d, %q", code, out)
	}
	if _, err := ac.VerifyIDTokenAndCheckRevoked(ctx, fresh); err != nil {
		t.Errorf("granting the same role again revoked the tokens: %v", err)
	}

	time.Sleep(1100 * time.Millisecond)
	code, out, errOut = runCLI("admin", "revoke-platform-role", "--email", u.Email)
	if code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Removed the platform role sales from "+u.Email) || !strings.Contains(out, "must sign in again") {
		t.Errorf("revoke printed %q", out)
	}
	if c := claims(); c[auth.PlatformRoleClaim] != nil || c["beta"] != true {
		t.Errorf("claims after revoke = %v, want no platformRole and beta kept", c)
	}
	if _, err := ac.VerifyIDTokenAndCheckRevoked(ctx, fresh); !fbauth.IsIDTokenRevoked(err) {
		t.Errorf("the staff token from before the revoke: %v, want revoked", err)
	}
	code, out, _ = runCLI("admin", "revoke-platform-role", "--email", u.Email)
	if code != 0 || !strings.Contains(out, "has no platform role; nothing changed") {
		t.Errorf("revoking again: exit %d, %q", code, out)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown email", []string{"grant-platform-role", "--email", testenv.UniqueID("nobody-") + "@example.test", "--role", "support"}, 1, "no user has the email"},
		{"unknown role", []string{"grant-platform-role", "--email", u.Email, "--role", "owner"}, 2, "unknown role \"owner\"; use --role with one of super_admin, sales, support"},
		{"no role", []string{"grant-platform-role", "--email", u.Email}, 2, "unknown role"},
		{"no email", []string{"grant-platform-role", "--role", "sales"}, 2, "give the user's email address with --email"},
		{"revoke with a role", []string{"revoke-platform-role", "--email", u.Email, "--role", "sales"}, 2, "takes no --role"},
		{"unknown subcommand", []string{"grant-role"}, 2, "unknown subcommand"},
	} {
		code, _, errOut := runCLI(append([]string{"admin"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, code, errOut, tc.code, tc.want)
		}
	}
	if c := claims(); c[auth.PlatformRoleClaim] != nil {
		t.Errorf("a refused command changed the claims: %v", c)
	}
}

// A platform role goes only to an account the server would honour it on: a verified email address
// and, with TENANTRY_STAFF_DOMAINS, one at a staff domain. The refusal says what to do next and
// changes nothing.
func TestAdminGrantNeedsAVerifiedStaffAccount(t *testing.T) {
	env := testenv.Require(t)
	t.Setenv("TENANTRY_LOG_LEVEL", "error")
	ctx := context.Background()
	unverified := env.NewUser(t, testenv.UserOptions{Claims: map[string]any{"beta": true}})
	outsider := env.NewUser(t, testenv.UserOptions{EmailVerified: true})
	insider := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Email: testenv.UniqueID("staff-") + "@acme.test"})
	role := func(u testenv.User) any {
		t.Helper()
		rec, err := env.Auth(t).GetUser(ctx, u.UID)
		if err != nil {
			t.Fatal(err)
		}
		return rec.CustomClaims[auth.PlatformRoleClaim]
	}

	code, _, errOut := runCLI("admin", "grant-platform-role", "--email", unverified.Email, "--role", "support")
	if code != 1 || !strings.Contains(errOut, "has not verified their email address") || !strings.Contains(errOut, "ask them to verify it") {
		t.Errorf("unverified account: exit %d, stderr %q; want exit 1 saying to verify the address first", code, errOut)
	}
	if r := role(unverified); r != nil {
		t.Errorf("the unverified account got platformRole %v", r)
	}

	t.Setenv("TENANTRY_STAFF_DOMAINS", "acme.test, ACME.example")
	code, _, errOut = runCLI("admin", "grant-platform-role", "--email", outsider.Email, "--role", "sales")
	if code != 1 || !strings.Contains(errOut, "is not at a staff domain (TENANTRY_STAFF_DOMAINS: acme.test, acme.example)") {
		t.Errorf("outside the staff domains: exit %d, stderr %q", code, errOut)
	}
	if r := role(outsider); r != nil {
		t.Errorf("the account outside the staff domains got platformRole %v", r)
	}
	if code, out, errOut := runCLI("admin", "grant-platform-role", "--email", insider.Email, "--role", "sales"); code != 0 || role(insider) != "sales" {
		t.Errorf("at a staff domain: exit %d, %q %q, platformRole %v", code, out, errOut, role(insider))
	}

	t.Setenv("TENANTRY_STAFF_DOMAINS", "not a domain")
	if code, _, errOut := runCLI("admin", "grant-platform-role", "--email", insider.Email, "--role", "support"); code != 2 || !strings.Contains(errOut, "TENANTRY_STAFF_DOMAINS") {
		t.Errorf("a bad TENANTRY_STAFF_DOMAINS: exit %d, stderr %q; want exit 2 naming it", code, errOut)
	}
}

// reindex-search gives tenants provisioned before staff search their tokens, moves what older
// versions kept on the tenant document (which every member reads) into the staff record, and a
// second run has nothing to do.
func TestAdminReindexSearch(t *testing.T) {
	env := testenv.Require(t).IsolatedProject(t)
	t.Setenv("GOOGLE_CLOUD_PROJECT", env.Project)
	t.Setenv("TENANTRY_LOG_LEVEL", "error")
	fs := env.Firestore(t)
	ctx := context.Background()
	rep := map[string]any{"uid": "rep-1", "email": "rep@example.test", "platformRole": "sales"}
	seed := map[string]map[string]any{
		"tenants/old-self": {"name": "Analytical Engines", "subdomain": "engines", "status": "trial", "createdBy": "u-old"},
		"tenants/old-contract": {"name": "Difference Co", "status": "active", "createdBy": "rep-1", "searchTokens": []any{"stale"},
			"contract": map[string]any{"reference": "OPP-77", "planId": "pro", "provisionedBy": rep}},
		"tenants/current":               {"name": "Up To Date", "status": "trial"},
		"tenants/current/private/staff": {"status": "trial", "searchTokens": tenancy.SearchTokens("Up To Date")},
	}
	testenv.WriteDocs(t, fs, seed)
	code, out, errOut := runCLI("admin", "reindex-search")
	if code != 0 || !strings.Contains(out, "Done: 3 tenants scanned, 2 updated.") {
		t.Fatalf("reindex-search: exit %d, %q %q", code, out, errOut)
	}
	data := func(path string) map[string]any {
		snap, err := fs.Doc(path).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Data()
	}
	for id, want := range map[string]string{"old-self": "engi", "old-contract": "opp 77", "current": "up to"} {
		staff := data("tenants/" + id + "/private/staff")
		if toks, _ := staff["searchTokens"].([]any); !slices.Contains(toks, any(want)) || slices.Contains(toks, any("stale")) {
			t.Errorf("%s: tokens %v lack %q", id, toks, want)
		}
		tenant := data("tenants/" + id)
		c, _ := tenant["contract"].(map[string]any)
		if tenant["createdBy"] != nil || tenant["searchTokens"] != nil || c["reference"] != nil || c["provisionedBy"] != nil {
			t.Errorf("tenants/%s still holds staff-only fields: %v", id, tenant)
		}
	}
	if staff := data("tenants/old-self/private/staff"); staff["createdBy"] != "u-old" || staff["status"] != "trial" {
		t.Errorf("old-self's staff record = %v, want createdBy u-old and status trial", staff)
	}
	staff := data("tenants/old-contract/private/staff")
	if c, _ := staff["contract"].(map[string]any); staff["createdBy"] != "rep-1" || c["reference"] != "OPP-77" || !reflect.DeepEqual(c["provisionedBy"], rep) {
		t.Errorf("old-contract's staff record = %v, want createdBy, reference and provisionedBy moved there", staff)
	}
	if c, _ := data("tenants/old-contract")["contract"].(map[string]any); c["planId"] != "pro" {
		t.Errorf("old-contract's contract terms = %v, want them kept", c)
	}
	if code, out, _ := runCLI("admin", "reindex-search"); code != 0 || !strings.Contains(out, "3 tenants scanned, 0 updated") {
		t.Errorf("second run: exit %d, %q", code, out)
	}
}
