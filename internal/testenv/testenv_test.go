package testenv_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/testenv"
)

func TestUniqueID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^t-[a-z0-9]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := testenv.UniqueID("t-")
		if !re.MatchString(id) {
			t.Fatalf("UniqueID(%q) = %q, want prefix and 12 lowercase alphanumerics", "t-", id)
		}
		if seen[id] {
			t.Fatalf("UniqueID returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestNewUserTokenVerifies(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := context.Background()
	u := env.NewUser(t, testenv.UserOptions{
		EmailVerified: true,
		Claims:        map[string]any{auth.PlatformRoleClaim: "sales"},
	})
	if u.UID == "" || u.IDToken == "" || u.Email == "" || u.Password == "" {
		t.Fatalf("NewUser returned an incomplete user: %+v", u)
	}

	tok, err := env.Auth(t).VerifyIDToken(ctx, u.IDToken)
	if err != nil {
		t.Fatalf("VerifyIDToken: %v", err)
	}
	if tok.UID != u.UID {
		t.Errorf("token uid = %q, want %q", tok.UID, u.UID)
	}
	if got := tok.Claims[auth.PlatformRoleClaim]; got != "sales" {
		t.Errorf("token claim platformRole = %v, want sales", got)
	}
	if got := tok.Claims["email_verified"]; got != true {
		t.Errorf("token claim email_verified = %v, want true", got)
	}
	if _, err := env.Auth(t).VerifyIDTokenAndCheckRevoked(ctx, u.IDToken); err != nil {
		t.Errorf("VerifyIDTokenAndCheckRevoked of an enabled user: %v", err)
	}

	// A fresh sign-in gives another valid token for the same user.
	tok2, err := env.Auth(t).VerifyIDToken(ctx, env.SignIn(t, u.Email, u.Password))
	if err != nil || tok2.UID != u.UID {
		t.Errorf("token from SignIn: uid %v, err %v; want uid %q", tok2, err, u.UID)
	}
}

func TestDisabledUserTokenIsRejected(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	u := env.NewUser(t, testenv.UserOptions{Disabled: true})
	if u.IDToken == "" {
		t.Fatal("NewUser with Disabled returned no ID token")
	}
	_, err := env.Auth(t).VerifyIDTokenAndCheckRevoked(context.Background(), u.IDToken)
	if err == nil {
		t.Fatal("VerifyIDTokenAndCheckRevoked accepted the token of a disabled user")
	}
	if !fbauth.IsUserDisabled(err) {
		t.Errorf("VerifyIDTokenAndCheckRevoked error = %v, want a user-disabled error", err)
	}
}

func TestFirestoreAdminAndREST(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := context.Background()
	id := testenv.UniqueID("testenv-")
	// The admin client writes, bypassing the rules.
	if _, err := env.Firestore(t).Collection("testenv").Doc(id).Set(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatalf("admin write: %v", err)
	}
	// "owner" is the emulator's admin token: the read bypasses the rules, whatever rules are loaded.
	status, body := env.FirestoreREST(t, http.MethodGet, "testenv/"+id, "owner", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"integerValue": "1"`) {
		t.Errorf("REST read as owner: HTTP %d (%s), want 200 with n=1", status, body)
	}
	if status, body := env.FirestoreREST(t, http.MethodGet, "testenv/"+testenv.UniqueID("missing-"), "owner", nil); status != http.StatusNotFound {
		t.Errorf("REST read of a missing document: HTTP %d (%s), want 404", status, body)
	}
}
