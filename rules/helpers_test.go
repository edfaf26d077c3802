package rules_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

var (
	loadOnce sync.Once
	loadErr  string
)

// loadRules puts the generated rules into the emulator's default project, once per package run.
// SetRules replaces the rules for every client of that project; the generated text equals the
// checked-in firestore.rules (TestCheckedInRulesAreGenerated), which is what the emulator was
// started with, so other packages running at the same time see no change. Tests that need
// different rules use a project of their own (isolated).
func loadRules(t testing.TB) testenv.Env {
	t.Helper()
	env := testenv.Require(t)
	loadOnce.Do(func() {
		status, body, err := rest(env, http.MethodPut,
			"http://"+env.FirestoreHost+"/emulator/v1/projects/"+env.Project+":securityRules", "",
			map[string]any{"rules": map[string]any{"files": []map[string]any{{"content": rules.FirestoreRules()}}}})
		if err != nil || status != http.StatusOK {
			loadErr = fmt.Sprintf("load the generated rules: HTTP %d %s %v", status, body, err)
		}
	})
	if loadErr != "" {
		t.Fatal(loadErr)
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

var restClient = &http.Client{Timeout: 15 * time.Second}

// rest is one JSON request that reports failures instead of failing the test, so goroutines
// can use it. A 409 ABORTED ("Transaction lock timeout": the emulator locks pessimistically, and
// other packages' transactions run against the same emulator) is retried, as the Firestore client
// SDKs retry it; the rules' verdict is what the tests check.
func rest(env testenv.Env, method, url, token string, body any) (int, []byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		status, data, err := restOnce(method, url, token, payload)
		if err != nil || status != http.StatusConflict || !bytes.Contains(data, []byte("ABORTED")) || attempt == 5 {
			return status, data, err
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
}

func restOnce(method, url, token string, payload []byte) (int, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := restClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// firestoreREST is testenv.Env.FirestoreREST with rest's retry of ABORTED: a document path, or a
// path starting with ":" for the documents root (":commit", ":runQuery").
func firestoreREST(t testing.TB, env testenv.Env, method, path, token string, body any) (int, []byte) {
	t.Helper()
	url := docURL(env, path)
	if strings.HasPrefix(path, ":") {
		url = strings.TrimSuffix(docURL(env, ""), "/") + path
	}
	status, data, err := rest(env, method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, data
}

// docURL is the REST address of a document path in env's project.
func docURL(env testenv.Env, path string) string {
	return "http://" + env.FirestoreHost + "/v1/projects/" + env.Project + "/databases/(default)/documents/" + path
}

// fields is a REST document body with string fields.
func fields(kv ...string) map[string]any {
	f := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = map[string]any{"stringValue": kv[i+1]}
	}
	return map[string]any{"fields": f}
}

// tenantDoc is a tenant document in the contract's layout.
func tenantDoc(status rules.Status, trialEndsAt time.Time) map[string]any {
	return map[string]any{
		"name": "Rules Test Org", "status": string(status), "planId": "starter",
		"seatCap": 10, "seatsUsed": 5, "pendingInvitations": 0, "trialEndsAt": trialEndsAt,
		"source": "self_serve", "createdAt": trialEndsAt.AddDate(0, 0, -14), "createdBy": "seed",
		"statusChangedAt": trialEndsAt.AddDate(0, 0, -14),
	}
}

// writeAll commits documents (path → data) with a BulkWriter.
func writeAll(t testing.TB, fs *firestore.Client, docs map[string]map[string]any) {
	t.Helper()
	bw := fs.BulkWriter(context.Background())
	var jobs []*firestore.BulkWriterJob
	for path, data := range docs {
		j, err := bw.Set(fs.Doc(path), data)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	bw.End()
	for _, j := range jobs {
		if _, err := j.Results(); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

// situation is one row of the matrices: a stored status and, for a trial, whether the clock has
// passed its end (the deadline that closes writes before expire-trials records the change) and
// whether a contract is signed (which exempts it: the trial ends in active).
type situation struct {
	name       string
	status     rules.Status
	trialEnded bool
	contract   bool
}

// situations is every status of the table, plus the trials the clock acts on.
func situations() []situation {
	var out []situation
	for _, s := range rules.StatusTable {
		out = append(out, situation{name: string(s.Status), status: s.Status})
	}
	return append(out,
		situation{name: "trial_past_end", status: rules.StatusTrial, trialEnded: true},
		situation{name: "trial_past_end_with_contract", status: rules.StatusTrial, trialEnded: true, contract: true},
	)
}

// doc is the situation's tenant document at now.
func (s situation) doc(now time.Time) map[string]any {
	end := now.Add(7 * 24 * time.Hour)
	if s.trialEnded {
		end = now.Add(-time.Hour)
	}
	d := tenantDoc(s.status, end)
	if s.contract {
		d["contract"] = map[string]any{"reference": "CRM-MATRIX", "planId": "pro", "seatCap": 10, "goLiveDate": end}
	}
	return d
}

// The contract's access policy written out by hand, independent of rules.StatusTable,
// rules.Deadlines and rules.Check, which the API and the generated rules are both built from: a
// wrong table would pass any test that takes its expectations from it. Reads are open to every
// role in trial, active, trial_expired and past_due; writes to the four writing roles in trial
// and active only; a trial past its end is trial_expired unless a contract is signed.
var (
	handReadOpen = map[string]bool{
		"trial": true, "active": true, "trial_expired": true, "past_due": true,
		"trial_past_end": true, "trial_past_end_with_contract": true,
	}
	handWriteOpen = map[string]bool{"trial": true, "active": true, "trial_past_end_with_contract": true}
	handWriters   = map[rules.Role]bool{rules.RoleOwner: true, rules.RoleAdmin: true, rules.RoleManager: true, rules.RoleMember: true}
)

// handAllows is the hand-written policy's answer for a member with role ("" for outsiders).
func handAllows(s situation, role rules.Role, write bool) bool {
	if role == "" {
		return false
	}
	if write {
		return handWriteOpen[s.name] && handWriters[role]
	}
	return handReadOpen[s.name]
}

// state is the situation as rules.TenantState, at now.
func (s situation) state(now time.Time) rules.TenantState {
	end := now.Add(7 * 24 * time.Hour)
	if s.trialEnded {
		end = now.Add(-time.Hour)
	}
	return rules.TenantState{
		Status: s.status,
		Times:  map[string]time.Time{rules.FieldTrialEndsAt: end},
		Has:    map[string]bool{rules.FieldContract: s.contract},
	}
}
