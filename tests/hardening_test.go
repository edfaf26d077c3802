package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
)

// wantHealthy checks the server still answers after an abusive request.
func wantHealthy(t *testing.T, s *testServer) {
	t.Helper()
	_, data, errs := s.gql(t, "", `{ plans { id } }`, nil)
	if len(errs) > 0 || !strings.Contains(string(data), "trial") {
		t.Errorf("server unhealthy afterwards: data %s errors %+v", data, errs)
	}
}

// A valid request padded past TENANTRY_MAX_BODY_BYTES is refused with 413 for its size alone: the
// padding is a variable the query ignores, and the same request at exactly the limit succeeds.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 2048
	s := newServer(t, func(c *config.Config) { c.MaxBodyBytes = limit }, app.Options{})
	u := newUser(t)
	padded := func(size int) []byte {
		body := func(n int) []byte {
			b, _ := json.Marshal(map[string]any{"query": `{ plans { id } }`, "variables": map[string]any{"padding": strings.Repeat("x", n)}})
			return b
		}
		return body(size - len(body(0)))
	}
	send := func(t *testing.T, body []byte, chunked bool) (int, testenv.GraphQLAnswer) {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // hides the length: sent chunked
		}
		r, err := s.graphql().Send(u.IDToken, nil, rd)
		if err != nil {
			t.Fatalf("no GraphQL answer: %v", err)
		}
		return r.Status, r
	}

	t.Run("at the limit", func(t *testing.T) {
		status, r := send(t, padded(limit), false)
		if status != http.StatusOK || len(r.Errors) != 0 || !strings.Contains(string(r.Data), "trial") {
			t.Fatalf("HTTP %d %+v %s: the padded request must be valid, or the cases below prove nothing", status, r.Errors, r.Data)
		}
	})
	for _, c := range []struct {
		name    string
		size    int
		chunked bool
	}{
		{"one byte over", limit + 1, false},
		{"10 MB", 10 << 20, false},
		{"10 MB chunked", 10 << 20, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, r := send(t, padded(c.size), c.chunked)
			if status != http.StatusRequestEntityTooLarge || len(r.Errors) != 1 || r.Errors[0].Code() != "BAD_USER_INPUT" {
				t.Errorf("HTTP %d %+v, want 413 with one BAD_USER_INPUT error", status, r.Errors)
			}
		})
	}
	wantHealthy(t, s)
}

func TestQueryDepthLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *config.Config) { c.MaxQueryDepth = 3 }, app.Options{})
	u := newUser(t)
	// The provisioning mutation itself is deeper than 3: provision on the shared app.
	shared(t).mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "Deep Org", "", ""))

	for _, c := range []struct{ name, query string }{
		{"nested", `{ me { memberships { tenant { members { user { id } } } } } }`},
		{"through a fragment", `query { ...F } fragment F on Query { me { memberships { tenant { members { user { id } } } } } }`},
		{"through an inline fragment", `{ me { memberships { ... on Membership { tenant { id } } } } }`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, data, errs := s.gql(t, u.IDToken, c.query, nil)
			wantCode(t, errs, "BAD_USER_INPUT", "")
			if len(data) != 0 && string(data) != "null" {
				t.Errorf("data = %s, want none (refused before execution)", data)
			}
		})
	}
	// Within the limit (3 levels) is fine.
	status, data, errs := s.gql(t, u.IDToken, `{ me { user { id } } }`, nil)
	var d struct {
		Me struct{ User struct{ ID string } } `json:"me"`
	}
	mustData(t, status, data, errs, &d)
	if d.Me.User.ID != u.UID {
		t.Errorf("me.user.id = %q, want %q", d.Me.User.ID, u.UID)
	}
}

func TestQueryComplexityLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("{")
	for i := range 400 {
		fmt.Fprintf(&b, " p%d: plans { id }", i)
	}
	b.WriteString(" }")
	_, data, errs := gql(t, "", b.String(), nil)
	if len(errs) == 0 {
		t.Fatalf("400 aliased plans queries were answered (%d bytes of data), want a refusal", len(data))
	}
	if c := errs[0].Code(); c != "BAD_USER_INPUT" {
		t.Errorf("code = %s, want BAD_USER_INPUT", c)
	}
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	s := shared(t)
	for _, c := range []struct {
		name string
		body string
	}{
		{"not JSON", `{"query": "{ plans { id } }"`},
		{"JSON but not an object", `[1, 2, 3]`},
		{"empty body", ``},
		{"syntax error", `{"query": "{ me { user { id "}`},
		{"unknown field", `{"query": "{ nope }"}`},
		{"missing required argument", `{"query": "mutation { provisionTenant { replayed } }"}`},
		{"variables of the wrong type", `{"query": "mutation($i: ProvisionTenantInput!) { provisionTenant(input: $i) { replayed } }", "variables": {"i": {"idempotencyKey": 5}}}`},
		{"no query", `{"variables": {}}`},
		{"unknown operation name", `{"query": "query A { plans { id } }", "operationName": "B"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			status, data, errs := s.postRaw(t, "", []byte(c.body))
			if len(errs) == 0 {
				t.Fatalf("HTTP %d, data %s: want an error", status, data)
			}
			for _, e := range errs {
				if e.Code() != "BAD_USER_INPUT" {
					t.Errorf("code %q (message %q), want BAD_USER_INPUT", e.Code(), e.Message)
				}
			}
			if status >= 500 {
				t.Errorf("HTTP %d, want a client error", status)
			}
		})
	}
	// Nothing is served on GET /graphql (no query strings with tokens in logs), and it is no 5xx.
	resp, _ := s.do(t, http.MethodGet, "/graphql?query=%7Bplans%7Bid%7D%7D", nil, nil)
	if resp.StatusCode == http.StatusOK || resp.StatusCode >= 500 {
		t.Errorf("GET /graphql: HTTP %d, want a 4xx", resp.StatusCode)
	}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	const q = `{ __schema { types { name } } }`

	t.Run("enabled in development", func(t *testing.T) {
		t.Parallel()
		status, data, errs := gql(t, "", q, nil)
		var d struct {
			Schema struct {
				Types []struct{ Name string } `json:"types"`
			} `json:"__schema"`
		}
		mustData(t, status, data, errs, &d)
		names := map[string]bool{}
		for _, ty := range d.Schema.Types {
			names[ty.Name] = true
		}
		for _, want := range []string{"Tenant", "ProvisionTenantInput", "TenantStatus", "Viewer"} {
			if !names[want] {
				t.Errorf("introspection lacks type %s", want)
			}
		}
	})

	t.Run("refused when disabled", func(t *testing.T) {
		t.Parallel()
		off := false
		s := newServer(t, func(c *config.Config) { c.Introspection = &off }, app.Options{})
		_, data, errs := s.gql(t, "", q, nil)
		if len(errs) == 0 {
			t.Fatalf("introspection answered with it disabled: %.200s", data)
		}
		wantHealthy(t, s)
	})
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, app.Options{})

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, body := s.do(t, http.MethodGet, path, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: HTTP %d %s, want 200", path, resp.StatusCode, body)
		}
	}

	resp, body := s.do(t, http.MethodGet, "/playground", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /playground: HTTP %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /playground: Content-Type %q, want text/html", ct)
	}
	if !strings.Contains(strings.ToLower(string(body)), "<html") || !strings.Contains(string(body), "/playground/assets/") {
		t.Errorf("GET /playground: not the console's HTML page with its embedded assets: %.200s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("GET /playground: Content-Security-Policy %q, want default-src 'self'", csp)
	}
	// The console finds the API, and its Firebase sign-in, in its configuration.
	if resp, body := s.do(t, http.MethodGet, "/playground/config.json", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"graphqlURL":"/graphql"`) {
		t.Errorf("GET /playground/config.json: HTTP %d %.200s, want the console's configuration pointing at /graphql", resp.StatusCode, body)
	}

	u := newUser(t)
	s.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "Metric Org", "", ""))
	resp, body = s.do(t, http.MethodGet, "/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	var sample string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "tenantry_graphql_requests_total{") && strings.Contains(line, "provisionTenant") {
			sample = line
		}
	}
	if sample == "" {
		t.Errorf("GET /metrics: no tenantry_graphql_requests_total sample for provisionTenant in:\n%s", body)
	} else {
		t.Logf("metrics: %s", sample)
	}

	// Request ids: the server's own in every answer (see requestid_test.go for the client's).
	resp, _ = s.do(t, http.MethodGet, "/healthz", nil, nil)
	if got := resp.Header.Get("X-Request-Id"); got == "" {
		t.Error("no X-Request-Id in the answer")
	}
}

// An argument gqlgen cannot coerce (an enum value spelled the domain's way, a wrong scalar) is
// the caller's mistake: BAD_USER_INPUT naming the field, never INTERNAL.
func TestUncoercibleArgumentsAreBadUserInput(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner := newUser(t)
	p := s.mustProvision(t, owner.IDToken, provisionInput(uniqueKey(), "Enum Co", "", ""))
	for name, c := range map[string]struct {
		query string
		vars  map[string]any
		field string
	}{
		"enum in an input object": {`mutation($in: InviteMemberInput!) { inviteMember(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"tenantId": p.Tenant.ID, "email": "x@example.test", "role": "member"}}, "role"},
		"enum argument": {`mutation($r: Role!) { changeMemberRole(tenantId: "` + p.Tenant.ID + `", userId: "u", role: $r) { role } }`,
			map[string]any{"r": "owner"}, "role"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, errs := s.gql(t, owner.IDToken, c.query, c.vars)
			wantCode(t, errs, "BAD_USER_INPUT", c.field)
		})
	}
}
