package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/testenv"
)

// The production verifier against tokens signed with a key the test serves as Google would: what
// Firebase Auth issues passes, anything else is refused with the reason the server logs.
func TestIDTokenClaims(t *testing.T) {
	google := testenv.NewIssuer(t, prodProject)
	attacker := testenv.NewIssuer(t, prodProject)
	attacker.KeyID = google.KeyID
	v := NewIDTokens(IDTokenConfig{Project: prodProject, Keys: &GoogleKeys{URL: google.URL}})
	u := testenv.User{UID: "u1", Email: "ada@example.com"}
	now := time.Now().Unix()

	tok, err := v.VerifyIDToken(context.Background(), google.IDToken(t, u, map[string]any{"email_verified": true, auth.PlatformRoleClaim: "sales"}))
	if err != nil {
		t.Fatalf("a token as Firebase Auth issues it: %v", err)
	}
	if tok.UID != "u1" || tok.Claims["email"] != u.Email || tok.Claims["email_verified"] != true || tok.Claims[auth.PlatformRoleClaim] != "sales" ||
		tok.Claims["sub"] != nil || tok.Firebase.SignInProvider != "password" || tok.AuthTime == 0 {
		t.Errorf("decoded %+v", tok)
	}

	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://securetoken.google.com/" + prodProject,
		"aud": prodProject, "sub": "u1", "iat": now, "auth_time": now, "exp": now + 3600}).SignedString([]byte("secret"))
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"signed by someone else with Google's key id", attacker.IDToken(t, u, nil), ErrTokenInvalid},
		{"an unknown key id", testenv.NewIssuer(t, prodProject).IDToken(t, u, nil), ErrTokenInvalid},
		{"HS256", hs256, ErrTokenInvalid},
		{"unsigned", strings.Join(strings.Split(google.IDToken(t, u, nil), ".")[:2], ".") + ".", ErrTokenInvalid},
		{"another project's audience", google.IDToken(t, u, map[string]any{"aud": "other-project"}), ErrTokenInvalid},
		{"another issuer", google.IDToken(t, u, map[string]any{"iss": "https://securetoken.google.com/other-project"}), ErrTokenInvalid},
		{"no subject", google.IDToken(t, u, map[string]any{"sub": nil}), ErrTokenInvalid},
		{"a subject longer than a uid", google.IDToken(t, u, map[string]any{"sub": strings.Repeat("u", 129)}), ErrTokenInvalid},
		{"expired", google.IDToken(t, u, map[string]any{"iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600}), ErrTokenExpired},
		{"no expiry", google.IDToken(t, u, map[string]any{"exp": nil}), ErrTokenInvalid},
		{"issued in the future", google.IDToken(t, u, map[string]any{"iat": now + 600, "auth_time": now + 600}), ErrTokenInvalid},
		{"no auth_time", google.IDToken(t, u, map[string]any{"auth_time": nil}), ErrTokenInvalid},
		{"signed in after it was issued", google.IDToken(t, u, map[string]any{"auth_time": now + 10}), ErrTokenInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := v.VerifyIDToken(context.Background(), c.token); !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}

	t.Run("Google's keys unreachable", func(t *testing.T) {
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
		defer down.Close()
		v := NewIDTokens(IDTokenConfig{Project: prodProject, Keys: &GoogleKeys{URL: down.URL}})
		if _, err := v.VerifyIDToken(context.Background(), google.IDToken(t, u, nil)); !errors.Is(err, ErrKeysUnavailable) {
			t.Errorf("err = %v, want ErrKeysUnavailable", err)
		}
	})
}

// The revocation check asks Firebase Auth (here the Auth emulator, through the Admin SDK) about
// the user: deleted, disabled and revoked users are refused; VerifyIDToken alone asks nothing.
func TestIDTokenRevocation(t *testing.T) {
	env := testenv.Require(t)
	google := testenv.NewIssuer(t, env.Project)
	v := NewIDTokens(IDTokenConfig{Project: env.Project, Keys: &GoogleKeys{URL: google.URL}, Users: env.Auth(t)})
	ctx := context.Background()
	live, revoked, disabled, deleted := env.NewUser(t, testenv.UserOptions{}), env.NewUser(t, testenv.UserOptions{}),
		env.NewUser(t, testenv.UserOptions{}), env.NewUser(t, testenv.UserOptions{})
	tokens := map[string]string{}
	for _, u := range []testenv.User{live, revoked, disabled, deleted} {
		tokens[u.UID] = google.IDToken(t, u, nil)
	}
	time.Sleep(1100 * time.Millisecond) // revocation compares whole seconds
	if err := env.Auth(t).RevokeRefreshTokens(ctx, revoked.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Auth(t).UpdateUser(ctx, disabled.UID, (&fbauth.UserToUpdate{}).Disabled(true)); err != nil {
		t.Fatal(err)
	}
	if err := env.Auth(t).DeleteUser(ctx, deleted.UID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		u    testenv.User
		want error
	}{
		{"live", live, nil},
		{"revoked", revoked, ErrTokenRevoked},
		{"disabled", disabled, ErrUserDisabled},
		{"deleted", deleted, ErrUserNotFound},
	} {
		if _, err := v.VerifyIDToken(ctx, tokens[c.u.UID]); err != nil {
			t.Errorf("%s: VerifyIDToken: %v, want nil (it asks Firebase Auth nothing)", c.name, err)
		}
		if _, err := v.VerifyIDTokenAndCheckRevoked(ctx, tokens[c.u.UID]); !errors.Is(err, c.want) {
			t.Errorf("%s: VerifyIDTokenAndCheckRevoked: %v, want %v", c.name, err, c.want)
		}
	}
}
