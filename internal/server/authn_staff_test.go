package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/identity"
	"github.com/tenantry/tenantry/internal/testenv"
)

// productionAuth is the middleware as production wires it, verifying RS256 signatures against the
// issuer's certificates and asking the Auth emulator (through the Admin SDK) about users.
func productionAuth(t *testing.T, env testenv.Env, issuer *testenv.Issuer, staff auth.StaffPolicy) authenticator {
	t.Helper()
	v := identity.NewIDTokens(identity.IDTokenConfig{Project: env.Project, Keys: &identity.GoogleKeys{URL: issuer.URL}, Users: env.Auth(t)})
	return authenticator{verifier: v, staff: staff}
}

// seen is what the next handler saw: the principal, and what auth.RequireFresh answered.
type seen struct {
	principal auth.Principal
	fresh     error
}

func serveToken(a authenticator, token string) (int, seen) {
	var s seen
	h := withAuthentication(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.principal, _ = auth.FromContext(r.Context())
		s.fresh = auth.RequireFresh(r.Context())
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	h.ServeHTTP(rec, req)
	return rec.Code, s
}

// In production a staff token is checked for revocation on every request, so revoking a platform
// role (tenantry admin revoke-platform-role revokes the tokens) ends it at once. Other tokens
// cost no call per request; what creates something rechecks them through auth.RequireFresh.
// Both checks are Tenantry's own: nothing here runs the Admin SDK's emulator-mode verification.
func TestStaffTokensAreCheckedForRevocation(t *testing.T) {
	env := testenv.Require(t)
	issuer := testenv.NewIssuer(t, env.Project)
	a := productionAuth(t, env, issuer, auth.StaffPolicy{})
	staffClaims := map[string]any{auth.PlatformRoleClaim: "support", "email_verified": true}
	staff, liveStaff := env.NewUser(t, testenv.UserOptions{EmailVerified: true}), env.NewUser(t, testenv.UserOptions{EmailVerified: true})
	member := env.NewUser(t, testenv.UserOptions{EmailVerified: true})
	staffToken, liveToken := issuer.IDToken(t, staff, staffClaims), issuer.IDToken(t, liveStaff, staffClaims)
	memberToken := issuer.IDToken(t, member, map[string]any{"email_verified": true})
	time.Sleep(1100 * time.Millisecond) // revocation compares whole seconds
	for _, uid := range []string{staff.UID, member.UID} {
		if err := env.Auth(t).RevokeRefreshTokens(context.Background(), uid); err != nil {
			t.Fatal(err)
		}
	}

	if code, _ := serveToken(a, staffToken); code != http.StatusUnauthorized {
		t.Errorf("revoked staff token: HTTP %d, want 401", code)
	}
	if code, s := serveToken(a, liveToken); code != http.StatusOK || s.principal.PlatformRole != auth.PlatformSupport || s.fresh != nil {
		t.Errorf("live staff token: HTTP %d, %+v, want 200 as support", code, s)
	}
	code, s := serveToken(a, memberToken)
	if code != http.StatusOK || s.principal.UID != member.UID {
		t.Errorf("revoked token without a platform role: HTTP %d %+v, want 200 (no call per request)", code, s)
	}
	if s.fresh == nil {
		t.Error("auth.RequireFresh accepted a revoked token: provisioning would go ahead")
	}
}

// A platformRole claim gives staff power only on an account with a verified email and, when
// TENANTRY_STAFF_DOMAINS is set, at one of those domains; otherwise it is ignored, and logged
// without the token.
func TestStaffPowerNeedsAVerifiedEmail(t *testing.T) {
	env := testenv.Require(t)
	issuer := testenv.NewIssuer(t, env.Project)
	acme, err := auth.NewStaffPolicy([]string{"Acme.Test"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))

	outsider := env.NewUser(t, testenv.UserOptions{EmailVerified: true})
	insider := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Email: testenv.UniqueID("staff-") + "@acme.test"})
	for _, c := range []struct {
		name   string
		policy auth.StaffPolicy
		u      testenv.User
		claims map[string]any
		want   auth.PlatformRole
	}{
		{"verified", auth.StaffPolicy{}, outsider, map[string]any{"email_verified": true}, auth.PlatformSales},
		{"unverified", auth.StaffPolicy{}, outsider, map[string]any{"email_verified": false}, auth.PlatformNone},
		{"no email_verified claim", auth.StaffPolicy{}, outsider, map[string]any{"email_verified": nil}, auth.PlatformNone},
		{"no email", auth.StaffPolicy{}, outsider, map[string]any{"email_verified": true, "email": nil}, auth.PlatformNone},
		{"at a staff domain", acme, insider, map[string]any{"email_verified": true}, auth.PlatformSales},
		{"unverified at a staff domain", acme, insider, map[string]any{"email_verified": false}, auth.PlatformNone},
		{"outside the staff domains", acme, outsider, map[string]any{"email_verified": true}, auth.PlatformNone},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs.Reset()
			c.claims[auth.PlatformRoleClaim] = "sales"
			token := issuer.IDToken(t, c.u, c.claims)
			code, s := serveToken(productionAuth(t, env, issuer, c.policy), token)
			if code != http.StatusOK || s.principal.UID != c.u.UID || s.principal.PlatformRole != c.want {
				t.Fatalf("HTTP %d, principal %+v; want 200 with platform role %q", code, s.principal, c.want)
			}
			ignored := strings.Contains(logs.String(), "platform role ignored")
			if ignored != (c.want == auth.PlatformNone) || strings.Contains(logs.String(), token) {
				t.Errorf("log %q: want the ignored role logged (and only then), never the token", logs.String())
			}
		})
	}
}
