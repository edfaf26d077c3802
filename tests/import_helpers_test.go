package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

var clinicSrv lazyServer

// clinic is a server started with the clinic's declaration, shared by the import tests.
func clinic(t testing.TB) *testServer {
	t.Helper()
	cfg := testConfig(t)
	cfg.AppFile = clinicApp
	s, err := clinicSrv.get(cfg)
	if err != nil {
		t.Fatalf("start the clinic app: %v", err)
	}
	return s
}

// clinicServer starts a clinic server of its own, with mutate applied to its configuration.
func clinicServer(t testing.TB, mutate func(*config.Config), opts app.Options) *testServer {
	t.Helper()
	return newServer(t, func(c *config.Config) {
		c.AppFile = clinicApp
		if mutate != nil {
			mutate(c)
		}
	}, opts)
}

// importTenant is a seeded tenant with its owner, to import into.
type importTenant struct {
	srv   *testServer
	id    string
	owner testenv.User
}

// seedImportTenant writes a tenant in status with a fresh owner (and the extra members).
func seedImportTenant(t testing.TB, srv *testServer, status rules.Status, extra ...testenv.Member) importTenant {
	t.Helper()
	return seedTenantWithOwner(t, srv, testenv.Tenant{Status: status, Members: extra})
}

// seedTenantWithOwner writes tn (with an id of its own) with a fresh owner before its members.
func seedTenantWithOwner(t testing.TB, srv *testServer, tn testenv.Tenant) importTenant {
	t.Helper()
	owner := newUser(t)
	tn.ID = testenv.UniqueID("imp")
	tn.Members = append([]testenv.Member{owner.As(rules.RoleOwner)}, tn.Members...)
	testenv.SeedTenants(t, fs(t), tn)
	return importTenant{srv: srv, id: tn.ID, owner: owner}
}

const createTokenMutation = `mutation($in: CreateServiceTokenInput!) {
	createServiceToken(input: $in) { token serviceToken { id name scopes createdAt expiresAt lastUsedAt revokedAt } }
}`

type gqlServiceToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
}

type gqlTokenSecret struct {
	Token        string          `json:"token"`
	ServiceToken gqlServiceToken `json:"serviceToken"`
}

// tryCreateToken calls createServiceToken as the user with idToken.
func (tn importTenant) tryCreateToken(idToken string, in map[string]any) (*gqlTokenSecret, []gqlErr, error) {
	if in["tenantId"] == nil {
		in["tenantId"] = tn.id
	}
	return tryField[gqlTokenSecret](tn.srv, idToken, createTokenMutation, "createServiceToken", map[string]any{"in": in})
}

// token creates a service token with scopes as the owner and returns its secret and id.
func (tn importTenant) token(t testing.TB, scopes ...string) (bearer, id string) {
	t.Helper()
	s, errs, err := tn.tryCreateToken(tn.owner.IDToken, map[string]any{"name": "migration " + testenv.UniqueID(""), "scopes": scopes})
	if err != nil || s == nil {
		t.Fatalf("createServiceToken: %v %+v", err, errs)
	}
	return s.Token, s.ServiceToken.ID
}

const importMutation = `mutation($in: ImportRecordsInput!) {
	importRecords(input: $in) { collection received accepted alreadyImported dryRun rejected { index field reason } }
}`

type gqlRejection struct {
	Index  int     `json:"index"`
	Field  *string `json:"field"`
	Reason string  `json:"reason"`
}

type gqlImportReport struct {
	Collection      string         `json:"collection"`
	Received        int            `json:"received"`
	Accepted        int            `json:"accepted"`
	AlreadyImported int            `json:"alreadyImported"`
	DryRun          bool           `json:"dryRun"`
	Rejected        []gqlRejection `json:"rejected"`
}

// importCall is one importRecords call's input.
type importCall struct {
	tenantID, collection, key string
	records                   []map[string]any
	dryRun                    bool
}

func (c importCall) vars() map[string]any {
	recs := make([]any, len(c.records))
	for i, r := range c.records {
		recs[i] = r
	}
	return map[string]any{"in": map[string]any{
		"tenantId": c.tenantID, "collection": c.collection, "records": recs, "idempotencyKey": c.key, "dryRun": c.dryRun,
	}}
}

// tryImport calls importRecords with token (a service token or an ID token).
func tryImport(srv *testServer, token string, c importCall) (*gqlImportReport, []gqlErr, error) {
	return tryField[gqlImportReport](srv, token, importMutation, "importRecords", c.vars())
}

// mustImport calls importRecords and fails the test on any error.
func mustImport(t testing.TB, srv *testServer, token string, c importCall) gqlImportReport {
	t.Helper()
	r, errs, err := tryImport(srv, token, c)
	if err != nil || r == nil {
		t.Fatalf("importRecords(%s, %d records): %v %+v", c.collection, len(c.records), err, errs)
	}
	return *r
}

// importErr calls importRecords expecting exactly one error with code (and field, if not "").
func importErr(t testing.TB, srv *testServer, token string, c importCall, code, field string) gqlErr {
	t.Helper()
	r, errs, err := tryImport(srv, token, c)
	if err != nil {
		t.Fatalf("importRecords: %v", err)
	}
	if r != nil {
		t.Fatalf("importRecords answered %+v, want %s", *r, code)
	}
	return wantCode(t, errs, code, field)
}

// clients are n clinic clients with ids prefix-0 … prefix-(n-1).
func clients(prefix string, n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": fmt.Sprintf("%s-%d", prefix, i), "name": fmt.Sprintf("Client %d", i), "email": fmt.Sprintf("c%d@example.test", i)}
	}
	return out
}

// appointment is a valid clinic appointment of client and practitioner.
func appointment(id, client, practitioner string) map[string]any {
	return map[string]any{"id": id, "clientId": client, "practitionerId": practitioner, "startsAt": "2026-03-02T09:30:00Z", "minutes": 30, "status": "booked"}
}

// practitioner is a valid clinic practitioner.
func practitioner(id string) map[string]any {
	return map[string]any{"id": id, "name": "Dr " + id, "specialty": "general", "active": true}
}
