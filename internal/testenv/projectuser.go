package testenv

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// NewProjectUser is NewUser for the Auth emulator's project e.Project, which may be an
// IsolatedProject's: the emulator keeps users per project, but signs in with an API key only
// for its default project, so the ID token is minted here as the emulator mints its own (unsigned,
// alg "none", issuer and audience the project). A server of that project, with
// FIREBASE_AUTH_EMULATOR_HOST set, takes it as the emulator's after asking the emulator about
// the user, so the user must and does exist there. The user is deleted when the test ends.
func (e Env) NewProjectUser(t testing.TB, opts UserOptions) User {
	t.Helper()
	u := User{Email: opts.Email, Password: randomString(24)}
	if u.Email == "" {
		u.Email = UniqueID("u-") + "@example.test"
	}
	base := "http://" + e.AuthHost + "/identitytoolkit.googleapis.com/v1/projects/" + url.PathEscape(e.Project) + "/accounts"
	status, body := e.do(t, http.MethodPost, base, "owner", map[string]any{
		"email": u.Email, "password": u.Password, "emailVerified": opts.EmailVerified,
	})
	var created struct {
		LocalID string `json:"localId"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &created) != nil || created.LocalID == "" {
		t.Fatalf("testenv: create user %s in project %s: HTTP %d: %s", u.Email, e.Project, status, body)
	}
	u.UID = created.LocalID
	t.Cleanup(func() { e.do(t, http.MethodPost, base+":delete", "owner", map[string]any{"localId": u.UID}) })
	if len(opts.Claims) > 0 {
		attrs, _ := json.Marshal(opts.Claims)
		if status, body := e.do(t, http.MethodPost, base+":update", "owner", map[string]any{
			"localId": u.UID, "customAttributes": string(attrs),
		}); status != http.StatusOK {
			t.Fatalf("testenv: set custom claims of %s: HTTP %d: %s", u.UID, status, body)
		}
	}
	u.IDToken = emulatorToken(e.Project, u, opts, time.Now())
	return u
}

// emulatorToken is the unsigned ID token the Auth emulator would issue to u in project.
func emulatorToken(project string, u User, opts UserOptions, now time.Time) string {
	claims := map[string]any{
		"email": u.Email, "email_verified": opts.EmailVerified, "auth_time": now.Unix(), "user_id": u.UID,
		"firebase": map[string]any{"identities": map[string]any{"email": []string{u.Email}}, "sign_in_provider": "password"},
		"iat":      now.Unix(), "exp": now.Add(time.Hour).Unix(), "aud": project,
		"iss": "https://securetoken.google.com/" + project, "sub": u.UID,
	}
	maps.Copy(claims, opts.Claims)
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err) // maps of JSON values always marshal
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}
