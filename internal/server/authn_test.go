package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	firebase "firebase.google.com/go/v4"
	"google.golang.org/api/option"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/testenv"
)

// Production mode must never accept the Auth emulator's unsigned tokens. The Admin SDK decides
// its mode from FIREBASE_AUTH_EMULATOR_HOST when the client is made, so this test makes one
// client without it and presents a real emulator token to the middleware.
func TestProductionVerifierRefusesEmulatorTokens(t *testing.T) {
	env := testenv.Require(t)
	user := env.NewUser(t, testenv.UserOptions{EmailVerified: true})

	// First the emulator-mode verifier, to prove the token itself is good.
	check := func(v TokenVerifier) (int, string) {
		var sawPrincipal bool
		h := withAuthentication(v, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	if status, _ := check(env.Auth(t)); status != 200 {
		t.Fatalf("emulator-mode verifier refused a good emulator token: %d", status)
	}

	host := os.Getenv("FIREBASE_AUTH_EMULATOR_HOST")
	os.Unsetenv("FIREBASE_AUTH_EMULATOR_HOST")
	// No credentials exist here; verifying ID tokens needs none (only Google's public keys).
	app, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: env.Project}, option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	prod, err := app.Auth(context.Background())
	os.Setenv("FIREBASE_AUTH_EMULATOR_HOST", host)
	if err != nil {
		t.Fatal(err)
	}
	status, code := check(prod)
	if status != http.StatusUnauthorized || code != CodeUnauthenticated {
		t.Fatalf("production verifier answered %d %q to an unsigned emulator token, want 401 UNAUTHENTICATED", status, code)
	}
}
