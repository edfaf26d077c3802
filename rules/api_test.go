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

const (
	mStatus = `mutation($id: ID!, $status: TenantStatus!, $reason: String!) { setTenantStatus(tenantId: $id, status: $status, reason: $reason) { id status } }`
	mExtend = `mutation($id: ID!, $end: Time!, $reason: String!) { extendTrial(tenantId: $id, trialEndsAt: $end, reason: $reason) { id status trialEndsAt } }`
)

// TestStaffOperationsAPI runs the staff operations that the matrix only refuses: in every status,
// support moves a tenant to suspended and sales extends its trial; each is applied exactly when
// the lifecycle table allows it, and is recorded with the reason and the request id the client
// sent. It also checks the input errors and the read-only, suspended and not-found answers.
func TestStaffOperationsAPI(t *testing.T) {
	t.Parallel()
	env := loadRules(t)
	api := startAPI(t)
	fs := env.Firestore(t)
	support := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{auth.PlatformRoleClaim: string(auth.PlatformSupport)}})
	sales := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{auth.PlatformRoleClaim: string(auth.PlatformSales)}})
	superAdmin := env.NewUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{auth.PlatformRoleClaim: string(auth.PlatformSuperAdmin)}})

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
		checkStaffInputErrors(t, api, support, sales, suspendIDs[rules.StatusTrial], newEnd)
	})
}

// checkStaffInputErrors sends the staff operations invalid input about tenant id, and requires
// BAD_USER_INPUT naming the field, or NOT_FOUND for a tenant that does not exist.
func checkStaffInputErrors(t *testing.T, api apiServer, support, sales testenv.User, id string, newEnd time.Time) {
	t.Helper()
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
		if f := r.Errors[0].Field(); f != c.field {
			t.Errorf("%s: field %q, want %q", c.name, f, c.field)
		}
	}
}
