package tests

// Trust boundaries: what a platform role needs, and production mode. Every other test runs with
// the Auth emulator, where the Admin SDK checks no signature and asks the emulator about the user
// on every call by itself; here the server runs as in production (FIREBASE_AUTH_EMULATOR_HOST
// unset in its configuration), so Tenantry's own checks are what refuse: Google's signature
// (a key the test serves in Google's place), the per-request staff check and the recheck before
// provisioning. Users still live in the Auth emulator, which the Admin SDK asks for them.

import (
	"context"
	"net/http"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
)

const prodPublicURL = "https://api.example.test"

// productionServer starts an app that verifies as production does, with the returned issuer in
// the place of Google's securetoken service.
func productionServer(t *testing.T) (*testServer, *testenv.Issuer) {
	t.Helper()
	issuer := testenv.NewIssuer(t, emulators(t).Project)
	s := newServer(t, func(c *config.Config) {
		c.AuthEmulatorHost = ""
		c.PublicURL = prodPublicURL
	}, app.Options{GoogleCertsURL: issuer.URL})
	return s, issuer
}

// platformRoleOf asks me.platformRole; "" for none.
func platformRoleOf(t testing.TB, s *testServer, token string) string {
	t.Helper()
	var d meData
	status, data, errs := s.gql(t, token, meQuery, nil)
	mustData(t, status, data, errs, &d)
	if d.Me.PlatformRole == nil {
		return ""
	}
	return *d.Me.PlatformRole
}

// A platformRole claim on an account whose email is not verified gives no staff power: anyone can
// sign up with any address (here through the Auth emulator, as a client would).
func TestPlatformRoleNeedsAVerifiedEmail(t *testing.T) {
	t.Parallel()
	s := shared(t)
	other := s.mustProvision(t, newUser(t).IDToken, provisionInput(uniqueKey(), "Not Theirs", "", "")).Tenant.ID
	claim := map[string]any{auth.PlatformRoleClaim: "super_admin"}
	unverified := emulators(t).NewUser(t, testenv.UserOptions{Claims: claim})
	if r := platformRoleOf(t, s, unverified.IDToken); r != "" {
		t.Errorf("me.platformRole = %s for an unverified account, want null", r)
	}
	_, _, errs := s.gql(t, unverified.IDToken, tenantQuery, map[string]any{"id": other})
	if len(errs) != 1 || errs[0].Code() != "NOT_FOUND" {
		t.Errorf("another tenant read by an unverified account with the claim: errors %+v, want NOT_FOUND", errs)
	}
	verified := emulators(t).NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: claim})
	if r := platformRoleOf(t, s, verified.IDToken); r != "SUPER_ADMIN" {
		t.Errorf("me.platformRole = %q for a verified account, want SUPER_ADMIN", r)
	}
}

// The server with no emulator variable: tokens must carry Google's signature, a staff token is
// checked with Firebase Auth on every request, and provisioning rechecks any token first.
func TestProductionModeTokens(t *testing.T) {
	t.Parallel()
	s, issuer := productionServer(t)
	env := emulators(t)
	ctx := context.Background()
	verified := func(u testenv.User, role string) string {
		c := map[string]any{"email_verified": true}
		if role != "" {
			c[auth.PlatformRoleClaim] = role
		}
		return issuer.IDToken(t, u, c)
	}
	live, revoked, disabled, deleted := newUser(t), newUser(t), newUser(t), newUser(t)
	liveStaff, revokedStaff, disabledStaff := staffUser(t, "support"), staffUser(t, "support"), staffUser(t, "support")
	tok := map[string]string{}
	for _, u := range []testenv.User{live, revoked, disabled, deleted} {
		tok[u.UID] = verified(u, "")
	}
	for _, u := range []testenv.User{liveStaff, revokedStaff, disabledStaff} {
		tok[u.UID] = verified(u, "support")
	}
	time.Sleep(1100 * time.Millisecond) // revocation compares whole seconds
	for _, u := range []testenv.User{revoked, revokedStaff} {
		if err := authAdmin(t).RevokeRefreshTokens(ctx, u.UID); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []testenv.User{disabled, disabledStaff} {
		if _, err := authAdmin(t).UpdateUser(ctx, u.UID, (&fbauth.UserToUpdate{}).Disabled(true)); err != nil {
			t.Fatal(err)
		}
	}
	if err := authAdmin(t).DeleteUser(ctx, deleted.UID); err != nil {
		t.Fatal(err)
	}

	t.Run("a token signed by Google for a live user provisions", func(t *testing.T) {
		s.mustProvision(t, tok[live.UID], provisionInput(uniqueKey(), "Signed Org", "", ""))
	})
	t.Run("provisioning rechecks revoked, disabled and deleted users", func(t *testing.T) {
		for _, u := range []testenv.User{revoked, disabled, deleted} {
			// Reads cost no call to Firebase Auth per request, so they still pass.
			if status, _, errs := s.gql(t, tok[u.UID], meQuery, nil); status != http.StatusOK || len(errs) != 0 {
				t.Errorf("%s: me: HTTP %d %+v, want 200 (no check per request)", u.Email, status, errs)
			}
			_, errs := s.provision(t, tok[u.UID], provisionInput(uniqueKey(), "Refused Org", "", ""))
			wantCode(t, errs, "UNAUTHENTICATED", "")
			nothingWrittenFor(t, u.UID)
		}
	})
	t.Run("staff tokens are checked on every request", func(t *testing.T) {
		if r := platformRoleOf(t, s, tok[liveStaff.UID]); r != "SUPPORT" {
			t.Errorf("live staff: me.platformRole = %q, want SUPPORT", r)
		}
		for _, u := range []testenv.User{revokedStaff, disabledStaff} {
			status, data, errs := s.gql(t, tok[u.UID], meQuery, nil)
			wantRefused(t, status, data, errs)
		}
	})
	t.Run("tokens Google did not sign are refused", func(t *testing.T) {
		attacker := testenv.NewIssuer(t, env.Project)
		attacker.KeyID = issuer.KeyID
		for name, token := range map[string]string{
			"the Auth emulator's unsigned token": live.IDToken,
			"signed with another key":            attacker.IDToken(t, live, map[string]any{"email_verified": true}),
			"for another project":                issuer.IDToken(t, live, map[string]any{"aud": "another-project"}),
		} {
			status, data, errs := s.gql(t, token, meQuery, nil)
			if status != http.StatusUnauthorized {
				t.Errorf("%s: HTTP %d", name, status)
			}
			wantRefused(t, status, data, errs)
		}
	})
}

// In production a blocking event must be signed by Google for the function's own URL under
// TENANTRY_PUBLIC_URL; the project id, which every ID token carries, is not enough.
func TestProductionModeBlockingFunctions(t *testing.T) {
	t.Parallel()
	s, issuer := productionServer(t)
	owner, tenantID := ownerAndTenant(t, shared(t))
	email := freshEmail("prod-evt")
	shared(t).mustInvite(t, owner.IDToken, tenantID, email, "MEMBER")
	now := time.Now()
	post := func(claims map[string]any) (int, string) {
		return postBlocking(t, s, "beforeCreate", issuer.Sign(t, claims))
	}
	uid := testenv.UniqueID("uid")
	forProject := blockingEvent(prodPublicURL, "beforeCreate", uid, email, true, now)
	forProject["aud"] = emulators(t).Project
	if st, body := post(forProject); st != http.StatusUnauthorized || memberRole(t, tenantID, uid) != "" {
		t.Fatalf("an event addressed to the project id: HTTP %d %s, role %q; want 401 and nothing done", st, body, memberRole(t, tenantID, uid))
	}
	if st, body := postBlocking(t, s, "beforeCreate", unsignedJWT(blockingEvent(prodPublicURL, "beforeCreate", uid, email, true, now))); st != http.StatusUnauthorized {
		t.Fatalf("an unsigned event: HTTP %d %s, want 401", st, body)
	}
	if st, body := post(blockingEvent(prodPublicURL, "beforeCreate", uid, email, true, now)); st != http.StatusOK || memberRole(t, tenantID, uid) != "member" {
		t.Fatalf("an event signed for %s/auth/beforeCreate: HTTP %d %s, role %q; want 200 and a member", prodPublicURL, st, body, memberRole(t, tenantID, uid))
	}
}
