package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/testenv"
)

// stubVerifier decodes every token as the given claims (as production's local signature check
// would) and answers the revocation check with revokedErr, counting the checks.
type stubVerifier struct {
	uid        string
	claims     map[string]any
	revokedErr error
	checks     int
}

func (v *stubVerifier) VerifyIDToken(context.Context, string) (*fbauth.Token, error) {
	return &fbauth.Token{UID: v.uid, Claims: v.claims}, nil
}

func (v *stubVerifier) VerifyIDTokenAndCheckRevoked(context.Context, string) (*fbauth.Token, error) {
	v.checks++
	if v.revokedErr != nil {
		return nil, v.revokedErr
	}
	return &fbauth.Token{UID: v.uid, Claims: v.claims}, nil
}

// In production a staff token is checked for revocation on every request, so revoking a platform
// role (tenantry admin revoke-platform-role revokes the tokens) ends it at once; other users'
// tokens cost no extra call. The revocation error is the Admin SDK's own, from the Auth emulator.
func TestStaffTokensAreCheckedForRevocation(t *testing.T) {
	env := testenv.Require(t)
	u := env.NewUser(t, testenv.UserOptions{Claims: map[string]any{"platformRole": "support"}})
	time.Sleep(1100 * time.Millisecond) // revocation compares whole seconds
	ctx := context.Background()
	if err := env.Auth(t).RevokeRefreshTokens(ctx, u.UID); err != nil {
		t.Fatal(err)
	}
	_, revoked := env.Auth(t).VerifyIDTokenAndCheckRevoked(ctx, u.IDToken)
	if !fbauth.IsIDTokenRevoked(revoked) {
		t.Fatalf("the emulator did not revoke the token: %v", revoked)
	}

	serve := func(v *stubVerifier) int {
		h := withAuthentication(v, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.Header.Set("Authorization", "Bearer "+u.IDToken)
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	staff := &stubVerifier{uid: u.UID, claims: map[string]any{"platformRole": "support"}, revokedErr: revoked}
	if code := serve(staff); code != http.StatusUnauthorized || staff.checks != 1 {
		t.Errorf("revoked staff token: HTTP %d after %d revocation checks, want 401 after 1", code, staff.checks)
	}
	live := &stubVerifier{uid: u.UID, claims: map[string]any{"platformRole": "support"}}
	if code := serve(live); code != http.StatusOK || live.checks != 1 {
		t.Errorf("valid staff token: HTTP %d after %d checks, want 200 after 1", code, live.checks)
	}
	member := &stubVerifier{uid: u.UID, claims: map[string]any{}, revokedErr: revoked}
	if code := serve(member); code != http.StatusOK || member.checks != 0 {
		t.Errorf("token without a platform role: HTTP %d after %d checks, want 200 without a check (provisioning rechecks on its own)", code, member.checks)
	}
}
