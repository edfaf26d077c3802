package rules_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

func TestCheckedInRulesAreGenerated(t *testing.T) {
	t.Parallel()
	got, err := os.ReadFile(filepath.Join("..", "firestore.rules"))
	if err != nil {
		t.Fatalf("read firestore.rules: %v", err)
	}
	if string(got) != rules.FirestoreRules() {
		t.Fatal("firestore.rules differs from what the policy tables generate; run `go generate ./rules` and commit the result")
	}
}

// caller is one column of the matrix: a member with a role, a signed-in non-member, or nobody.
type caller struct {
	name string
	role rules.Role // "" for the non-member and the anonymous caller
}

func matrixCallers() []caller {
	var cs []caller
	for _, r := range rules.Roles {
		cs = append(cs, caller{string(r), r})
	}
	return append(cs, caller{"non-member", ""}, caller{"anonymous", ""})
}

var matrixOps = []string{"read", "create", "update", "delete"}

// cell is one (situation, caller, operation) of the data matrix.
type cell struct {
	sit    situation
	caller caller
	op     string
}

func (c cell) String() string { return fmt.Sprintf("%s/%s/%s", c.sit.name, c.caller.name, c.op) }

// want is the contract's policy, written out by hand (handAllows), for a cell: the one
// specification both enforcement points are tested against.
func (c cell) want() bool { return handAllows(c.sit, c.caller.role, c.op != "read") }

func allCells() []cell {
	var out []cell
	for _, s := range situations() {
		for _, c := range matrixCallers() {
			for _, op := range matrixOps {
				out = append(out, cell{s, c, op})
			}
		}
	}
	return out
}

// matrixFixture is one tenant per situation, the same five role holders as members of each, a
// signed-in outsider, and per caller the documents its update and delete will target.
type matrixFixture struct {
	env     testenv.Env
	tenants map[string]string // situation name → tenant id
	users   map[string]testenv.User
}

func newMatrixFixture(t testing.TB, env testenv.Env) *matrixFixture {
	t.Helper()
	f := &matrixFixture{env: env, tenants: map[string]string{}, users: map[string]testenv.User{}}
	// Users live in the Auth emulator's project; their tokens are good in any Firestore project.
	authEnv := testenv.Require(t)
	for _, c := range matrixCallers() {
		if c.name != "anonymous" {
			f.users[c.name] = authEnv.NewUser(t, testenv.UserOptions{EmailVerified: true})
		}
	}
	var members []testenv.Member
	for _, r := range rules.Roles {
		members = append(members, f.users[string(r)].As(r))
	}
	docs := map[string]map[string]any{}
	now := time.Now().UTC()
	for _, s := range situations() {
		id := testenv.UniqueID("mx-")
		f.tenants[s.name] = id
		addDocs(docs, s.tenant(id, now, members))
		docs["tenants/"+id+"/notes/seed"] = map[string]any{"text": "seeded"}
		for _, c := range matrixCallers() {
			docs["tenants/"+id+"/notes/upd-"+c.name] = map[string]any{"text": "seeded"}
			docs["tenants/"+id+"/notes/del-"+c.name] = map[string]any{"text": "seeded"}
		}
	}
	fs := env.Firestore(t)
	testenv.WriteDocs(t, fs, docs)
	t.Cleanup(func() { deleteTenants(fs, f.tenantIDs()) })
	return f
}

func (f *matrixFixture) tenantIDs() []string {
	var ids []string
	for _, id := range f.tenants {
		ids = append(ids, id)
	}
	return ids
}

// deleteTenants removes tenants with every document under them (best effort: a leftover costs
// nothing but space, as every test uses ids of its own).
func deleteTenants(fs *firestore.Client, ids []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bw := fs.BulkWriter(ctx)
	var walk func(ref *firestore.DocumentRef)
	walk = func(ref *firestore.DocumentRef) {
		cols, err := ref.Collections(ctx).GetAll()
		if err == nil {
			for _, c := range cols {
				refs, err := c.DocumentRefs(ctx).GetAll()
				if err != nil {
					continue
				}
				for _, r := range refs {
					walk(r)
				}
			}
		}
		_, _ = bw.Delete(ref)
	}
	for _, id := range ids {
		walk(fs.Collection("tenants").Doc(id))
	}
	bw.End()
}

// try performs a cell as that caller over the emulator's REST API, so the emulator evaluates the
// rules with the caller's real ID token, and says whether it was allowed (see tryOp).
func (f *matrixFixture) try(c cell) (bool, error) {
	token := ""
	if c.caller.name != "anonymous" {
		token = f.users[c.caller.name].IDToken
	}
	notes := "tenants/" + f.tenants[c.sit.name] + "/notes"
	ok, err := tryOp(f.env, c.op, notes, c.caller.name, token, fields("text", "written by "+c.caller.name), "updateMask.fieldPaths=text&")
	if err != nil {
		return false, fmt.Errorf("%s: %w", c, err)
	}
	return ok, nil
}

// tryOp performs op (read, create, update, delete) as token on collection: read reads "seed",
// create writes "new-<caller>", update and delete target "upd-<caller>" and "del-<caller>", which
// must exist (updateQuery adds to the update's query, e.g. an update mask). It says whether the
// rules allowed it: anything but 200 or 403 is an error, since a 404 or 400 would mean the probe
// itself is broken. It does not touch a testing.T, so cells can run concurrently.
func tryOp(env testenv.Env, op, collection, caller, token string, body any, updateQuery string) (bool, error) {
	var (
		status int
		resp   []byte
		err    error
	)
	switch op {
	case "read":
		status, resp, err = env.TryFirestoreREST(http.MethodGet, collection+"/seed", token, nil)
	case "create":
		status, resp, err = env.TryFirestoreREST(http.MethodPost, collection+"?documentId=new-"+caller, token, body)
	case "update":
		status, resp, err = env.TryFirestoreREST(http.MethodPatch, collection+"/upd-"+caller+"?"+updateQuery+"currentDocument.exists=true", token, body)
	case "delete":
		status, resp, err = env.TryFirestoreREST(http.MethodDelete, collection+"/del-"+caller+"?currentDocument.exists=true", token, nil)
	}
	switch {
	case err != nil:
		return false, err
	case status == http.StatusOK:
		return true, nil
	case status == http.StatusForbidden:
		return false, nil
	}
	return false, fmt.Errorf("unexpected HTTP %d: %s", status, resp)
}

// tryAll performs every cell, eight at a time (the calls wait on the network, not the CPU), and
// returns what the rules allowed, by cell.
func (f *matrixFixture) tryAll(t testing.TB, cells []cell) map[cell]bool {
	t.Helper()
	var (
		mu   sync.Mutex
		got  = make(map[cell]bool, len(cells))
		errs []error
		wg   sync.WaitGroup
		next = make(chan cell)
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				ok, err := f.try(c)
				mu.Lock()
				got[c] = ok
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range cells {
		next <- c
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return got
}

// TestDataMatrix is the whole policy for application data, cell by cell: every status in every
// grace state (none, in grace, grace over), and a trial past its end with and without a
// contract, × every role, a signed-in non-member and an
// anonymous caller × read, create, update and delete, each performed as that user against the
// generated rules in the emulator. The expectation of each cell is the contract's policy written
// out by hand (handAllows); TestCheckAgreesWithHandWrittenPolicy holds the API's tables to it.
func TestDataMatrix(t *testing.T) {
	t.Parallel()
	env := loadRules(t)
	f := newMatrixFixture(t, env)
	cells := allCells()
	t.Logf("%d cells: %d situations × %d callers × %d operations", len(cells), len(situations()), len(matrixCallers()), len(matrixOps))
	got := f.tryAll(t, cells)
	// One subtest per cell, so `go test -run 'TestDataMatrix/past_due/viewer'` names it too.
	for _, c := range cells {
		t.Run(c.String(), func(t *testing.T) {
			if want := c.want(); got[c] != want {
				t.Errorf("cell %s: rules allowed=%v, policy table allows=%v", c, got[c], want)
			}
		})
	}
}

// mutant is a deliberately wrong edit of the generated rules, with what the wrong rules allow.
type mutant struct {
	name     string
	from, to string // text replaced in the generated rules
	allows   func(c cell) bool
}

// TestMatrixCatchesWrongRules proves the matrix can fail: it runs the same cells against
// deliberately broken rules (in a project of their own, so nobody else sees them) and requires
// the matrix to report exactly the cells each break opens, by name.
func TestMatrixCatchesWrongRules(t *testing.T) {
	t.Parallel()
	// What the stored status alone opens (the mutants below test d.status only).
	readOpen := func(s rules.Status) bool { return handReadOpen[string(s)] }
	mutants := []mutant{
		{
			name: "the status check dropped from writes",
			from: "return (d.status in ['trial', 'active'] && !trialEndsAtPassed(d)) || graceEndsAtAhead(d);",
			to:   "return d.status in ['trial', 'trial_expired', 'active', 'past_due'];",
			allows: func(c cell) bool {
				if c.caller.role == "" {
					return false
				}
				if c.op == "read" {
					return c.want()
				}
				return readOpen(c.sit.status) && isWriter(c.caller.role)
			},
		},
		{
			name: "viewers may write",
			from: "statusAllowsWrite(t) && role(t) in ['owner', 'admin', 'manager', 'member'];",
			to:   "statusAllowsWrite(t) && role(t) in ['owner', 'admin', 'manager', 'member', 'viewer'];",
			allows: func(c cell) bool {
				if c.caller.role == "" {
					return false
				}
				if c.op == "read" {
					return c.want()
				}
				return handWriteOpen[c.sit.handKey()]
			},
		},
		{
			name:   "the trial's end ignored (writes stay open until the job runs)",
			from:   "return (d.status in ['trial', 'active'] && !trialEndsAtPassed(d)) || graceEndsAtAhead(d);",
			to:     "return d.status in ['trial', 'active'] || graceEndsAtAhead(d);",
			allows: writesAs(named("trial_past_end"), always),
		},
		{
			name:   "past-due grace ignored (writes close on the first failed payment whatever graceEndsAt says)",
			from:   " || graceEndsAtAhead(d);",
			to:     ";",
			allows: writesAs(named("past_due_in_grace"), never),
		},
		{
			name:   "a grace opens writes in any status",
			from:   "return d.status == 'past_due' && d.get('graceEndsAt', null) is timestamp",
			to:     "return d.get('graceEndsAt', null) is timestamp",
			allows: writesAs(func(s situation) bool { return s.grace == graceRunning }, always),
		},
		{
			name: "the grace's end compared the wrong way round",
			from: "request.time < d.graceEndsAt",
			to:   "request.time > d.graceEndsAt",
			allows: writesAs(func(s situation) bool { return s.status == rules.StatusPastDue && s.grace != graceNone },
				func(s situation) bool { return s.grace == graceOver }),
		},
	}
	generated := rules.FirestoreRules()
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			if strings.Count(generated, m.from) != 1 {
				t.Fatalf("the mutant's anchor %q is not in the generated rules exactly once; update the mutant", m.from)
			}
			env := isolated(t, strings.Replace(generated, m.from, m.to, 1))
			requireReported(t, "the data matrix", dataMismatches(t, env), wrongCells(m.allows))
		})
	}
}

// isWriter says whether the contract lets role write data.
func isWriter(r rules.Role) bool { return slices.Contains(handActionOf(rules.WriteData).roles, r) }

// writesAs is what rules allow that differ from the contract's policy only in writes in the
// situations `in` picks: there, writers may write exactly when open says so.
func writesAs(in, open func(situation) bool) func(c cell) bool {
	return func(c cell) bool {
		if c.op != "read" && in(c.sit) {
			return open(c.sit) && isWriter(c.caller.role)
		}
		return c.want()
	}
}

func named(name string) func(situation) bool { return func(s situation) bool { return s.name == name } }
func always(situation) bool                  { return true }
func never(situation) bool                   { return false }

// dataMismatches runs the data matrix against the rules loaded in env's project and names the
// cells where they differ from the contract's policy.
func dataMismatches(t testing.TB, env testenv.Env) []string {
	t.Helper()
	allowed := newMatrixFixture(t, env).tryAll(t, allCells())
	var got []string
	for _, c := range allCells() {
		if allowed[c] != c.want() {
			got = append(got, c.String())
		}
	}
	return got
}

// wrongCells names the cells where allows differs from the contract's policy.
func wrongCells(allows func(c cell) bool) []string {
	var want []string
	for _, c := range allCells() {
		if allows(c) != c.want() {
			want = append(want, c.String())
		}
	}
	return want
}

// requireReported fails the test unless the matrix, run against a deliberate break, reported
// exactly the mismatches the break causes (want, worked out by hand), by name.
func requireReported(t testing.TB, matrix string, got, want []string) {
	t.Helper()
	sort.Strings(got)
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatalf("the break changes nothing %s checks; it proves nothing", matrix)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("against the break %s reported %d mismatches:\n  %s\nwant the %d the break causes:\n  %s",
			matrix, len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
	t.Logf("%s reports the %d mismatches this break causes, e.g. %s", matrix, len(got), got[0])
}
