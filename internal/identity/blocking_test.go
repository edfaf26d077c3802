package identity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/testenv"
)

type fakeSignup struct{ calls atomic.Int32 }

func (f *fakeSignup) OnSignup(context.Context, members.User) (members.SignupResult, error) {
	f.calls.Add(1)
	return members.SignupResult{}, nil
}

func (f *fakeSignup) SignupNeeded(context.Context, members.User) (bool, error) { return true, nil }

const (
	prodProject = "prod-project"
	publicURL   = "https://api.example.com"
)

// event is a beforeCreate event's claims as Identity Platform signs them for the function at aud.
func event(aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": "https://securetoken.google.com/" + prodProject, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "event_type": "beforeCreate", "sub": "u1",
		"user_record": map[string]any{"uid": "u1", "email": "ada@example.com", "email_verified": true},
	}
}

func with(c map[string]any, k string, v any) map[string]any { c[k] = v; return c }

func TestProductionVerification(t *testing.T) {
	google := testenv.NewIssuer(t, prodProject)
	attacker := testenv.NewIssuer(t, prodProject)
	attacker.KeyID = google.KeyID
	stranger := testenv.NewIssuer(t, prodProject)
	now := time.Now()
	aud := publicURL + "/auth/beforeCreate"
	b := NewBlocking(BlockingConfig{Project: prodProject, PublicURL: publicURL + "/",
		Keys: &GoogleKeys{URL: google.URL}, Now: func() time.Time { return now }}, &fakeSignup{})

	none := func(c map[string]any) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(c)).SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	for _, c := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"signed by Google for this function's URL", google.Sign(t, event(aud, now)), true},
		{"signed by Google for the project id, as every ID token is", google.Sign(t, event(prodProject, now)), false},
		{"signed by Google for the other function", google.Sign(t, event(publicURL+"/auth/beforeSignIn", now)), false},
		{"another audience", google.Sign(t, event("https://evil.example/auth/beforeCreate", now)), false},
		{"signed by someone else with Google's key id", attacker.Sign(t, event(aud, now)), false},
		{"an unknown key id", stranger.Sign(t, event(aud, now)), false},
		{"unsigned (the emulator's form)", none(event(aud, now)), false},
		{"expired", google.Sign(t, event(aud, now.Add(-time.Hour))), false},
		{"a subject other than the user_record", google.Sign(t, with(event(aud, now), "sub", "u2")), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := b.Verify(context.Background(), c.token, BeforeCreate)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && (got.UserRecord.UID != "u1" || !got.UserRecord.EmailVerified) {
				t.Errorf("claims %+v", got)
			}
		})
	}
	// One fetch for the known key, at most one more for the unknown one (rate limited).
	if n := google.Fetches(); n > 2 {
		t.Errorf("%d certificate fetches, want at most 2 (cached per max-age)", n)
	}

	t.Run("without TENANTRY_PUBLIC_URL nothing verifies", func(t *testing.T) {
		b := NewBlocking(BlockingConfig{Project: prodProject, Keys: &GoogleKeys{URL: google.URL}, Now: func() time.Time { return now }}, &fakeSignup{})
		for _, a := range []string{aud, prodProject, "/auth/beforeCreate"} {
			if _, err := b.Verify(context.Background(), google.Sign(t, event(a, now)), BeforeCreate); err == nil {
				t.Errorf("audience %q accepted with no public URL configured", a)
			}
		}
	})
}

func TestHandlerActsOnlyOnVerifiedEvents(t *testing.T) {
	google := testenv.NewIssuer(t, prodProject)
	now := time.Now()
	aud := publicURL + "/auth/beforeCreate"
	post := func(b *Blocking, token string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		body := `{"data":{"jwt":"` + token + `"}}`
		b.Handler(BeforeCreate).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/auth/beforeCreate", strings.NewReader(body)))
		return rec
	}

	fs := &fakeSignup{}
	b := NewBlocking(BlockingConfig{Project: prodProject, PublicURL: publicURL, Keys: &GoogleKeys{URL: google.URL}, Now: func() time.Time { return now }}, fs)
	if rec := post(b, google.Sign(t, event(aud, now))); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" || fs.calls.Load() != 1 {
		t.Errorf("verified: HTTP %d %s, %d signups", rec.Code, rec.Body, fs.calls.Load())
	}
	attacker := testenv.NewIssuer(t, prodProject)
	attacker.KeyID = google.KeyID
	if rec := post(b, attacker.Sign(t, event(aud, now))); rec.Code != http.StatusUnauthorized || fs.calls.Load() != 1 {
		t.Errorf("forged: HTTP %d %s, %d signups", rec.Code, rec.Body, fs.calls.Load())
	}
	if rec := post(b, google.Sign(t, event(prodProject, now))); rec.Code != http.StatusUnauthorized || fs.calls.Load() != 1 {
		t.Errorf("addressed to the project, not the function: HTTP %d %s, %d signups", rec.Code, rec.Body, fs.calls.Load())
	}

	// Google's keys unreachable: the signup goes on (200 {}), and nothing is done for the event.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer down.Close()
	fs2 := &fakeSignup{}
	b2 := NewBlocking(BlockingConfig{Project: prodProject, PublicURL: publicURL, Keys: &GoogleKeys{URL: down.URL}, Now: func() time.Time { return now }}, fs2)
	if rec := post(b2, google.Sign(t, event(aud, now))); rec.Code != 200 || fs2.calls.Load() != 0 {
		t.Errorf("keys down: HTTP %d %s, %d signups, want 200 and none", rec.Code, rec.Body, fs2.calls.Load())
	}
}
