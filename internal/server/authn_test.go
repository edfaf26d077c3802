package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/testenv"
)

// Production mode must never accept the Auth emulator's unsigned tokens: the production verifier
// (identity.IDTokens, used whenever FIREBASE_AUTH_EMULATOR_HOST is unset) wants Google's
// signature, whatever the Admin SDK would do in this process.
func TestProductionVerifierRefusesEmulatorTokens(t *testing.T) {
	env := testenv.Require(t)
	user := env.NewUser(t, testenv.UserOptions{EmailVerified: true})

	// First the emulator-mode verifier, to prove the token itself is good.
	check := func(a authenticator) (int, string) {
		var sawPrincipal bool
		h := withAuthentication(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := auth.FromContext(r.Context())
			sawPrincipal = ok && p.UID == user.UID
		}))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.Header.Set("Authorization", "Bearer "+user.IDToken)
		h.ServeHTTP(rec, req)
		var body struct {
			Errors []struct {
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		code := ""
		if len(body.Errors) > 0 {
			code, _ = body.Errors[0].Extensions["code"].(string)
		}
		if rec.Code == 200 && !sawPrincipal {
			t.Fatal("request passed without the principal in the context")
		}
		return rec.Code, code
	}
	if status, _ := check(authenticator{verifier: env.Auth(t), emulator: true}); status != 200 {
		t.Fatalf("emulator-mode verifier refused a good emulator token: %d", status)
	}
	status, code := check(productionAuth(t, env, testenv.NewIssuer(t, env.Project), auth.StaffPolicy{}))
	if status != http.StatusUnauthorized || code != CodeUnauthenticated {
		t.Fatalf("production verifier answered %d %q to an unsigned emulator token, want 401 UNAUTHENTICATED", status, code)
	}
}
