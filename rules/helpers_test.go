package rules_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

var (
	loadMu sync.Mutex
	loaded bool
)

// loadRules puts the generated rules into the emulator's default project, once per package run.
// SetRules replaces the rules for every client of that project; the generated text equals the
// checked-in firestore.rules (TestCheckedInRulesAreGenerated), which is what the emulator was
// started with, so other packages running at the same time see no change. Tests that need
// different rules use a project of their own (isolated). A failed load fails the test and is
// tried again by the next one.
func loadRules(t testing.TB) testenv.Env {
	t.Helper()
	env := testenv.Require(t)
	loadMu.Lock()
	defer loadMu.Unlock()
	if !loaded {
		env.SetRules(t, rules.FirestoreRules())
		loaded = true
	}
	return env
}

// isolated returns the emulators with a Firestore project of the test's own, loaded with
// rulesText. Rules are per project in the emulator, so deliberately wrong rules, or a job whose
// query spans all tenants, disturb nobody.
func isolated(t testing.TB, rulesText string) testenv.Env {
	t.Helper()
	env := testenv.Require(t).IsolatedProject(t)
	env.SetRules(t, rulesText)
	return env
}

// fields is a REST document body with string fields.
func fields(kv ...string) map[string]any {
	f := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = map[string]any{"stringValue": kv[i+1]}
	}
	return map[string]any{"fields": f}
}

// seedTenant is a tenant of the rules tests: a seat cap of 10 on the starter plan (which
// TestEscalationsFail checks nobody raised), with members.
func seedTenant(id string, status rules.Status, trialEndsAt time.Time, members ...testenv.Member) testenv.Tenant {
	return testenv.Tenant{ID: id, Name: "Rules Test Org", Status: status, SeatCap: 10, TrialEndsAt: trialEndsAt, Members: members}
}

// addDocs adds a tenant's documents to docs.
func addDocs(docs map[string]map[string]any, tn testenv.Tenant) {
	for path, d := range tn.Docs() {
		docs[path] = d
	}
}

// situation is one row of the matrices: a stored status and, for a trial, whether the clock has
// passed its end (the deadline that closes writes before expire-trials records the change) and
// whether a contract is signed (which exempts it: the trial ends in active); and the state of a
// past-due grace the tenant document carries (graceEndsAt), which only a past_due tenant's
// access reads.
type situation struct {
	name       string
	status     rules.Status
	trialEnded bool
	contract   bool
	grace      graceState
}

// graceState is where a tenant document's graceEndsAt stands.
type graceState int

const (
	graceNone    graceState = iota // no graceEndsAt
	graceRunning                   // graceEndsAt ahead
	graceOver                      // graceEndsAt passed
)

// graceSuffix names a grace state in a situation's name.
var graceSuffix = map[graceState]string{graceNone: "", graceRunning: "_in_grace", graceOver: "_grace_over"}

// situations is every status of the table in every grace state, plus the trials the clock acts
// on.
func situations() []situation {
	var out []situation
	for _, g := range []graceState{graceNone, graceRunning, graceOver} {
		for _, s := range rules.StatusTable {
			out = append(out, situation{name: string(s.Status) + graceSuffix[g], status: s.Status, grace: g})
		}
	}
	return append(out,
		situation{name: "trial_past_end", status: rules.StatusTrial, trialEnded: true},
		situation{name: "trial_past_end_with_contract", status: rules.StatusTrial, trialEnded: true, contract: true},
	)
}

// appSituations are the situations the application matrix runs: the data matrix proves the
// status table in every grace state, so here grace appears only where it changes access (a
// past_due tenant in grace and after it), which keeps the matrix (a REST call per cell) to the
// cells that can tell a declaration's rules apart.
func appSituations() []situation {
	var out []situation
	for _, s := range situations() {
		if s.grace == graceNone || s.status == rules.StatusPastDue {
			out = append(out, s)
		}
	}
	return out
}

// trialEnd is the situation's trialEndsAt at now.
func (s situation) trialEnd(now time.Time) time.Time {
	if s.trialEnded {
		return now.Add(-time.Hour)
	}
	return now.Add(7 * 24 * time.Hour)
}

// graceEnd is the situation's graceEndsAt at now; zero when it has none.
func (s situation) graceEnd(now time.Time) time.Time {
	switch s.grace {
	case graceRunning:
		return now.Add(3 * 24 * time.Hour)
	case graceOver:
		return now.Add(-time.Hour)
	}
	return time.Time{}
}

// tenant is the situation's tenant at now, with members.
func (s situation) tenant(id string, now time.Time, members []testenv.Member) testenv.Tenant {
	tn := seedTenant(id, s.status, s.trialEnd(now), members...)
	if s.contract {
		tn.Contract = map[string]any{"reference": "CRM-MATRIX", "planId": "pro", "seatCap": 10, "goLiveDate": s.trialEnd(now)}
	}
	tn.GraceEndsAt = s.graceEnd(now)
	return tn
}

// state is the situation as rules.TenantState, at now.
func (s situation) state(now time.Time) rules.TenantState {
	return rules.TenantState{
		Status: s.status,
		Times:  map[string]time.Time{rules.FieldTrialEndsAt: s.trialEnd(now), rules.FieldGraceEndsAt: s.graceEnd(now)},
		Has:    map[string]bool{rules.FieldContract: s.contract},
	}
}
