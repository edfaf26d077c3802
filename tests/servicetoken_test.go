package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// A token is shown once, starts tnt_, and only the hash of its secret is stored; owners and
// admins create it, while the tenant is writable, and list it.
func TestCreateServiceToken(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	s, errs, err := tn.tryCreateToken(tn.owner.IDToken, map[string]any{"name": "CRM migration", "scopes": []string{"import", " import"}, "expiresAt": expires})
	if err != nil || s == nil {
		t.Fatalf("createServiceToken: %v %+v", err, errs)
	}
	if !strings.HasPrefix(s.Token, "tnt_"+s.ServiceToken.ID+"_") || len(s.Token) < 4+26+1+43 {
		t.Fatalf("token %q does not have the shape tnt_<id>_<secret>", s.Token)
	}
	if got := s.ServiceToken; got.Name != "CRM migration" || strings.Join(got.Scopes, ",") != "import" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) || got.LastUsedAt != nil {
		t.Errorf("serviceToken = %+v", got)
	}
	stored := mustDoc(t, "serviceTokens/"+s.ServiceToken.ID)
	secret := strings.TrimPrefix(s.Token, "tnt_"+s.ServiceToken.ID+"_")
	sum := sha256.Sum256([]byte(secret))
	if stored["secretHash"] != hex.EncodeToString(sum[:]) || stored["tenantId"] != tn.id {
		t.Errorf("stored token %v: want the secret's SHA-256 and the tenant", stored)
	}
	for k, v := range stored {
		if s, ok := v.(string); ok && strings.Contains(s, secret) {
			t.Errorf("stored field %s holds the secret", k)
		}
	}
	var list struct {
		Tenant struct{ ServiceTokens []gqlServiceToken } `json:"tenant"`
	}
	st, data, gerrs := srv.gql(t, tn.owner.IDToken, `query($id: ID!) { tenant(id: $id) { serviceTokens { id name scopes } } }`, map[string]any{"id": tn.id})
	mustData(t, st, data, gerrs, &list)
	if len(list.Tenant.ServiceTokens) != 1 || list.Tenant.ServiceTokens[0].ID != s.ServiceToken.ID {
		t.Errorf("serviceTokens = %+v", list.Tenant.ServiceTokens)
	}
	if n := countWhere(t, tn.Path()+"/audit", "action", "service_token.created"); n != 1 {
		t.Errorf("%d service_token.created audit entries, want 1", n)
	}
}

func (tn importTenant) Path() string { return "tenants/" + tn.id }

// Who may create a token, with what input, in which status.
func TestCreateServiceTokenRefusals(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	member, manager, stranger := newUser(t), newUser(t), newUser(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial, member.As(rules.RoleMember), manager.As(rules.RoleManager))
	pastDue := seedImportTenant(t, srv, rules.StatusPastDue)
	suspended := seedImportTenant(t, srv, rules.StatusSuspended)
	valid := func() map[string]any { return map[string]any{"name": "migration", "scopes": []string{"import"}} }
	with := func(k string, v any) map[string]any { in := valid(); in[k] = v; return in }
	for _, c := range []struct {
		name        string
		tn          importTenant
		token       string
		in          map[string]any
		code, field string
	}{
		{"member", tn, member.IDToken, valid(), "FORBIDDEN", ""},
		{"manager", tn, manager.IDToken, valid(), "FORBIDDEN", ""},
		{"not a member", tn, stranger.IDToken, valid(), "NOT_FOUND", ""},
		{"anonymous", tn, "", valid(), "UNAUTHENTICATED", ""},
		{"unknown scope", tn, tn.owner.IDToken, with("scopes", []string{"import", "admin"}), "BAD_USER_INPUT", "scopes"},
		{"no scope", tn, tn.owner.IDToken, with("scopes", []string{}), "BAD_USER_INPUT", "scopes"},
		{"blank name", tn, tn.owner.IDToken, with("name", "  "), "BAD_USER_INPUT", "name"},
		{"expiry passed", tn, tn.owner.IDToken, with("expiresAt", time.Now().Add(-time.Minute)), "BAD_USER_INPUT", "expiresAt"},
		{"expiry too far", tn, tn.owner.IDToken, with("expiresAt", time.Now().AddDate(3, 0, 0)), "BAD_USER_INPUT", "expiresAt"},
		{"past due", pastDue, pastDue.owner.IDToken, valid(), "TENANT_READ_ONLY", ""},
		{"suspended", suspended, suspended.owner.IDToken, valid(), "TENANT_SUSPENDED", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, errs, err := c.tn.tryCreateToken(c.token, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if s != nil {
				t.Fatalf("created %+v, want %s", s.ServiceToken, c.code)
			}
			wantCode(t, errs, c.code, c.field)
		})
	}
	if n := countWhere(t, "serviceTokens", "tenantId", tn.id); n != 0 {
		t.Errorf("%d tokens stored after refusals, want 0", n)
	}
}

// Every way a token can fail to authenticate, or to reach what it asks for.
func TestServiceTokenRefusals(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	a, b := seedImportTenant(t, srv, rules.StatusTrial), seedImportTenant(t, srv, rules.StatusTrial)
	tokenA, _ := a.token(t, "import")
	revoked, revokedID := a.token(t, "import")
	revokeToken(t, a, revokedID)
	validateOnly, _ := a.token(t, "validate")
	secretless := strings.TrimSuffix(tokenA, tokenA[len(tokenA)-43:])
	pract := []map[string]any{practitioner("p-1")}
	call := func(tn importTenant, dryRun bool) importCall {
		return importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: pract, dryRun: dryRun}
	}
	for _, c := range []struct {
		name   string
		token  string
		call   importCall
		code   string
		status int
	}{
		{"token of tenant A on tenant B", tokenA, call(b, false), "NOT_FOUND", 200},
		{"revoked", revoked, call(a, false), "UNAUTHENTICATED", 401},
		{"malformed", "tnt_not-a-token", call(a, false), "UNAUTHENTICATED", 401},
		{"wrong secret", secretless + strings.Repeat("A", 43), call(a, false), "UNAUTHENTICATED", 401},
		{"wrong prefix", "tnx_" + strings.TrimPrefix(tokenA, "tnt_"), call(a, false), "UNAUTHENTICATED", 401},
		{"unknown id", "tnt_" + strings.Repeat("A", 26) + tokenA[len(tokenA)-44:], call(a, false), "UNAUTHENTICATED", 401},
		{"without the import scope", validateOnly, call(a, false), "FORBIDDEN", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := srv.call(c.token, importMutation, c.call.vars())
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, r.Errors, c.code, "")
			if r.Status != c.status {
				t.Errorf("HTTP %d, want %d", r.Status, c.status)
			}
			if strings.Contains(string(r.Body), c.token[4:]) {
				t.Errorf("the answer repeats the token: %s", r.Body)
			}
		})
	}
	if docExists(t, b.Path()+"/practitioners/p-1") || docExists(t, a.Path()+"/practitioners/p-1") {
		t.Error("a refused call wrote a record")
	}
	// The validate scope opens dry runs, which write nothing.
	if r := mustImport(t, srv, validateOnly, call(a, true)); r.Accepted != 1 || !r.DryRun {
		t.Errorf("dry run with the validate scope: %+v", r)
	}
	if docExists(t, a.Path()+"/practitioners/p-1") {
		t.Error("a dry run wrote a record")
	}
}

func revokeToken(t testing.TB, tn importTenant, id string) gqlServiceToken {
	t.Helper()
	tok, errs, err := tryField[gqlServiceToken](tn.srv, tn.owner.IDToken, `mutation($id: ID!) { revokeServiceToken(id: $id) { id name scopes createdAt revokedAt } }`, "revokeServiceToken", map[string]any{"id": id})
	if err != nil || tok == nil {
		t.Fatalf("revokeServiceToken: %v %+v", err, errs)
	}
	return *tok
}

// A service token may call importRecords only: member management, staff operations, token
// management and reads are all FORBIDDEN, whatever its scopes.
func TestServiceTokenCallsNothingElse(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	token, id := tn.token(t, "import", "validate")
	vars := map[string]any{"t": tn.id}
	for name, op := range map[string]string{
		"me":                 `{ me { user { id } } }`,
		"tenant":             `query($t: ID!) { tenant(id: $t) { id } }`,
		"inviteMember":       `mutation($t: ID!) { inviteMember(input: {tenantId: $t, email: "x@example.test", role: MEMBER}) { id } }`,
		"changeMemberRole":   `mutation($t: ID!) { changeMemberRole(tenantId: $t, userId: "u", role: ADMIN) { role } }`,
		"setTenantStatus":    `mutation($t: ID!) { setTenantStatus(tenantId: $t, status: ACTIVE, reason: "because") { id } }`,
		"extendTrial":        `mutation($t: ID!) { extendTrial(tenantId: $t, trialEndsAt: "2030-01-01T00:00:00Z", reason: "because") { id } }`,
		"createServiceToken": `mutation($t: ID!) { createServiceToken(input: {tenantId: $t, name: "more", scopes: ["import"]}) { token } }`,
		"revokeServiceToken": `mutation { revokeServiceToken(id: "` + id + `") { id } }`,
	} {
		t.Run(name, func(t *testing.T) {
			_, _, errs := srv.gql(t, token, op, vars)
			wantCode(t, errs, "FORBIDDEN", "")
		})
	}
	if tok := mustDoc(t, "serviceTokens/"+id); tok["revokedAt"] != nil {
		t.Error("the token revoked itself")
	}
}

// A service token obeys its tenant's status, and every call is one audit entry with its counts.
func TestServiceTokenStatusAndAudit(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	token, _ := tn.token(t, "import")
	call := importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: []map[string]any{practitioner("p-1"), practitioner("p-2")}}
	if r := mustImport(t, srv, token, call); r.Accepted != 2 {
		t.Fatalf("import: %+v", r)
	}
	snaps, err := fs(t).Collection(tn.Path()+"/audit").Where("action", "==", "data.imported").Documents(fsCtx(t)).GetAll()
	if err != nil || len(snaps) != 1 {
		t.Fatalf("data.imported entries: %d (%v), want 1", len(snaps), err)
	}
	d := snaps[0].Data()
	details, _ := d["details"].(map[string]any)
	if details["accepted"] != int64(2) || details["received"] != int64(2) || !strings.HasPrefix(d["actorSystem"].(string), "service-token:") {
		t.Errorf("audit entry %v", d)
	}
	for _, st := range []struct {
		status rules.Status
		code   string
	}{{rules.StatusPastDue, "TENANT_READ_ONLY"}, {rules.StatusTrialExpired, "TENANT_READ_ONLY"}, {rules.StatusSuspended, "TENANT_SUSPENDED"}} {
		testenv.UpdateDoc(t, fs(t), tn.Path(), map[string]any{"status": string(st.status)})
		importErr(t, srv, token, importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: []map[string]any{practitioner("p-3")}}, st.code, "")
	}
	if docExists(t, tn.Path()+"/practitioners/p-3") {
		t.Error("an import wrote into a read-only tenant")
	}
}

// Revocation and expiry take effect on the very next request; the owner can revoke while the
// tenant is read-only; lastUsedAt follows use.
func TestServiceTokenRevocationAndExpiry(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now())
	srv := clinicServer(t, nil, app.Options{Clock: clk})
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	s, errs, err := tn.tryCreateToken(tn.owner.IDToken, map[string]any{"name": "short-lived", "scopes": []string{"import"}, "expiresAt": clk.Now().Add(time.Hour)})
	if err != nil || s == nil {
		t.Fatalf("createServiceToken: %v %+v", err, errs)
	}
	call := func() importCall {
		return importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: []map[string]any{practitioner("p-1")}}
	}
	mustImport(t, srv, s.Token, call())
	if d := mustDoc(t, "serviceTokens/"+s.ServiceToken.ID); d["lastUsedAt"] == nil {
		t.Error("lastUsedAt not recorded")
	}
	clk.Advance(time.Hour)
	importErr(t, srv, s.Token, call(), "UNAUTHENTICATED", "")

	other, otherID := tn.token(t, "import")
	mustImport(t, srv, other, call())
	testenv.UpdateDoc(t, fs(t), tn.Path(), map[string]any{"status": string(rules.StatusPastDue)})
	if got := revokeToken(t, tn, otherID); got.RevokedAt == nil {
		t.Fatalf("revoked token %+v without revokedAt", got)
	}
	importErr(t, srv, other, call(), "UNAUTHENTICATED", "")
	again := revokeToken(t, tn, otherID) // revoking again changes nothing
	if n := countWhere(t, tn.Path()+"/audit", "action", "service_token.revoked"); n != 1 || again.RevokedAt == nil {
		t.Errorf("%d service_token.revoked entries after two revocations, want 1", n)
	}
}

// Each token's requests are rate limited.
func TestServiceTokenRateLimit(t *testing.T) {
	t.Parallel()
	srv := clinicServer(t, func(c *config.Config) { c.ServiceTokenBurst, c.ServiceTokenInterval = 2, time.Hour }, app.Options{})
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	token, _ := tn.token(t, "import")
	other, _ := tn.token(t, "import")
	call := func() importCall {
		return importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: []map[string]any{practitioner("p-1")}}
	}
	mustImport(t, srv, token, call())
	mustImport(t, srv, token, call())
	importErr(t, srv, token, call(), "RATE_LIMITED", "")
	mustImport(t, srv, other, call()) // another token has its own budget
}

// Neither a token nor its secret ever reaches the logs, whatever happens to it. Not parallel:
// the app's logger is the process's default logger, which a server started meanwhile replaces.
func TestServiceTokenNeverLogged(t *testing.T) {
	previous := slog.Default()
	t.Cleanup(func() { slog.SetDefault(previous) })
	var logs testenv.SyncBuffer
	srv := clinicServer(t, nil, app.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	token, id := tn.token(t, "import")
	secret := token[len(token)-43:]
	mustImport(t, srv, token, importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: []map[string]any{practitioner("p-1")}})
	_, _, _ = tryImport(srv, token[:len(token)-1]+"x", importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey()})
	_, _, _ = tryImport(srv, token, importCall{tenantID: "other", collection: "practitioners", key: uniqueKey()})
	_, _, _ = srv.gql(t, token, `{ me { user { id } } }`, nil)
	revokeToken(t, tn, id)
	_, _, _ = tryImport(srv, token, importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey()})
	out := logs.String()
	if !strings.Contains(out, id) {
		t.Fatalf("the logs never name the token's id; is the logger wired? %.500s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, secret[:20]) {
		t.Error("a token's secret is in the logs")
	}
}
