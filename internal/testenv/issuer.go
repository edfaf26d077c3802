package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer stands in for Google's securetoken service in production-mode tests. It holds an RSA
// key, serves the key's certificate on 127.0.0.1 as Google serves its own (JSON {kid: PEM} with a
// Cache-Control max-age), and signs ID tokens and blocking-function event tokens with it (RS256).
// Point the server at it with app.Options.GoogleCertsURL, or identity.GoogleKeys.URL.
type Issuer struct {
	URL     string // the certificates endpoint
	KeyID   string // the kid of signed tokens; an attacker's Issuer may copy another's
	Project string // iss and aud of ID tokens

	key     *rsa.PrivateKey
	fetches atomic.Int32
}

// NewIssuer makes a key and serves its certificate until the test ends.
func NewIssuer(t testing.TB, project string) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "securetoken.system.gserviceaccount.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{KeyID: UniqueID("kid-"), Project: project, key: key}
	body, _ := json.Marshal(map[string]string{iss.KeyID: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		iss.fetches.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=22000, must-revalidate, no-transform")
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss
}

// Fetches counts the requests for the certificates.
func (i *Issuer) Fetches() int { return int(i.fetches.Load()) }

// Sign signs claims (RS256, with header kid KeyID).
func (i *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	tok.Header["kid"] = i.KeyID
	s, err := tok.SignedString(i.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// IDToken signs an ID token for u as Firebase Auth issues one right after a password sign-in:
// issuer and audience of the project, subject u.UID, auth_time and iat now, expiry in an hour,
// u's email, email_verified false. claims add to these or replace them; a nil value removes one.
func (i *Issuer) IDToken(t testing.TB, u User, claims map[string]any) string {
	t.Helper()
	now := time.Now().Unix()
	c := map[string]any{
		"iss": "https://securetoken.google.com/" + i.Project, "aud": i.Project, "sub": u.UID, "user_id": u.UID,
		"auth_time": now, "iat": now, "exp": now + 3600, "email": u.Email, "email_verified": false,
		"firebase": map[string]any{"sign_in_provider": "password", "identities": map[string]any{"email": []string{u.Email}}},
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return i.Sign(t, c)
}
