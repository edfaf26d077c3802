package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantry/tenantry/internal/members"
)

type fakeSignup struct{ calls atomic.Int32 }

func (f *fakeSignup) OnSignup(context.Context, members.User) (members.SignupResult, error) {
	f.calls.Add(1)
	return members.SignupResult{}, nil
}

func (f *fakeSignup) SignupNeeded(context.Context, members.User) (bool, error) { return true, nil }

// googleCerts serves {kid: PEM certificate} like Google's endpoint, with a Cache-Control max-age.
func googleCerts(t *testing.T, kid string, key *rsa.PrivateKey) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "securetoken"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{kid: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=22000, must-revalidate, no-transform")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func claims(aud string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "https://securetoken.google.com/prod-project", "aud": aud, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "event_type": "beforeCreate",
		"user_record": map[string]any{"uid": "u1", "email": "ada@example.com", "email_verified": true},
	}
}

func sign(t *testing.T, key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProductionVerification(t *testing.T) {
	google, _ := rsa.GenerateKey(rand.Reader, 2048)
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	certs, hits := googleCerts(t, "k1", google)
	now := time.Now()
	aud := "https://api.example.com/auth/beforeCreate"
	b := NewBlocking(BlockingConfig{
		Project: "prod-project", Audiences: []string{"prod-project", aud},
		Keys: &GoogleKeys{URL: certs.URL}, Now: func() time.Time { return now },
	}, &fakeSignup{})

	none := func(c jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	for _, c := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"signed by Google for our URL", sign(t, google, "k1", claims(aud, now)), true},
		{"signed by Google for the project", sign(t, google, "k1", claims("prod-project", now)), true},
		{"another audience", sign(t, google, "k1", claims("https://evil.example/auth/beforeCreate", now)), false},
		{"signed by someone else with Google's key id", sign(t, attacker, "k1", claims(aud, now)), false},
		{"an unknown key id", sign(t, attacker, "k2", claims(aud, now)), false},
		{"unsigned (the emulator's form)", none(claims(aud, now)), false},
		{"expired", sign(t, google, "k1", claims(aud, now.Add(-time.Hour))), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := b.Verify(context.Background(), c.token, "/auth/beforeCreate")
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && (got.UserRecord.UID != "u1" || !got.UserRecord.EmailVerified) {
				t.Errorf("claims %+v", got)
			}
		})
	}
	// One fetch for the known key, at most one more for the unknown one (rate limited).
	if n := hits.Load(); n > 2 {
		t.Errorf("%d certificate fetches, want at most 2 (cached per max-age)", n)
	}
}

func TestHandlerActsOnlyOnVerifiedEvents(t *testing.T) {
	google, _ := rsa.GenerateKey(rand.Reader, 2048)
	certs, _ := googleCerts(t, "k1", google)
	now := time.Now()
	aud := "https://api.example.com/auth/beforeCreate"
	post := func(b *Blocking, token string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		body := `{"data":{"jwt":"` + token + `"}}`
		b.Handler(BeforeCreate).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/auth/beforeCreate", strings.NewReader(body)))
		return rec
	}

	fs := &fakeSignup{}
	b := NewBlocking(BlockingConfig{Project: "prod-project", Audiences: []string{aud}, Keys: &GoogleKeys{URL: certs.URL}, Now: func() time.Time { return now }}, fs)
	if rec := post(b, sign(t, google, "k1", claims(aud, now))); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" || fs.calls.Load() != 1 {
		t.Errorf("verified: HTTP %d %s, %d signups", rec.Code, rec.Body, fs.calls.Load())
	}
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	if rec := post(b, sign(t, attacker, "k1", claims(aud, now))); rec.Code != http.StatusUnauthorized || fs.calls.Load() != 1 {
		t.Errorf("forged: HTTP %d %s, %d signups", rec.Code, rec.Body, fs.calls.Load())
	}

	// Google's keys unreachable: the signup goes on (200 {}), and nothing is done for the event.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer down.Close()
	fs2 := &fakeSignup{}
	b2 := NewBlocking(BlockingConfig{Project: "prod-project", Audiences: []string{aud}, Keys: &GoogleKeys{URL: down.URL}, Now: func() time.Time { return now }}, fs2)
	if rec := post(b2, sign(t, google, "k1", claims(aud, now))); rec.Code != 200 || fs2.calls.Load() != 0 {
		t.Errorf("keys down: HTTP %d %s, %d signups, want 200 and none", rec.Code, rec.Body, fs2.calls.Load())
	}
}
