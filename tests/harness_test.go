// Package tests holds Tenantry's black-box API tests: each test starts the whole HTTP surface
// (internal/app) on 127.0.0.1 against the local Firestore and Auth emulators and talks to it as
// the SPA does, over HTTP with Firebase ID tokens, then checks Firestore with its own admin client.
//
// Run with the stack up: eval "$(scripts/stack.sh env)" && go test -count=1 ./tests/
//
// Every test uses its own users, idempotency keys and subdomains (uniqueID), so the tests run in
// parallel and never clear the emulators.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	fbauth "firebase.google.com/go/v4/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
)

// contractCodes is the contract's closed set of extensions.code values.
var contractCodes = map[string]bool{
	"UNAUTHENTICATED": true, "FORBIDDEN": true, "NOT_FOUND": true, "BAD_USER_INPUT": true,
	"IDEMPOTENCY_KEY_REUSED": true, "SUBDOMAIN_TAKEN": true, "TENANT_READ_ONLY": true,
	"TENANT_SUSPENDED": true, "SEAT_LIMIT_REACHED": true, "INVITATION_LIMIT_REACHED": true,
	"INVALID_TRANSITION": true, "RATE_LIMITED": true, "INTERNAL": true, "DOMAIN_TAKEN": true,
}

// ---------------------------------------------------------------------------------------------
// The app under test
// ---------------------------------------------------------------------------------------------

// testServer is one running app behind httptest.NewServer (which listens on 127.0.0.1).
type testServer struct {
	URL string
	App *app.App
}

var (
	sharedSrv lazyServer // the default configuration

	closersMu sync.Mutex
	closers   []func()
)

// lazyServer is an app started on first use and shared by the package's tests until TestMain
// ends.
type lazyServer struct {
	once sync.Once
	srv  *testServer
	err  error
}

// get starts the app with cfg once (later calls get the same one).
func (l *lazyServer) get(cfg config.Config) (*testServer, error) {
	l.once.Do(func() {
		var stop func()
		l.srv, stop, l.err = startServer(cfg, app.Options{})
		if l.err == nil {
			closersMu.Lock()
			closers = append(closers, stop)
			closersMu.Unlock()
		}
	})
	return l.srv, l.err
}

func TestMain(m *testing.M) {
	code := m.Run()
	closersMu.Lock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	closersMu.Unlock()
	os.Exit(code)
}

var (
	emulatorsMu sync.Mutex
	emulatorsOK *testenv.Env
)

// emulators is testenv.Require, probed once per package run: it fails (never skips) the test
// when the emulators are not configured or do not answer.
func emulators(t testing.TB) testenv.Env {
	t.Helper()
	emulatorsMu.Lock()
	defer emulatorsMu.Unlock()
	if emulatorsOK == nil {
		env := testenv.Require(t)
		emulatorsOK = &env
	}
	return *emulatorsOK
}

// testConfig is the process configuration (the emulator variables from scripts/stack.sh env),
// refusing to run against anything but the emulators.
func testConfig(t testing.TB) config.Config {
	t.Helper()
	emulators(t)
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if cfg.FirestoreEmulatorHost == "" || cfg.AuthEmulatorHost == "" {
		t.Fatalf("config.Load(nil) did not pick up the emulator variables: %+v", cfg)
	}
	return cfg
}

// testLogger discards the app's logs unless TENANTRY_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TENANTRY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startServer(cfg config.Config, opts app.Options) (*testServer, func(), error) {
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("app.New: %w", err)
	}
	hs := httptest.NewServer(a.Handler())
	stop := func() {
		hs.Close()
		_ = a.Close()
	}
	return &testServer{URL: hs.URL, App: a}, stop, nil
}

// newServer starts an app of its own for one test, with mutate applied to the process config.
func newServer(t testing.TB, mutate func(*config.Config), opts app.Options) *testServer {
	t.Helper()
	cfg := testConfig(t)
	if mutate != nil {
		mutate(&cfg)
	}
	s, stop, err := startServer(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// shared is the app most tests use, with the default configuration; it lives for the package.
func shared(t testing.TB) *testServer {
	t.Helper()
	s, err := sharedSrv.get(testConfig(t))
	if err != nil {
		t.Fatalf("start shared app: %v", err)
	}
	return s
}

// ---------------------------------------------------------------------------------------------
// GraphQL client
// ---------------------------------------------------------------------------------------------

// gqlErr is one error of an answer (testenv's GraphQL client decodes them).
type gqlErr = testenv.GraphQLError

var httpClient = testenv.HTTPClient

// do sends one HTTP request to the server and returns the response and its whole body.
func (s *testServer) do(t testing.TB, method, path string, header http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// graphql is the server's GraphQL client.
func (s *testServer) graphql() testenv.GraphQL { return testenv.GraphQL{URL: s.URL} }

// post sends a raw body to /graphql without touching t, so goroutines may call it.
func (s *testServer) post(token string, body []byte) (testenv.GraphQLAnswer, error) {
	return contractAnswer(s.graphql().Send(token, nil, bytes.NewReader(body)))
}

// call sends one GraphQL operation without touching t, so goroutines may call it.
func (s *testServer) call(token, query string, vars map[string]any) (testenv.GraphQLAnswer, error) {
	return contractAnswer(s.graphql().Call(token, query, vars))
}

// contractAnswer passes on a GraphQL answer, with an error when one of its errors lacks a
// contract code or it is a 5xx.
func contractAnswer(r testenv.GraphQLAnswer, err error) (testenv.GraphQLAnswer, error) {
	if err != nil {
		return r, err
	}
	for _, e := range r.Errors {
		if !contractCodes[e.Code()] {
			return r, fmt.Errorf("error without a contract code: %+v", e)
		}
	}
	if r.Status >= 500 {
		return r, fmt.Errorf("HTTP %d: %.500s", r.Status, r.Body)
	}
	return r, nil
}

// postRaw posts a raw body to /graphql and decodes the GraphQL-shaped answer. Every error must
// carry a contract code, and no answer may be a 5xx.
func (s *testServer) postRaw(t testing.TB, token string, body []byte) (int, json.RawMessage, []gqlErr) {
	t.Helper()
	r, err := s.post(token, body)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	return r.Status, r.Data, r.Errors
}

// gql sends one GraphQL operation; token "" means anonymous. Its answer is checked as postRaw's.
func (s *testServer) gql(t testing.TB, token, query string, vars map[string]any) (int, json.RawMessage, []gqlErr) {
	t.Helper()
	r, err := s.call(token, query, vars)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	return r.Status, r.Data, r.Errors
}

// gql sends one GraphQL operation to the shared app.
func gql(t testing.TB, token, query string, vars map[string]any) (int, json.RawMessage, []gqlErr) {
	t.Helper()
	return shared(t).gql(t, token, query, vars)
}

// mustData fails the test when the answer has errors, and decodes data into dst.
func mustData(t testing.TB, status int, data json.RawMessage, errs []gqlErr, dst any) {
	t.Helper()
	if len(errs) > 0 || status != http.StatusOK {
		t.Fatalf("want data, got HTTP %d errors %+v data %s", status, errs, data)
	}
	if err := json.Unmarshal(data, dst); err != nil {
		t.Fatalf("decode data %s: %v", data, err)
	}
}

// wantCode checks that the answer is exactly one error with that code (and field, if not "").
func wantCode(t testing.TB, errs []gqlErr, code, field string) gqlErr {
	t.Helper()
	if len(errs) != 1 {
		t.Fatalf("want one %s error, got %d: %+v", code, len(errs), errs)
	}
	e := errs[0]
	if e.Code() != code {
		t.Fatalf("want code %s, got %q (message %q, extensions %v)", code, e.Code(), e.Message, e.Extensions)
	}
	if field != "" && e.Field() != field {
		t.Fatalf("want extensions.field %q, got %q (extensions %v)", field, e.Field(), e.Extensions)
	}
	if e.Message == "" {
		t.Errorf("%s error without a message", code)
	}
	return e
}

// ---------------------------------------------------------------------------------------------
// Provisioning through the API
// ---------------------------------------------------------------------------------------------

const tenantFields = `id name subdomain status plan { id name seatCap trialDays } seatCap seatsUsed
	pendingInvitations trialEndsAt source createdAt access { canRead canWrite reason }`

const provisionMutation = `mutation Provision($input: ProvisionTenantInput!) {
	provisionTenant(input: $input) { replayed tenant { ` + tenantFields + ` } }
}`

type gqlTenant struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Subdomain *string `json:"subdomain"`
	Status    string  `json:"status"`
	Plan      struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		SeatCap   int    `json:"seatCap"`
		TrialDays int    `json:"trialDays"`
	} `json:"plan"`
	SeatCap            int        `json:"seatCap"`
	SeatsUsed          int        `json:"seatsUsed"`
	PendingInvitations int        `json:"pendingInvitations"`
	TrialEndsAt        *time.Time `json:"trialEndsAt"`
	Source             string     `json:"source"`
	CreatedAt          time.Time  `json:"createdAt"`
	Access             struct {
		CanRead  bool    `json:"canRead"`
		CanWrite bool    `json:"canWrite"`
		Reason   *string `json:"reason"`
	} `json:"access"`
}

type provisionPayload struct {
	Replayed bool      `json:"replayed"`
	Tenant   gqlTenant `json:"tenant"`
}

// provisionInput builds the mutation's input; empty optional fields are left out.
func provisionInput(key, name, subdomain, planID string) map[string]any {
	in := map[string]any{"idempotencyKey": key, "organizationName": name}
	if subdomain != "" {
		in["subdomain"] = subdomain
	}
	if planID != "" {
		in["planId"] = planID
	}
	return in
}

// tryField sends one operation and decodes its root field, without touching t, so goroutines may
// call it: the field's value (nil when the answer has errors), the GraphQL errors, or a transport
// or decoding error.
func tryField[T any](s *testServer, token, query, field string, vars map[string]any) (*T, []gqlErr, error) {
	r, err := s.call(token, query, vars)
	if err != nil {
		return nil, nil, err
	}
	return testenv.DecodeField[T](r, field)
}

// tryProvision calls provisionTenant without touching t, so goroutines may call it.
func (s *testServer) tryProvision(token string, input map[string]any) (*provisionPayload, []gqlErr, error) {
	return tryField[provisionPayload](s, token, provisionMutation, "provisionTenant", map[string]any{"input": input})
}

// provisionAnswer is the outcome of one of several concurrent provisionTenant calls.
type provisionAnswer struct {
	p    *provisionPayload
	errs []gqlErr
	err  error
}

// provisionAtOnce sends n provisionTenant calls released at the same moment, the i-th with the
// token and input call(i) gives, and returns their answers in call order.
func (s *testServer) provisionAtOnce(n int, call func(i int) (token string, input map[string]any)) []provisionAnswer {
	answers := make([]provisionAnswer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		token, input := call(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			p, errs, err := s.tryProvision(token, input)
			answers[i] = provisionAnswer{p, errs, err}
		}()
	}
	close(start)
	wg.Wait()
	return answers
}

// provision calls provisionTenant and returns the payload (nil on errors) and the errors.
func (s *testServer) provision(t testing.TB, token string, input map[string]any) (*provisionPayload, []gqlErr) {
	t.Helper()
	p, errs, err := s.tryProvision(token, input)
	if err != nil {
		t.Fatalf("provisionTenant: %v", err)
	}
	return p, errs
}

// mustProvision provisions and fails the test on any error.
func (s *testServer) mustProvision(t testing.TB, token string, input map[string]any) provisionPayload {
	t.Helper()
	p, errs := s.provision(t, token, input)
	if p == nil {
		t.Fatalf("provisionTenant(%v): %+v", input, errs)
	}
	if p.Tenant.ID == "" {
		t.Fatalf("provisionTenant(%v): empty tenant id", input)
	}
	return *p
}

// ---------------------------------------------------------------------------------------------
// Unique names and users
// ---------------------------------------------------------------------------------------------

// uniqueSubdomain returns a fresh valid subdomain (lowercase letters and digits after "t-").
func uniqueSubdomain() string { return testenv.UniqueID("t-") }

// uniqueKey returns a fresh idempotency key.
func uniqueKey() string { return testenv.UniqueID("key-") }

// newUser creates a fresh, enabled user in the Auth emulator with an ID token (deleted when the
// test ends).
func newUser(t testing.TB) testenv.User {
	t.Helper()
	return emulators(t).NewUser(t, testenv.UserOptions{})
}

// authAdmin is a Firebase Admin Auth client talking to the emulator.
func authAdmin(t testing.TB) *fbauth.Client {
	t.Helper()
	return emulators(t).Auth(t)
}

// ---------------------------------------------------------------------------------------------
// Firestore checks (own admin client, independent of the app under test)
// ---------------------------------------------------------------------------------------------

var (
	fsOnce sync.Once
	fsCli  *firestore.Client
	fsErr  error
)

func fs(t testing.TB) *firestore.Client {
	t.Helper()
	env := emulators(t)
	fsOnce.Do(func() {
		fsCli, fsErr = firestore.NewClient(context.Background(), env.Project)
		if fsErr == nil {
			closersMu.Lock()
			closers = append(closers, func() { _ = fsCli.Close() })
			closersMu.Unlock()
		}
	})
	if fsErr != nil {
		t.Fatalf("firestore client: %v", fsErr)
	}
	return fsCli
}

func fsCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// doc reads a document by its slash-separated path; nil when it does not exist.
func doc(t testing.TB, path string) map[string]any {
	t.Helper()
	snap, err := fs(t).Doc(path).Get(fsCtx(t))
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return snap.Data()
}

func docExists(t testing.TB, path string) bool {
	t.Helper()
	return doc(t, path) != nil
}

// mustDoc reads a document that must exist.
func mustDoc(t testing.TB, path string) map[string]any {
	t.Helper()
	d := doc(t, path)
	if d == nil {
		t.Fatalf("document %s does not exist", path)
	}
	return d
}

func assertAbsent(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if docExists(t, p) {
			t.Errorf("document %s exists, want none", p)
		}
	}
}

// countWhere counts the documents of a collection (or collection group path) with field == value.
func countWhere(t testing.TB, collection, field string, value any) int {
	t.Helper()
	snaps, err := fs(t).Collection(collection).Where(field, "==", value).Documents(fsCtx(t)).GetAll()
	if err != nil {
		t.Fatalf("query %s where %s == %v: %v", collection, field, value, err)
	}
	return len(snaps)
}

// tenantsCreatedBy lists the ids of tenants whose staff record (tenants/{id}/private/staff) says
// uid created them.
func tenantsCreatedBy(t testing.TB, uid string) []string {
	t.Helper()
	snaps, err := fs(t).CollectionGroup("private").Where("createdBy", "==", uid).Documents(fsCtx(t)).GetAll()
	if err != nil {
		t.Fatalf("query staff records by createdBy: %v", err)
	}
	ids := make([]string, 0, len(snaps))
	for _, s := range snaps {
		ids = append(ids, s.Ref.Parent.Parent.ID)
	}
	return ids
}

// countDocs counts all documents in a collection by path (e.g. tenants/X/members).
func countDocs(t testing.TB, collectionPath string) int {
	t.Helper()
	snaps, err := fs(t).Collection(collectionPath).Documents(fsCtx(t)).GetAll()
	if err != nil {
		t.Fatalf("list %s: %v", collectionPath, err)
	}
	return len(snaps)
}

// userTenantIDs is users/{uid}.tenantIds, nil when the document does not exist.
func userTenantIDs(t testing.TB, uid string) []string {
	t.Helper()
	d := doc(t, "users/"+uid)
	if d == nil {
		return nil
	}
	raw, _ := d["tenantIds"].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// nothingWrittenFor checks that a user whose calls all failed owns no tenant and no user link.
func nothingWrittenFor(t testing.TB, uid string) {
	t.Helper()
	if ids := tenantsCreatedBy(t, uid); len(ids) != 0 {
		t.Errorf("tenants created by %s: %v, want none", uid, ids)
	}
	if ids := userTenantIDs(t, uid); len(ids) != 0 {
		t.Errorf("users/%s.tenantIds = %v, want none", uid, ids)
	}
}
