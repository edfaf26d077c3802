package rules_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/server"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// apiServer is the whole HTTP surface (internal/app) on 127.0.0.1, against the emulators.
type apiServer struct {
	graphql testenv.GraphQL
	app     *app.App
}

func startAPI(t testing.TB) apiServer {
	t.Helper()
	testenv.Require(t)
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); _ = a.Close() })
	return apiServer{graphql: testenv.GraphQL{URL: srv.URL}, app: a}
}

// call sends one operation as token ("" for anonymous), with an X-Request-Id unless requestID
// is "". The answer's X-Request-Id is the server's id of the request, whatever the client sent.
func (s apiServer) call(t testing.TB, token, requestID, query string, vars map[string]any) testenv.GraphQLAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	var header http.Header
	if requestID != "" {
		header = http.Header{"X-Request-Id": {requestID}}
	}
	a, err := s.graphql.Send(token, header, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// apiCaller is a column of the API matrix: a member with a role, platform staff, a signed-in
// non-member, or nobody.
type apiCaller struct {
	name  string
	role  rules.Role
	staff auth.PlatformRole
	user  testenv.User
}

// expectCode is what the API answers for the policy's decision: "" when allowed.
func expectCode(err error) string {
	if err == nil {
		return ""
	}
	return server.CodeOf(err)
}

const (
	qAccess  = `query($id: ID!) { tenant(id: $id) { id status access { canRead canWrite reason } } }`
	qMembers = `query($id: ID!) { tenant(id: $id) { members { role user { id } } } }`
	qHistory = `query($id: ID!) { tenant(id: $id) { id statusHistory { from to } } }`
	mStatus  = `mutation($id: ID!, $status: TenantStatus!, $reason: String!) { setTenantStatus(tenantId: $id, status: $status, reason: $reason) { id status } }`
	mExtend  = `mutation($id: ID!, $end: Time!, $reason: String!) { extendTrial(tenantId: $id, trialEndsAt: $end, reason: $reason) { id status trialEndsAt } }`
)

// TestAPIMatrix asks the API, for every status × every role (plus platform staff, a non-member
// and an anonymous caller), what the SPA and the playground would: Tenant.access, the member
// list, the status history, and the staff operations; every expectation comes from rules.Check.
// It also runs the domain's policy check (Authorize, which every tenant-scoped operation calls)
// for every action of the action table in every cell, reading the status and role from Firestore.
func TestAPIMatrix(t *testing.T) {
	t.Parallel()
	env := loadRules(t)
	api := startAPI(t)
	fs := env.Firestore(t)

	var callers []apiCaller
	for _, r := range rules.Roles {
		callers = append(callers, apiCaller{name: string(r), role: r})
	}
	callers = append(callers,
		apiCaller{name: "super_admin", staff: auth.PlatformSuperAdmin},
		apiCaller{name: "sales", staff: auth.PlatformSales},
		apiCaller{name: "support", staff: auth.PlatformSupport},
		apiCaller{name: "non-member"},
		apiCaller{name: "anonymous"},
	)
	for i, c := range callers {
		switch {
		case c.name == "anonymous":
		case c.staff != "":
			callers[i].user = env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{"platformRole": string(c.staff)}})
		default:
			callers[i].user = env.NewUser(t, testenv.UserOptions{EmailVerified: true})
		}
	}
	tenants := map[string]string{} // situation name → tenant id
	var members []testenv.Member
	for _, c := range callers[:len(rules.Roles)] {
		members = append(members, c.user.As(c.role))
	}
	var seeds []testenv.Tenant
	now := time.Now().UTC().Truncate(time.Second)
	ends := now.Add(7 * 24 * time.Hour)
	for _, s := range situations() {
		id := testenv.UniqueID("api-")
		tenants[s.name] = id
		seeds = append(seeds, s.tenant(id, now, members))
	}
	testenv.SeedTenants(t, fs, seeds...)
	var ids []string
	for _, id := range tenants {
		ids = append(ids, id)
	}
	t.Cleanup(func() { deleteTenants(fs, ids) })

	cells := 0
	for _, st := range situations() {
		// The status the tables apply: a trial past its end is expired before the job runs.
		eff := st.state(now).Effective(time.Now())
		for _, c := range callers {
			cells++
			t.Run(fmt.Sprintf("%s/%s", st.name, c.name), func(t *testing.T) {
				t.Parallel()
				id := tenants[st.name]
				vars := map[string]any{"id": id}
				// What the contract says outsiders get, whatever the operation.
				outsider := ""
				switch {
				case c.name == "anonymous":
					outsider = server.CodeUnauthenticated
				case c.name == "non-member":
					outsider = server.CodeNotFound
				}

				// Tenant.access, from the same table.
				a := api.call(t, c.user.IDToken, "", qAccess, vars)
				if outsider != "" {
					if a.Codes() != outsider || string(a.FieldJSON("tenant")) != "null" {
						t.Errorf("tenant: errors %q data %s; want %s and null", a.Codes(), a.FieldJSON("tenant"), outsider)
					}
				} else {
					var got struct {
						Status string
						Access struct {
							CanRead, CanWrite bool
							Reason            *string
						}
					}
					if err := json.Unmarshal(a.FieldJSON("tenant"), &got); err != nil || a.Codes() != "" {
						t.Fatalf("tenant: %v %q %s", err, a.Codes(), a.FieldJSON("tenant"))
					}
					wantRead, wantWrite := true, false // staff read everything and write nothing as members
					if c.staff == "" {
						wantRead, wantWrite = handAllows(st, c.role, false), handAllows(st, c.role, true)
					}
					// status is the stored one: the job records the trial's end; access already applies it.
					if got.Status != strings.ToUpper(string(st.status)) || got.Access.CanRead != wantRead || got.Access.CanWrite != wantWrite {
						t.Errorf("tenant: status %s access %+v; want %s canRead=%v canWrite=%v", got.Status, got.Access, st.status, wantRead, wantWrite)
					}
					if (got.Access.Reason != nil) == (wantRead && wantWrite) {
						t.Errorf("access.reason = %v; want a banner exactly when something is closed", got.Access.Reason)
					}
				}

				// Tenant.members: reading tenant data.
				want := outsider
				if want == "" && c.staff == "" {
					want = expectCode(rules.Check(eff, c.role, rules.ReadData))
				}
				if m := api.call(t, c.user.IDToken, "", qMembers, vars); m.Codes() != want {
					t.Errorf("members: errors %q, want %q (%s)", m.Codes(), want, m.FieldJSON("tenant"))
				} else if want == "" && !strings.Contains(string(m.FieldJSON("tenant")), callers[0].user.UID) {
					t.Errorf("members: %s lacks the owner", m.FieldJSON("tenant"))
				}

				// Tenant.statusHistory: the audit-log action.
				want = outsider
				if want == "" && c.staff == "" {
					want = expectCode(rules.Check(eff, c.role, rules.ReadAuditLog))
				}
				if h := api.call(t, c.user.IDToken, "", qHistory, vars); h.Codes() != want {
					t.Errorf("statusHistory: errors %q, want %q", h.Codes(), want)
				} else if want != "" && outsider == "" && !strings.Contains(string(h.FieldJSON("tenant")), id) {
					t.Errorf("statusHistory refused, but the rest of the tenant should still answer: %s", h.FieldJSON("tenant"))
				}

				// The staff operations, refused for everyone who lacks the platform role (the
				// allowed ones change the tenant, so TestStaffOperationsAPI runs them on tenants
				// of their own). The target is valid where the table allows, so a refusal here
				// is about the caller.
				if c.staff != auth.PlatformSupport && c.staff != auth.PlatformSuperAdmin {
					want = outsider
					if want == "" {
						want = server.CodeForbidden
					}
					r := api.call(t, c.user.IDToken, "", mStatus, map[string]any{"id": id, "status": "CANCELLED", "reason": "matrix test"})
					if r.Codes() != want {
						t.Errorf("setTenantStatus: errors %q, want %q", r.Codes(), want)
					}
				}
				if c.staff != auth.PlatformSales && c.staff != auth.PlatformSuperAdmin {
					want = outsider
					if want == "" {
						want = server.CodeForbidden
					}
					r := api.call(t, c.user.IDToken, "", mExtend, map[string]any{"id": id, "end": ends.Add(24 * time.Hour), "reason": "matrix test"})
					if r.Codes() != want {
						t.Errorf("extendTrial: errors %q, want %q", r.Codes(), want)
					}
				}

				// The domain's check, for every action in the table.
				if c.name == "anonymous" {
					return
				}
				ctx := auth.WithPrincipal(context.Background(), auth.Principal{UID: c.user.UID, Email: c.user.Email, PlatformRole: c.staff})
				for _, p := range rules.ActionTable {
					_, err := api.app.Tenancy.Authorize(ctx, id, p.Action)
					want := ""
					switch {
					case c.name == "non-member":
						want = server.CodeNotFound
					case c.staff != "" && p.Kind != rules.KindRead:
						want = server.CodeForbidden
					case c.staff == "":
						want = expectCode(rules.Check(eff, c.role, p.Action))
					}
					if got := expectCode(err); got != want {
						t.Errorf("Authorize(%s): %q (%v), want %q", p.Action, got, err, want)
					}
				}
				if t.Failed() {
					t.Logf("cell %s/%s failed", st.name, c.name)
				}
			})
		}
	}
	t.Logf("%d cells: %d situations × %d callers", cells, len(situations()), len(callers))
}

// TestStaffOperationsAPI runs the staff operations that the matrix only refuses: in every status,
// support moves a tenant to suspended and sales extends its trial; each is applied exactly when
// the lifecycle table allows it, and is recorded with the reason and the request id the client
// sent. It also checks the input errors and the read-only, suspended and not-found answers.
func TestStaffOperationsAPI(t *testing.T) {
	t.Parallel()
	env := loadRules(t)
	api := startAPI(t)
	fs := env.Firestore(t)
	support := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{"platformRole": "support"}})
	sales := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{"platformRole": "sales"}})
	superAdmin := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{"platformRole": "super_admin"}})

	ends := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	suspendIDs, extendIDs := map[rules.Status]string{}, map[rules.Status]string{}
	var seeds []testenv.Tenant
	var ids []string
	for _, s := range rules.StatusTable {
		for _, m := range []map[rules.Status]string{suspendIDs, extendIDs} {
			id := testenv.UniqueID("staff-")
			m[s.Status] = id
			seeds = append(seeds, seedTenant(id, s.Status, ends))
			ids = append(ids, id)
		}
	}
	testenv.SeedTenants(t, fs, seeds...)
	t.Cleanup(func() { deleteTenants(fs, ids) })

	newEnd := ends.Add(14 * 24 * time.Hour)
	for _, st := range rules.StatusTable {
		t.Run(string(st.Status), func(t *testing.T) {
			t.Parallel()
			reqID := testenv.UniqueID("req-")
			r := api.call(t, support.IDToken, reqID, mStatus, map[string]any{"id": suspendIDs[st.Status], "status": "SUSPENDED", "reason": "chargeback under review"})
			if tenancy.CanTransition(st.Status, rules.StatusSuspended) {
				if r.Codes() != "" || !strings.Contains(string(r.FieldJSON("setTenantStatus")), `"SUSPENDED"`) {
					t.Fatalf("setTenantStatus: %q %s", r.Codes(), r.FieldJSON("setTenantStatus"))
				}
				h := api.call(t, superAdmin.IDToken, "", `query($id: ID!) { tenant(id: $id) { statusHistory { from to reason requestId actorUserId actorPlatformRole } } }`, map[string]any{"id": suspendIDs[st.Status]})
				// The history records the server's id of the request, never the client's.
				serverID := r.Header.Get("X-Request-Id")
				want := fmt.Sprintf(`{"statusHistory":[{"from":%q,"to":"SUSPENDED","reason":"chargeback under review","requestId":%q,"actorUserId":%q,"actorPlatformRole":"SUPPORT"}]}`,
					strings.ToUpper(string(st.Status)), serverID, support.UID)
				if serverID == "" || serverID == reqID {
					t.Errorf("X-Request-Id %q: want the server's own id, not the client's %q", serverID, reqID)
				}
				if string(h.FieldJSON("tenant")) != want {
					t.Errorf("history: %s\nwant      %s", h.FieldJSON("tenant"), want)
				}
			} else if r.Codes() != server.CodeInvalidTransition || !strings.Contains(r.Errors[0].Message, "cannot") {
				t.Errorf("setTenantStatus %s → suspended: %q %+v; want INVALID_TRANSITION saying what is allowed", st.Status, r.Codes(), r.Errors)
			}

			r = api.call(t, sales.IDToken, "", mExtend, map[string]any{"id": extendIDs[st.Status], "end": newEnd, "reason": "pilot extended by two weeks"})
			if st.Status == rules.StatusTrial || st.Status == rules.StatusTrialExpired {
				want := fmt.Sprintf(`{"id":%q,"status":"TRIAL","trialEndsAt":%q}`, extendIDs[st.Status], newEnd.Format(time.RFC3339))
				if r.Codes() != "" || string(r.FieldJSON("extendTrial")) != want {
					t.Errorf("extendTrial: %q %s, want %s", r.Codes(), r.FieldJSON("extendTrial"), want)
				}
			} else if r.Codes() != server.CodeInvalidTransition {
				t.Errorf("extendTrial in %s: %q, want INVALID_TRANSITION", st.Status, r.Codes())
			}
		})
	}

	t.Run("input errors", func(t *testing.T) {
		t.Parallel()
		id := suspendIDs[rules.StatusTrial]
		cases := []struct {
			name, token, query string
			vars               map[string]any
			code, field        string
		}{
			{"reason too short", support.IDToken, mStatus, map[string]any{"id": id, "status": "ACTIVE", "reason": "x"}, server.CodeBadUserInput, "reason"},
			{"reason too long", sales.IDToken, mExtend, map[string]any{"id": id, "end": newEnd, "reason": strings.Repeat("y", 501)}, server.CodeBadUserInput, "reason"},
			{"trial end in the past", sales.IDToken, mExtend, map[string]any{"id": id, "end": time.Now().Add(-time.Hour), "reason": "valid reason"}, server.CodeBadUserInput, "trialEndsAt"},
			{"unknown tenant", support.IDToken, mStatus, map[string]any{"id": testenv.UniqueID("none-"), "status": "ACTIVE", "reason": "valid reason"}, server.CodeNotFound, ""},
			{"unknown status", support.IDToken, mStatus, map[string]any{"id": id, "status": "DELETED", "reason": "valid reason"}, server.CodeBadUserInput, ""},
		}
		for _, c := range cases {
			r := api.call(t, c.token, "", c.query, c.vars)
			if r.Codes() != c.code {
				t.Errorf("%s: %q, want %s (%+v)", c.name, r.Codes(), c.code, r.Errors)
				continue
			}
			if f, _ := r.Errors[0].Extensions["field"].(string); f != c.field {
				t.Errorf("%s: field %q, want %q", c.name, f, c.field)
			}
		}
	})
}
