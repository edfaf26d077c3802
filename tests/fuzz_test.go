package tests

// Fuzzers at the HTTP edges (issue 17, item 4): the GraphQL endpoint's request decoding and
// variables, and the Stripe webhook with payloads signed by the test secret. Each runs the real
// handler in process, on an app of its own in a Firestore project of its own, so that "nothing
// was written" is one question to the emulator: which collections exist.
//
// Seeds (f.Add and testdata/fuzz/<Fuzzer>/) run with every `go test`; `make fuzz` and
// scripts/test.sh run them with -fuzz as well.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/iterator"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
)

// fuzzTarget is one app for the whole fuzz run (each -fuzz worker builds its own), in an
// isolated project.
type fuzzTarget struct {
	srv     *testServer
	handler http.Handler
	before  []string // the collections the project had before the first input
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	f.Helper()
	iso := emulators(f).IsolatedProject(f)
	s := newServer(f, func(c *config.Config) { c.Project = iso.Project }, app.Options{})
	ft := &fuzzTarget{srv: s, handler: s.App.Handler()}
	ft.before = ft.collections(f)
	return ft
}

// collections lists the project's root collections, sorted.
func (ft *fuzzTarget) collections(t testing.TB) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []string
	it := ft.srv.App.Firestore().Collections(ctx)
	for {
		c, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatalf("list collections: %v", err)
		}
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

// wroteOnly fails t when a collection other than those allowed appeared since the start.
func (ft *fuzzTarget) wroteOnly(t *testing.T, allowed ...string) {
	t.Helper()
	for _, c := range ft.collections(t) {
		if !slices.Contains(ft.before, c) && !slices.Contains(allowed, c) {
			t.Fatalf("the input wrote to the collection %q", c)
		}
	}
}

// serve runs one request through the app's handler.
func (ft *fuzzTarget) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	ft.handler.ServeHTTP(rec, req)
	return rec
}

// internals are what an answer must never show a caller: Go panics and stacks, gRPC and
// Firestore errors, file paths.
var internals = []string{"goroutine ", "panic", ".go:", "rpc error", "firestore:", "projects/", "runtime error"}

// checkAnswer fails t on a 5xx or an answer that shows internals.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code >= 500 {
		t.Fatalf("HTTP %d: %.500s", rec.Code, body)
	}
	for _, s := range internals {
		if strings.Contains(body, s) {
			t.Fatalf("the answer shows internals (%q): %.500s", s, body)
		}
	}
}

// checkGraphQLAnswer is checkAnswer, plus: the body is a GraphQL answer whose every error has a
// contract code (what was written is checked against Firestore, by wroteOnly).
func checkGraphQLAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	checkAnswer(t, rec)
	var ans struct {
		Errors []testenv.GraphQLError `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		t.Fatalf("HTTP %d: the answer is not JSON (%v): %.500s", rec.Code, err, rec.Body.String())
	}
	for _, e := range ans.Errors {
		if !contractCodes[e.Code()] {
			t.Fatalf("an error without a contract code: %+v", e)
		}
	}
}

func graphqlRequest(body []byte, authorization string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	return req
}

// FuzzGraphQLBody: any body, with any Authorization header that is not a valid token, is
// answered with a coded GraphQL error or data, never a 5xx, a panic or internals, and writes
// nothing.
func FuzzGraphQLBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range []struct{ body, authorization string }{
		{`{"query":"{ me { user { id } } }"}`, ""},
		{`{"query":"mutation($in: ProvisionTenantInput!) { provisionTenant(input: $in) { tenant { id } } }","variables":{"in":{"idempotencyKey":"fuzz-key-0001","organizationName":"Fuzz"}}}`, ""},
		{`{"query":"mutation($in: ProvisionTenantInput!) { provisionTenant(input: $in) { tenant { id } } }","variables":{"in":{"idempotencyKey":"fuzz-key-0001","organizationName":"Fuzz"}}}`, "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
		{`{"query":"mutation { acceptInvitation(token: \"x\") { role } }"}`, "Bearer tnt_notatoken"},
		{`{"query":"query Q { __typename }","operationName":"Q","variables":null,"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`, ""},
		{`[{"query":"{ me { user { id } } }"}]`, ""},
		{`{"query":"{ tenant(id: \"../x\") { id members { user { id } } } }"}`, "Basic Zm9vOmJhcg=="},
		{`{"query":"query($n: Int!) { __typename }","variables":{"n":1e400}}`, ""},
		{`{"query":` + strings.Repeat(`"`, 3) + `}`, ""},
		{`{"query":"{` + strings.Repeat(`a{`, 40) + `"}`, ""},
	} {
		f.Add([]byte(s.body), s.authorization)
	}
	f.Fuzz(func(t *testing.T, body []byte, authorization string) {
		if strings.HasPrefix(authorization, "Bearer ey") && strings.Count(authorization, ".") == 2 && len(authorization) > 400 {
			// A well-formed JWT would send the emulator a user lookup per input; the token
			// checks have tests of their own, and no fuzzed token names a real user.
			authorization = "Bearer x"
		}
		rec := ft.serve(graphqlRequest(body, authorization))
		checkGraphQLAnswer(t, rec)
		ft.wroteOnly(t)
	})
}

// FuzzGraphQLVariables: a real operation with any variables (and operation names) is answered
// as FuzzGraphQLBody's are; with no valid token nothing is written.
func FuzzGraphQLVariables(f *testing.F) {
	ft := newFuzzTarget(f)
	const provision = `mutation P($in: ProvisionTenantInput!) { provisionTenant(input: $in) { replayed tenant { id } } }`
	const invite = `mutation I($in: InviteMemberInput!) { inviteMember(input: $in) { id } }`
	const routing = `query R($email: String!) { signupRouting(email: $email) { __typename } }`
	for _, s := range []struct{ query, vars, op string }{
		{provision, `{"in":{"idempotencyKey":"fuzz-key-0001","organizationName":"Fuzz","subdomain":"fuzz"}}`, "P"},
		{provision, `{"in":{"idempotencyKey":null,"organizationName":["a"],"subdomain":{"$gt":""}}}`, ""},
		{provision, `{"in":"\u0000"}`, "P"},
		{invite, `{"in":{"tenantId":"t","email":"a@example.test","role":"OWNER"}}`, "I"},
		{routing, `{"email":"a@b.c"}`, "R"},
		{routing, `{"email":12}`, "X"},
		{`query($id: ID!) { tenant(id: $id) { id } }`, `{"id":"` + strings.Repeat("a/", 200) + `"}`, ""},
	} {
		f.Add(s.query, []byte(s.vars), s.op)
	}
	f.Fuzz(func(t *testing.T, query string, vars []byte, op string) {
		req := map[string]any{"query": query}
		if json.Valid(vars) {
			req["variables"] = json.RawMessage(vars)
		} else {
			req["variables"] = string(vars)
		}
		if op != "" {
			req["operationName"] = op
		}
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("encode the request: %v", err) // a string, valid JSON or text: nothing it can refuse
		}
		rec := ft.serve(graphqlRequest(body, ""))
		checkGraphQLAnswer(t, rec)
		ft.wroteOnly(t)
	})
}

// FuzzStripeWebhook: any payload, signed with the test secret, is answered 200 or 400 (never a
// 5xx, a panic or internals); the project has no tenant, so every event is about an unknown one
// and writes nothing but the event's own record (stripeEvents, for operators).
func FuzzStripeWebhook(f *testing.F) {
	ft := newFuzzTarget(f)
	stripe := testenv.StripeMock(f)
	sub := func(typ, meta, customer string) string {
		return `{"id":"evt_fuzz1","object":"event","type":"` + typ + `","created":1767225600,"api_version":"` + testenv.StripeAPIVersion +
			`","data":{"object":{"id":"sub_1","object":"subscription","status":"active","customer":` + customer +
			`,"metadata":` + meta + `,"items":{"data":[{"price":{"id":"price_1"}}]},"current_period_end":1769904000}}}`
	}
	for _, s := range []string{
		sub("customer.subscription.updated", `{"tenant_id":"no-such-tenant","plan_id":"pro"}`, `"cus_1"`),
		sub("customer.subscription.deleted", `{}`, `{"id":"cus_2","object":"customer"}`),
		sub("customer.subscription.created", `{"tenant_id":"a/b/c"}`, `null`),
		sub("customer.subscription.trial_will_end", `{"tenant_id":"`+strings.Repeat("x", 1600)+`"}`, `"cus_3"`),
		`{"id":"evt_fuzz2","object":"event","type":"invoice.payment_failed","created":1767225600,"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1","subscription":"sub_1","amount_due":-1,"currency":"eur","subscription_details":{"metadata":{"tenant_id":"__x__"}}}}}`,
		`{"id":"evt_fuzz3","object":"event","type":"invoice.paid","created":1767225600,"data":{"object":[]}}`,
		`{"id":"evt_fuzz4","object":"event","type":"checkout.session.completed","created":1}`,
		`{"id":"","type":"","created":0}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", stripe.Sign(payload, time.Time{}))
		rec := ft.serve(req)
		checkAnswer(t, rec)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("HTTP %d, want 200 or 400: %.500s", rec.Code, rec.Body.String())
		}
		ft.wroteOnly(t, "stripeEvents")
	})
}
