package tests

// The signup logic, reached three ways: the blocking functions called by the Auth emulator, the
// user's first authenticated request, and (in functions/) the user.create background function.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/testenv"
)

// authREST calls the Auth emulator's REST API and decodes the JSON answer into dst (if not nil).
func authREST(t testing.TB, method, path, bearer string, body any, dst any) int {
	t.Helper()
	env := emulators(t)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+env.AuthHost+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if dst != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("%s %s: HTTP %d, decode %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Logf("%s %s: HTTP %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

func configPath() string {
	return "/identitytoolkit.googleapis.com/v2/projects/" + testenv.DefaultProject + "/config"
}

// registerBlockingFunctions points the Auth emulator's beforeCreate and beforeSignIn at base
// until the test ends, then restores what was registered before. The registration is global to
// the emulator, so only non-parallel tests call it, and the server at base lives until the
// restore (its cleanup was registered first, so it runs after this one).
func registerBlockingFunctions(t *testing.T, base string) {
	t.Helper()
	var before struct {
		BlockingFunctions json.RawMessage `json:"blockingFunctions"`
	}
	if st := authREST(t, http.MethodGet, configPath(), "owner", nil, &before); st != http.StatusOK {
		t.Fatalf("read the emulator's config: HTTP %d", st)
	}
	set := func(v any) int {
		return authREST(t, http.MethodPatch, configPath()+"?updateMask=blockingFunctions", "owner", map[string]any{"blockingFunctions": v}, nil)
	}
	t.Cleanup(func() {
		var prev any = map[string]any{}
		if len(before.BlockingFunctions) > 0 {
			prev = before.BlockingFunctions
		}
		if st := set(prev); st != http.StatusOK {
			t.Errorf("restore the emulator's blocking functions: HTTP %d", st)
		}
	})
	if st := set(map[string]any{"triggers": map[string]any{
		"beforeCreate": map[string]any{"functionUri": base + "/auth/beforeCreate"},
		"beforeSignIn": map[string]any{"functionUri": base + "/auth/beforeSignIn"},
	}}); st != http.StatusOK {
		t.Fatalf("register blocking functions: HTTP %d", st)
	}
}

// unsignedJWT builds a JWT the way the Auth emulator does: alg "none", empty signature.
func unsignedJWT(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// signUpWithGoogle signs a new user up through the emulator's Google provider, whose email is
// verified, and returns the uid and ID token. This is the path of a client SDK signup, so the
// emulator calls the blocking functions.
func signUpWithGoogle(t testing.TB, email string) (uid, idToken string) {
	t.Helper()
	idp := unsignedJWT(map[string]any{"sub": testenv.UniqueID("g-"), "email": email, "email_verified": true})
	var resp struct {
		LocalID string `json:"localId"`
		IDToken string `json:"idToken"`
	}
	if st := authREST(t, http.MethodPost, "/identitytoolkit.googleapis.com/v1/accounts:signInWithIdp?key=fake-api-key", "", map[string]any{
		"postBody": "id_token=" + idp + "&providerId=google.com", "requestUri": "http://localhost",
		"returnIdpCredential": true, "returnSecureToken": true,
	}, &resp); st != http.StatusOK || resp.LocalID == "" {
		t.Fatalf("signInWithIdp: HTTP %d %+v", st, resp)
	}
	t.Cleanup(func() { _ = authAdmin(t).DeleteUser(context.Background(), resp.LocalID) })
	return resp.LocalID, resp.IDToken
}

func memberRole(t testing.TB, tenantID, uid string) string {
	t.Helper()
	d := doc(t, "tenants/"+tenantID+"/members/"+uid)
	if d == nil {
		return ""
	}
	r, _ := d["role"].(string)
	return r
}

// Not parallel: the blocking-function registration is global to the emulator.
func TestSignupThroughBlockingFunctions(t *testing.T) {
	s := newServer(t, nil, app.Options{})
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 10, "planId": "pro"})
	google := freshEmail("google")
	password := freshEmail("password")
	s.mustInvite(t, owner.IDToken, tenantID, google, "MANAGER")
	s.mustInvite(t, owner.IDToken, tenantID, password, "VIEWER")
	registerBlockingFunctions(t, s.URL)

	t.Run("a verified signup is a member with the invited role, with no further call", func(t *testing.T) {
		uid, _ := signUpWithGoogle(t, strings.ToUpper(google))
		if r := memberRole(t, tenantID, uid); r != "manager" {
			t.Fatalf("role %q right after signup, want manager", r)
		}
		if seats, pending := counters(t, tenantID); seats != 2 || pending != 1 {
			t.Errorf("seatsUsed %d pendingInvitations %d, want 2 and 1", seats, pending)
		}
		if ids := userTenantIDs(t, uid); len(ids) != 1 || ids[0] != tenantID {
			t.Errorf("users/%s.tenantIds = %v", uid, ids)
		}
	})
	t.Run("an email/password signup waits for verification, then joins at sign-in", func(t *testing.T) {
		var resp struct {
			LocalID string `json:"localId"`
		}
		pw := "correct-horse-battery"
		if st := authREST(t, http.MethodPost, "/identitytoolkit.googleapis.com/v1/accounts:signUp?key=fake-api-key", "",
			map[string]any{"email": password, "password": pw, "returnSecureToken": true}, &resp); st != http.StatusOK {
			t.Fatalf("signUp: HTTP %d", st)
		}
		t.Cleanup(func() { _ = authAdmin(t).DeleteUser(context.Background(), resp.LocalID) })
		if r := memberRole(t, tenantID, resp.LocalID); r != "" {
			t.Fatalf("an unverified address joined as %q; anyone can sign up with any address", r)
		}
		if _, err := authAdmin(t).UpdateUser(context.Background(), resp.LocalID, (&fbauth.UserToUpdate{}).EmailVerified(true)); err != nil {
			t.Fatal(err)
		}
		emulators(t).SignIn(t, password, pw) // beforeSignIn
		if r := memberRole(t, tenantID, resp.LocalID); r != "viewer" {
			t.Fatalf("role %q after the verified sign-in, want viewer", r)
		}
		if seats, pending := counters(t, tenantID); seats != 3 || pending != 0 {
			t.Errorf("seatsUsed %d pendingInvitations %d, want 3 and 0", seats, pending)
		}
	})
	t.Run("a signup nobody invited still works and joins nothing", func(t *testing.T) {
		uid, token := signUpWithGoogle(t, freshEmail("stranger"))
		if uid == "" || token == "" {
			t.Fatal("no user")
		}
		if d := mustDoc(t, "users/"+uid); d["signupVerified"] != true {
			t.Errorf("users/%s = %v, want the signup recorded", uid, d)
		}
	})
}

// blockingEvent is a beforeCreate event as the emulator sends it to the server at base.
func blockingEvent(base, event, uid, email string, verified bool, now time.Time) map[string]any {
	return map[string]any{
		"iss": "https://securetoken.google.com/" + testenv.DefaultProject, "aud": base + "/auth/" + event,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "event_id": testenv.UniqueID("ev"),
		"event_type": event, "sign_in_method": "google.com",
		"user_record": map[string]any{"uid": uid, "email": email, "email_verified": verified},
		"sub":         uid,
	}
}

func postBlocking(t testing.TB, s *testServer, event, jwt string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"jwt": jwt}})
	resp, b := s.do(t, http.MethodPost, "/auth/"+event, http.Header{"Content-Type": {"application/json"}}, body)
	return resp.StatusCode, string(b)
}

// In emulator mode an event is unsigned, so anyone on the machine could post one: the server acts
// only on what the Auth emulator confirms (the user exists with that uid and email; its record
// says whether the email is verified).
func TestBlockingFunctionEvents(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 10, "planId": "pro"})
	email := freshEmail("evt")
	s.mustInvite(t, owner.IDToken, tenantID, email, "MEMBER")
	u := verifiedUser(t, email) // created with the Admin SDK: no blocking function ran
	now := time.Now()

	t.Run("a replayed event changes nothing", func(t *testing.T) {
		jwt := unsignedJWT(blockingEvent(s.URL, "beforeSignIn", u.UID, email, true, now))
		for i := range 3 {
			if st, body := postBlocking(t, s, "beforeSignIn", jwt); st != http.StatusOK || strings.TrimSpace(body) != "{}" {
				t.Fatalf("delivery %d: HTTP %d %s, want 200 {}", i, st, body)
			}
			if r := memberRole(t, tenantID, u.UID); r != "member" {
				t.Fatalf("delivery %d: role %q", i, r)
			}
			if seats, pending := counters(t, tenantID); seats != 2 || pending != 0 {
				t.Fatalf("delivery %d: seatsUsed %d pendingInvitations %d, want 2 and 0", i, seats, pending)
			}
		}
	})
	for _, c := range []struct {
		name   string
		jwt    func() string
		status int
	}{
		{"a signed token is refused in emulator mode", func() string {
			j := unsignedJWT(blockingEvent(s.URL, "beforeCreate", u.UID, email, true, now))
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
			return h + j[strings.Index(j, "."):] + "c2lnbmF0dXJl"
		}, http.StatusUnauthorized},
		{"another issuer", func() string {
			c := blockingEvent(s.URL, "beforeCreate", u.UID, email, true, now)
			c["iss"] = "https://securetoken.google.com/another-project"
			return unsignedJWT(c)
		}, http.StatusUnauthorized},
		{"an expired event", func() string {
			return unsignedJWT(blockingEvent(s.URL, "beforeCreate", u.UID, email, true, now.Add(-time.Hour)))
		}, http.StatusUnauthorized},
		{"an event for another endpoint", func() string {
			return unsignedJWT(blockingEvent(s.URL, "beforeSignIn", u.UID, email, true, now))
		}, http.StatusUnauthorized},
		{"a subject other than the user", func() string {
			c := blockingEvent(s.URL, "beforeCreate", u.UID, email, true, now)
			c["sub"] = testenv.UniqueID("uid")
			return unsignedJWT(c)
		}, http.StatusUnauthorized},
		{"a body without a token", func() string { return "" }, http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			if st, body := postBlocking(t, s, "beforeCreate", c.jwt()); st != c.status || !strings.Contains(body, `"error"`) {
				t.Errorf("HTTP %d %s, want %d with an error object", st, body, c.status)
			}
		})
	}
	t.Run("forged events accept nothing", func(t *testing.T) {
		forged := freshEmail("forged")
		s.mustInvite(t, owner.IDToken, tenantID, forged, "ADMIN")
		unverified := emulators(t).NewUser(t, testenv.UserOptions{Email: forged})
		someoneElse := verifiedUser(t, "")
		nobody := testenv.UniqueID("uid")
		for _, f := range []struct {
			name, event, uid, email string
			status                  int
		}{
			{"a user the Auth emulator does not have", "beforeSignIn", nobody, forged, http.StatusUnauthorized},
			{"a beforeCreate before the user exists (beforeSignIn acts)", "beforeCreate", nobody, forged, http.StatusOK},
			{"another user's address", "beforeSignIn", someoneElse.UID, forged, http.StatusUnauthorized},
			{"a verified flag the user does not have", "beforeSignIn", unverified.UID, forged, http.StatusOK},
		} {
			st, body := postBlocking(t, s, f.event, unsignedJWT(blockingEvent(s.URL, f.event, f.uid, f.email, true, now)))
			if st != f.status {
				t.Errorf("%s: HTTP %d %s, want %d", f.name, st, body, f.status)
			}
			if r := memberRole(t, tenantID, f.uid); r != "" {
				t.Errorf("%s: joined as %s", f.name, r)
			}
		}
		if _, pending := counters(t, tenantID); pending != 1 {
			t.Errorf("pendingInvitations %d, want the forged address's invitation still pending", pending)
		}
	})
}

// The lazy path: no trigger ran, and the user's first request makes them a member.
func TestSignupOnFirstRequest(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 10, "planId": "pro"})

	t.Run("a verified invitee's first request", func(t *testing.T) {
		email := freshEmail("lazy")
		s.mustInvite(t, owner.IDToken, tenantID, email, "MANAGER")
		u := verifiedUser(t, email) // created with the Admin SDK: no blocking function runs
		if r := memberRole(t, tenantID, u.UID); r != "" {
			t.Fatalf("already a %s before any request", r)
		}
		if r := roleIn(t, s, u.IDToken, tenantID); r != "MANAGER" {
			t.Fatalf("first request sees role %q, want MANAGER", r)
		}
		seats, _ := counters(t, tenantID)
		for range 3 {
			if r := roleIn(t, s, u.IDToken, tenantID); r != "MANAGER" {
				t.Fatalf("role %q", r)
			}
		}
		if after, _ := counters(t, tenantID); after != seats {
			t.Errorf("seatsUsed %d -> %d on later requests, want unchanged", seats, after)
		}
	})
	t.Run("an unverified invitee joins once verified", func(t *testing.T) {
		email := freshEmail("later")
		s.mustInvite(t, owner.IDToken, tenantID, email, "VIEWER")
		u := emulators(t).NewUser(t, testenv.UserOptions{Email: email})
		if r := roleIn(t, s, u.IDToken, tenantID); r != "" {
			t.Fatalf("an unverified address joined as %s", r)
		}
		if _, err := authAdmin(t).UpdateUser(context.Background(), u.UID, (&fbauth.UserToUpdate{}).EmailVerified(true)); err != nil {
			t.Fatal(err)
		}
		token := emulators(t).SignIn(t, u.Email, u.Password)
		if r := roleIn(t, s, token, tenantID); r != "VIEWER" {
			t.Fatalf("after verification: role %q, want VIEWER", r)
		}
	})
}
