package tenancy_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

func contractInput(key, name, ref, email string, goLive time.Time) tenancy.ContractInput {
	return tenancy.ContractInput{
		IdempotencyKey: key, OrganizationName: name, PlanID: "enterprise", SeatCap: 750, GoLiveDate: goLive,
		AdminContact: tenancy.Contact{Email: email, Name: "Grace Hopper"}, ContractReference: ref,
	}
}

// At go-live, expire-trials makes a contract tenant active, while a plain trial that ends at the
// same time becomes trial_expired; both changes are in the history and the audit log.
func TestContractTenantGoesLiveAtGoLive(t *testing.T) {
	t.Parallel()
	start := time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start)
	f := newFixture(t, clk)
	goLive := start.AddDate(0, 0, 14) // the same end as a 14-day self-serve trial

	sales := reqctx.WithRequestID(as(testenv.UniqueID("rep-"), auth.PlatformSales), "req-contract")
	c, err := f.svc.ProvisionContract(sales, contractInput(testenv.UniqueID("key-"), "Contract Co", "OPP-1", "grace@example.test", goLive))
	wantErr(t, "ProvisionContract", err, nil)
	owner := as(testenv.UniqueID("own-"), auth.PlatformNone)
	plain, err := f.svc.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: testenv.UniqueID("key-"), OrganizationName: "Plain Co", PlanID: "starter"})
	wantErr(t, "ProvisionSelfServe", err, nil)
	if !c.Tenant.TrialEndsAt.Equal(goLive) || !plain.Tenant.TrialEndsAt.Equal(goLive) {
		t.Fatalf("trial ends: contract %s, plain %s; want both %s", c.Tenant.TrialEndsAt, plain.Tenant.TrialEndsAt, goLive)
	}

	// The day before go-live nothing is due.
	clk.Advance(13 * 24 * time.Hour)
	res, err := f.svc.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{}, nil)
	wantErr(t, "ExpireTrials before go-live", err, nil)
	if res.Expired+res.Activated != 0 {
		t.Fatalf("before go-live: %s", res)
	}

	clk.Advance(24 * time.Hour)
	res, err = f.svc.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{}, nil)
	wantErr(t, "ExpireTrials at go-live", err, nil)
	if res.Activated != 1 || res.Expired != 1 {
		t.Fatalf("at go-live: %s, want 1 activated and 1 expired", res)
	}
	if got := f.tenant(t, c.Tenant.ID); got.Status != rules.StatusActive {
		t.Errorf("contract tenant is %s at go-live, want active", got.Status)
	}
	if got := f.tenant(t, plain.Tenant.ID); got.Status != rules.StatusTrialExpired {
		t.Errorf("plain trial is %s at its end, want trial_expired", got.Status)
	}
	if n := f.emails(t, c.Tenant.ID); n != 0 {
		t.Errorf("contract tenant got %d conversion emails, want none", n)
	}
	if n := f.emails(t, plain.Tenant.ID); n != 1 {
		t.Errorf("plain trial got %d conversion emails, want 1", n)
	}

	// The contract tenant's audit log: its provisioning by sales, then the system's activation.
	log, err := f.svc.AuditLog(sales, c.Tenant.ID, 10)
	wantErr(t, "AuditLog", err, nil)
	if len(log) != 2 {
		t.Fatalf("audit log has %d entries, want 2: %+v", len(log), log)
	}
	act, prov := log[0], log[1]
	if act.Action != tenancy.AuditStatusChange || act.Actor.System != "expire-trials" || act.Reason == "" {
		t.Errorf("newest entry = %+v, want the system's status change with a reason", act)
	}
	if !slices.ContainsFunc(act.Changes(), func(c tenancy.FieldChange) bool {
		return c.Field == "status" && c.Before == "trial" && c.After == "active"
	}) {
		t.Errorf("activation changes = %+v, want status trial → active", act.Changes())
	}
	if prov.Action != tenancy.AuditProvisionContract || prov.Actor.PlatformRole != auth.PlatformSales ||
		prov.Reason != "signed contract OPP-1" || prov.RequestID != "req-contract" {
		t.Errorf("oldest entry = %+v, want the contract's provisioning by sales with its reason and request id", prov)
	}
}

// Contract terms are validated before anything is written, each error naming its input field.
func TestContractValidation(t *testing.T) {
	t.Parallel()
	now := time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC)
	f := newFixture(t, clock.NewManual(now))
	sales := as(testenv.UniqueID("rep-"), auth.PlatformSales)
	good := func() tenancy.ContractInput {
		return contractInput(testenv.UniqueID("key-"), "Valid Co", "OPP-7", "admin@example.test", now.AddDate(0, 1, 0))
	}
	for _, tc := range []struct {
		name  string
		edit  func(*tenancy.ContractInput)
		field string
	}{
		{"unknown plan", func(in *tenancy.ContractInput) { in.PlanID = "platinum" }, "planId"},
		{"no seats", func(in *tenancy.ContractInput) { in.SeatCap = 0 }, "seatCap"},
		{"too many seats", func(in *tenancy.ContractInput) { in.SeatCap = tenancy.MaxContractSeatCap + 1 }, "seatCap"},
		{"go-live now", func(in *tenancy.ContractInput) { in.GoLiveDate = now }, "goLiveDate"},
		{"go-live past", func(in *tenancy.ContractInput) { in.GoLiveDate = now.Add(-time.Hour) }, "goLiveDate"},
		{"go-live in years", func(in *tenancy.ContractInput) { in.GoLiveDate = now.AddDate(3, 0, 0) }, "goLiveDate"},
		{"empty reference", func(in *tenancy.ContractInput) { in.ContractReference = "  " }, "contractReference"},
		{"long reference", func(in *tenancy.ContractInput) { in.ContractReference = strings.Repeat("x", 101) }, "contractReference"},
		{"control character in reference", func(in *tenancy.ContractInput) { in.ContractReference = "OPP\x00-1" }, "contractReference"},
		{"bidi override in reference", func(in *tenancy.ContractInput) { in.ContractReference = "OPP\u202e-1" }, "contractReference"},
		{"bad email", func(in *tenancy.ContractInput) { in.AdminContact.Email = "grace at example" }, "adminContact.email"},
		{"name with a line break", func(in *tenancy.ContractInput) { in.AdminContact.Name = "Grace\nHopper" }, "adminContact.name"},
		{"bad subdomain", func(in *tenancy.ContractInput) { in.Subdomain = "-x-" }, "subdomain"},
		{"bad tenant id", func(in *tenancy.ContractInput) { in.ExistingTenantID = "../x" }, "existingTenantId"},
		{"bad key", func(in *tenancy.ContractInput) { in.IdempotencyKey = "short" }, "idempotencyKey"},
	} {
		in := good()
		tc.edit(&in)
		_, err := f.svc.ProvisionContract(sales, in)
		wantErr(t, tc.name, err, errs.ErrInvalidInput, tc.field)
	}
	// The name is optional.
	in := good()
	in.AdminContact.Name = ""
	_, err := f.svc.ProvisionContract(sales, in)
	wantErr(t, "no contact name", err, nil)
}

func TestSearchTokens(t *testing.T) {
	t.Parallel()
	toks := tenancy.SearchTokens("Analytical Engines, Ltd.", "engines-eu", "OPP-2024-0042")
	for _, want := range []string{"an", "analytical", "analytical engines", "en", "engi", "ltd", "engines eu", "eu", "opp", "opp 2024", "opp 2024 0042", "0042", "20"} {
		if !slices.Contains(toks, want) {
			t.Errorf("tokens lack %q: %v", want, toks)
		}
	}
	for _, bad := range []string{"a", "", "analytical engines, ltd.", "analytical engines ltd engi"} {
		if slices.Contains(toks, bad) {
			t.Errorf("tokens contain %q", bad)
		}
	}
	for in, want := range map[string]string{
		"  ENGI ": "engi", "Acme, Co": "acme co", "opp-2024-00": "opp 2024 00",
		"a very long search term that goes on": "a very long search term",
	} {
		if got, ok := tenancy.SearchTerm(in); !ok || got != want {
			t.Errorf("SearchTerm(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := tenancy.SearchTerm(" x! "); ok {
		t.Error("a one-character search was accepted")
	}
	long := tenancy.SearchTokens("Pneumonoultramicroscopicsilicovolcanoconiosis")
	for _, tok := range long {
		if n := len([]rune(tok)); n > tenancy.MaxSearchTokenLen {
			t.Errorf("token %q has %d characters, more than %d", tok, n, tenancy.MaxSearchTokenLen)
		}
	}
	if term, _ := tenancy.SearchTerm("pneumonoultramicroscopicsilicovolcano"); !slices.Contains(long, term) {
		t.Errorf("a long search %q finds no token of a long word", term)
	}
}
