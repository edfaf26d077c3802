// Package testenv connects tests to the local emulators (Firestore on 127.0.0.1:8181, Firebase Auth
// on 127.0.0.1:9099, project demo-tenantry) that scripts/stack.sh starts.
//
// Tests that need them call Require first; it fails the test, never skips it, when the emulators are
// not configured or not answering, so a CI run without them cannot pass by skipping:
//
//	func TestSomething(t *testing.T) {
//		env := testenv.Require(t)
//		fs := env.Firestore(t)
//		owner := env.NewUser(t, testenv.UserOptions{EmailVerified: true})
//		...
//	}
//
// Tests call the API with the GraphQL client (GraphQL), write tenants and memberships directly with
// SeedTenants (any other document with WriteDocs, a change with UpdateDoc), and read or write as a
// signed-in user through the emulator's REST API (FirestoreREST, TryFirestoreREST in goroutines).
//
// Every helper creates its own uniquely named data (UniqueID, random emails), so tests can run in
// parallel and against a long-lived emulator without clearing it. The exception is SetRules, which
// replaces the emulator's rules for everyone: keep rules-setting tests in one package and do not run
// them in parallel with each other.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/auth"
)

// DefaultProject is the project id of the local stack.
const DefaultProject = "demo-tenantry"

// fakeAPIKey is accepted by the Auth emulator for its client (identitytoolkit) endpoints.
const fakeAPIKey = "fake-api-key"

const howToStart = "start the local emulators: run `make test`, or `scripts/stack.sh up` and " +
	"`eval \"$(scripts/stack.sh env)\"` before `go test`"

// Env describes the running emulators.
type Env struct {
	Project       string // GOOGLE_CLOUD_PROJECT, default demo-tenantry
	FirestoreHost string // FIRESTORE_EMULATOR_HOST, host:port
	AuthHost      string // FIREBASE_AUTH_EMULATOR_HOST, host:port
}

// httpClient talks to the emulators' REST APIs.
var httpClient = &http.Client{Timeout: 15 * time.Second}

// Require returns the emulator environment, or fails the test (never skips it) when
// FIRESTORE_EMULATOR_HOST or FIREBASE_AUTH_EMULATOR_HOST is unset or its emulator does not answer
// within 2 seconds.
func Require(t testing.TB) Env {
	t.Helper()
	env := Env{
		Project:       os.Getenv("GOOGLE_CLOUD_PROJECT"),
		FirestoreHost: os.Getenv("FIRESTORE_EMULATOR_HOST"),
		AuthHost:      os.Getenv("FIREBASE_AUTH_EMULATOR_HOST"),
	}
	if env.Project == "" {
		env.Project = DefaultProject
	}
	for _, v := range []struct{ name, host string }{
		{"FIRESTORE_EMULATOR_HOST", env.FirestoreHost},
		{"FIREBASE_AUTH_EMULATOR_HOST", env.AuthHost},
	} {
		if v.host == "" {
			t.Fatalf("testenv: %s is not set; %s", v.name, howToStart)
		}
		if err := probe(v.host); err != nil {
			t.Fatalf("testenv: %s=%s does not answer (%v); %s", v.name, v.host, err, howToStart)
		}
	}
	return env
}

// probe checks that an HTTP server answers at host within 2 seconds (any status will do).
func probe(host string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// Firestore returns an admin client (it bypasses the security rules) for the emulator, closed when
// the test ends.
func (e Env) Firestore(t testing.TB) *firestore.Client {
	t.Helper()
	c, err := firestore.NewClient(context.Background(), e.Project)
	if err != nil {
		t.Fatalf("testenv: firestore.NewClient(%q): %v", e.Project, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var (
	authOnce    sync.Once
	authClient  *auth.Client
	authProject string
	authErr     error
)

// Auth returns the Admin SDK's Auth client for the emulator. The app and client are created once
// per process and shared (the client is safe for concurrent use).
func (e Env) Auth(t testing.TB) *auth.Client {
	t.Helper()
	authOnce.Do(func() {
		authProject = e.Project
		ctx := context.Background()
		app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: e.Project})
		if err != nil {
			authErr = fmt.Errorf("firebase.NewApp: %w", err)
			return
		}
		authClient, authErr = app.Auth(ctx)
	})
	if authErr != nil {
		t.Fatalf("testenv: auth client: %v", authErr)
	}
	if authProject != e.Project {
		t.Fatalf("testenv: auth client was created for project %q, not %q", authProject, e.Project)
	}
	return authClient
}

// UserOptions describes a user for NewUser. Zero values give an enabled, unverified user with a
// random email and no custom claims.
type UserOptions struct {
	Email         string // default u-<random>@example.test
	EmailVerified bool
	Disabled      bool           // the user is disabled after its ID token was issued
	Claims        map[string]any // custom claims, present in the ID token
}

// User is a user created in the Auth emulator with a fresh ID token.
type User struct {
	UID      string
	Email    string
	Password string
	IDToken  string
}

// NewUser creates a user in the Auth emulator through the Admin SDK, sets its custom claims, signs
// it in for an ID token and, if opts.Disabled, disables it afterwards (so the test holds a token of
// a disabled user). The user is deleted when the test ends.
func (e Env) NewUser(t testing.TB, opts UserOptions) User {
	t.Helper()
	ac := e.Auth(t)
	ctx := context.Background()
	u := User{Email: opts.Email, Password: randomString(24)}
	if u.Email == "" {
		u.Email = UniqueID("u-") + "@example.test"
	}
	rec, err := ac.CreateUser(ctx, (&auth.UserToCreate{}).
		Email(u.Email).
		Password(u.Password).
		EmailVerified(opts.EmailVerified))
	if err != nil {
		t.Fatalf("testenv: create user %s: %v", u.Email, err)
	}
	u.UID = rec.UID
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ac.DeleteUser(ctx, u.UID)
	})
	if len(opts.Claims) > 0 {
		if err := ac.SetCustomUserClaims(ctx, u.UID, opts.Claims); err != nil {
			t.Fatalf("testenv: set custom claims of %s: %v", u.UID, err)
		}
	}
	u.IDToken = e.SignIn(t, u.Email, u.Password)
	if opts.Disabled {
		if _, err := ac.UpdateUser(ctx, u.UID, (&auth.UserToUpdate{}).Disabled(true)); err != nil {
			t.Fatalf("testenv: disable user %s: %v", u.UID, err)
		}
	}
	return u
}

// SignIn signs in with email and password through the Auth emulator's REST API and returns a fresh
// ID token.
func (e Env) SignIn(t testing.TB, email, password string) string {
	t.Helper()
	endpoint := "http://" + e.AuthHost + "/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=" + fakeAPIKey
	status, body := e.do(t, http.MethodPost, endpoint, "", map[string]any{
		"email":             email,
		"password":          password,
		"returnSecureToken": true,
	})
	if status != http.StatusOK {
		t.Fatalf("testenv: sign in %s: HTTP %d: %s", email, status, body)
	}
	var resp struct {
		IDToken string `json:"idToken"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.IDToken == "" {
		t.Fatalf("testenv: sign in %s: no idToken in %s (%v)", email, body, err)
	}
	return resp.IDToken
}

// FirestoreREST calls the Firestore emulator's REST API at
// /v1/projects/<project>/databases/(default)/documents/<path> as the user whose ID token is given
// (no Authorization header when idToken is empty), so the emulator evaluates the security rules for
// that user. path may carry a query string; a path starting with ":" (":runQuery",
// ":batchGet", ":commit") addresses the documents root. body is sent as is when it is a []byte,
// json.RawMessage or string, JSON-encoded otherwise, and omitted when nil. It returns the HTTP
// status and the response body, and fails the test when no answer comes.
//
// A 409 ABORTED ("Transaction lock timeout": the emulator locks documents pessimistically, and
// other tests' transactions run against the same emulator) is retried up to five times, as the
// Firestore client SDKs retry it: tests check the rules' verdict, not the emulator's contention.
//
// Note that the Go server SDK sends "Bearer owner", which the emulator lets bypass the rules; rules
// tests must go through this REST call with real user tokens instead.
func (e Env) FirestoreREST(t testing.TB, method, path string, idToken string, body any) (status int, respBody []byte) {
	t.Helper()
	status, respBody, err := e.TryFirestoreREST(method, path, idToken, body)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return status, respBody
}

// firestoreAttempts bounds the retries of an ABORTED REST call.
const firestoreAttempts = 5

// TryFirestoreREST is FirestoreREST without a testing.T, so goroutines may call it: it returns
// an error when no answer comes instead of failing the test.
func (e Env) TryFirestoreREST(method, path string, idToken string, body any) (status int, respBody []byte, err error) {
	endpoint := e.documentsURL()
	switch {
	case path == "":
	case strings.HasPrefix(path, ":"):
		endpoint += path
	default:
		endpoint += "/" + strings.TrimPrefix(path, "/")
	}
	payload, err := encodeBody(body)
	if err != nil {
		return 0, nil, err
	}
	for attempt := 1; ; attempt++ {
		status, respBody, err = send(method, endpoint, idToken, payload)
		aborted := status == http.StatusConflict && bytes.Contains(respBody, []byte("ABORTED"))
		if err != nil || !aborted || attempt == firestoreAttempts {
			return status, respBody, err
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
}

func (e Env) documentsURL() string {
	return "http://" + e.FirestoreHost + "/v1/projects/" + url.PathEscape(e.Project) + "/databases/(default)/documents"
}

// SetRules replaces the security rules of the Firestore emulator, for every client, until the next
// SetRules or emulator restart.
func (e Env) SetRules(t testing.TB, rules string) {
	t.Helper()
	endpoint := "http://" + e.FirestoreHost + "/emulator/v1/projects/" + url.PathEscape(e.Project) + ":securityRules"
	body := map[string]any{"rules": map[string]any{"files": []map[string]any{{"content": rules}}}}
	status, resp := e.do(t, http.MethodPut, endpoint, "", body)
	if status != http.StatusOK {
		t.Fatalf("testenv: set rules: HTTP %d: %s", status, resp)
	}
}

// do sends one JSON request and returns the status and body; transport errors fail the test.
func (e Env) do(t testing.TB, method, endpoint, bearer string, body any) (int, []byte) {
	t.Helper()
	payload, err := encodeBody(body)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	status, data, err := send(method, endpoint, bearer, payload)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return status, data
}

// encodeBody is a request body as bytes: as is for []byte, json.RawMessage and string, JSON for
// anything else, nil for nil.
func encodeBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return nil, nil
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	case string:
		return []byte(b), nil
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request body: %w", err)
	}
	return data, nil
}

// send is one request with a JSON payload (none when nil) and the bearer token (none when
// empty); it returns the status and the whole body, or why there is no answer.
func send(method, endpoint, bearer string, payload []byte) (int, []byte, error) {
	var r io.Reader
	if payload != nil {
		r = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, endpoint, r)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, endpoint, err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, endpoint, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read body: %w", method, endpoint, err)
	}
	return resp.StatusCode, data, nil
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

// UniqueID returns prefix followed by 12 random lowercase letters and digits, for ids, emails and
// subdomains that never collide between tests or runs.
func UniqueID(prefix string) string {
	return prefix + randomString(12)
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
