package rules_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// clinic loads the example declaration the tests and the docs use.
func clinic(t testing.TB) *appdecl.Declaration {
	t.Helper()
	d, err := appdecl.Load(filepath.Join("..", "examples", "clinic", "tenantry.app.yaml"))
	if err != nil {
		t.Fatalf("the example declaration: %v", err)
	}
	return d
}

// appCaller is a column of the app matrix: a member with a tenant role and at most one app role,
// a signed-in non-member, or nobody.
type appCaller struct {
	name    string
	role    rules.Role
	appRole string
}

func appCallers(d *appdecl.Declaration) []appCaller {
	var out []appCaller
	for _, r := range rules.Roles {
		for _, a := range append([]string{""}, d.App.Roles...) {
			name := string(r)
			if a != "" {
				name += "+" + a
			}
			out = append(out, appCaller{name: name, role: r, appRole: a})
		}
	}
	return append(out, appCaller{name: "non-member"}, appCaller{name: "anonymous"})
}

// validDocs are documents each collection's schema accepts; appointments reference the seeded
// client and practitioner of their tenant.
var validDocs = map[string]map[string]any{
	"clients":       {"name": "Ada Lovelace", "email": "ada@example.test"},
	"practitioners": {"name": "Dr Ruth", "specialty": "general", "active": true},
	"appointments":  {"clientId": "c-seed", "practitionerId": "p-seed", "startsAt": "2026-12-01T09:00:00Z", "minutes": 30},
}

// appCell is one (collection, situation, caller, operation) of the app matrix.
type appCell struct {
	collection string
	sit        situation
	caller     appCaller
	op         string
}

func (c appCell) String() string {
	return fmt.Sprintf("%s/%s/%s/%s", c.collection, c.sit.name, c.caller.name, c.op)
}

// wantApp is what the declaration says, under the contract's status table written out by hand:
// a member whose tenant role or app role is in the collection's list, while the status allows.
func wantApp(d *appdecl.Declaration, c appCell) bool {
	if c.caller.role == "" {
		return false
	}
	col, _ := d.Collection(c.collection)
	list, open := col.Write, handWriteOpen[c.sit.handKey()]
	if c.op == "read" {
		list, open = col.Read, handReadOpen[c.sit.handKey()]
	}
	return open && (slices.Contains(list, string(c.caller.role)) || (c.caller.appRole != "" && slices.Contains(list, c.caller.appRole)))
}

type appFixture struct {
	env     testenv.Env
	tenants map[string]string // situation → tenant id
	users   map[string]testenv.User
}

func newAppFixture(t testing.TB, env testenv.Env, d *appdecl.Declaration) *appFixture {
	t.Helper()
	f := &appFixture{env: env, tenants: map[string]string{}, users: map[string]testenv.User{}}
	authEnv := testenv.Require(t)
	callers := appCallers(d)
	for _, c := range callers {
		if c.name != "anonymous" {
			f.users[c.name] = authEnv.NewUser(t, testenv.UserOptions{EmailVerified: true})
		}
	}
	now := time.Now().UTC()
	docs := map[string]map[string]any{}
	for _, s := range appSituations() {
		id := testenv.UniqueID("app-")
		f.tenants[s.name] = id
		base := "tenants/" + id
		for path, doc := range s.tenant(id, now, nil).Docs() {
			docs[path] = doc
		}
		for _, c := range callers[:len(callers)-2] {
			m := map[string]any{"role": string(c.role), "email": f.users[c.name].Email, "joinedAt": now}
			if c.appRole != "" {
				m["appRoles"] = []any{c.appRole}
			}
			docs[base+"/members/"+f.users[c.name].UID] = m
		}
		docs[base+"/clients/c-seed"] = validDocs["clients"]
		docs[base+"/practitioners/p-seed"] = validDocs["practitioners"]
		for _, col := range d.App.Collections {
			docs[base+"/"+col.Name+"/seed"] = validDocs[col.Name]
			for _, c := range callers {
				docs[base+"/"+col.Name+"/upd-"+c.name] = validDocs[col.Name]
				docs[base+"/"+col.Name+"/del-"+c.name] = validDocs[col.Name]
			}
		}
	}
	fs := env.Firestore(t)
	testenv.WriteDocs(t, fs, docs)
	t.Cleanup(func() { deleteTenants(fs, mapValues(f.tenants)) })
	return f
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// try performs a cell over REST as the caller and says whether the rules allowed it.
func (f *appFixture) try(c appCell) (bool, error) {
	token := ""
	if c.caller.name != "anonymous" {
		token = f.users[c.caller.name].IDToken
	}
	col := "tenants/" + f.tenants[c.sit.name] + "/" + c.collection
	ok, err := tryOp(f.env, c.op, col, c.caller.name, token, encodeDoc(validDocs[c.collection]), "")
	if err != nil {
		return false, fmt.Errorf("%s: %w", c, err)
	}
	return ok, nil
}

// encodeDoc encodes a document for the REST API.
func encodeDoc(doc map[string]any) map[string]any {
	f := map[string]any{}
	for k, v := range doc {
		f[k] = restValue(v)
	}
	return map[string]any{"fields": f}
}

func restValue(v any) map[string]any {
	switch x := v.(type) {
	case string:
		return map[string]any{"stringValue": x}
	case bool:
		return map[string]any{"booleanValue": x}
	case int:
		return map[string]any{"integerValue": fmt.Sprint(x)}
	case float64:
		return map[string]any{"doubleValue": x}
	case []any:
		vals := make([]any, len(x))
		for i, e := range x {
			vals[i] = restValue(e)
		}
		return map[string]any{"arrayValue": map[string]any{"values": vals}}
	}
	return map[string]any{"nullValue": nil}
}

func appCells(d *appdecl.Declaration) []appCell {
	var out []appCell
	for _, col := range d.App.Collections {
		for _, s := range appSituations() {
			for _, c := range appCallers(d) {
				for _, op := range matrixOps {
					out = append(out, appCell{col.Name, s, c, op})
				}
			}
		}
	}
	return out
}

// tryAppCells runs cells eight at a time and returns what the rules allowed.
func (f *appFixture) tryAll(t testing.TB, cells []appCell) map[appCell]bool {
	t.Helper()
	got := make(map[appCell]bool, len(cells))
	results := make(chan struct {
		c   appCell
		ok  bool
		err error
	})
	next := make(chan appCell)
	for range 8 {
		go func() {
			for c := range next {
				ok, err := f.try(c)
				results <- struct {
					c   appCell
					ok  bool
					err error
				}{c, ok, err}
			}
		}()
	}
	go func() {
		for _, c := range cells {
			next <- c
		}
		close(next)
	}()
	for range cells {
		r := <-results
		if r.err != nil {
			t.Error(r.err)
		}
		got[r.c] = r.ok
	}
	if t.Failed() {
		t.FailNow()
	}
	return got
}

// mismatches lists the cells where the rules' verdict differs from the declaration's.
func mismatches(d *appdecl.Declaration, cells []appCell, got map[appCell]bool) []string {
	var out []string
	for _, c := range cells {
		if got[c] != wantApp(d, c) {
			out = append(out, fmt.Sprintf("%s: rules allowed=%v, declaration says %v", c, got[c], wantApp(d, c)))
		}
	}
	sort.Strings(out)
	return out
}

// TestAppDeclarationMatrix runs the clinic declaration's rules in the emulator, every collection ×
// situation (status, and a trial past its end) × tenant role × app role (plus a non-member and an
// anonymous caller) × read, create, update, delete, each as that user over REST, and requires
// the verdict the declaration and the status table give.
func TestAppDeclarationMatrix(t *testing.T) {
	t.Parallel()
	d := clinic(t)
	env := isolated(t, rules.FirestoreRulesFor(d.App))
	f := newAppFixture(t, env, d)
	cells := appCells(d)
	got := f.tryAll(t, cells)
	t.Logf("%d cells: %d collections × %d situations × %d callers × %d operations",
		len(cells), len(d.App.Collections), len(appSituations()), len(appCallers(d)), len(matrixOps))
	if m := mismatches(d, cells, got); len(m) > 0 {
		t.Errorf("%d cells disagree with the declaration:\n  %s", len(m), strings.Join(m, "\n  "))
	}
}

// TestAppMatrixCatchesWrongDeclarations runs the matrix's expectations (the clinic declaration)
// against rules generated from a wrong one, and requires it to report exactly the cells the
// change opens or closes.
func TestAppMatrixCatchesWrongDeclarations(t *testing.T) {
	t.Parallel()
	d := clinic(t)
	wrongs := []struct {
		name  string
		edit  func(app *rules.App)
		cells func(c appCell) bool // the cells whose verdict the edit changes
	}{
		{
			name: "receptionist removed from appointments' writers",
			edit: func(app *rules.App) {
				app.Collections[2].Write = slices.DeleteFunc(slices.Clone(app.Collections[2].Write), func(r string) bool { return r == "receptionist" })
			},
			cells: func(c appCell) bool {
				return c.collection == "appointments" && c.op != "read" && c.caller.appRole == "receptionist" &&
					!slices.Contains([]rules.Role{rules.RoleOwner, rules.RoleAdmin}, c.caller.role) && handWriteOpen[c.sit.handKey()]
			},
		},
		{
			name: "practitioner given writes on clients",
			edit: func(app *rules.App) {
				app.Collections[0].Write = append(slices.Clone(app.Collections[0].Write), "practitioner")
			},
			cells: func(c appCell) bool {
				return c.collection == "clients" && c.op != "read" && c.caller.appRole == "practitioner" &&
					!slices.Contains([]rules.Role{rules.RoleOwner, rules.RoleAdmin}, c.caller.role) && handWriteOpen[c.sit.handKey()]
			},
		},
	}
	for _, w := range wrongs {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			wrong := cloneApp(d.App)
			w.edit(wrong)
			env := isolated(t, rules.FirestoreRulesFor(wrong))
			f := newAppFixture(t, env, d)
			var cells []appCell
			for _, c := range appCells(d) {
				if c.collection != "practitioners" { // the edits touch clients and appointments
					cells = append(cells, c)
				}
			}
			got := f.tryAll(t, cells)
			var want []string
			for _, c := range cells {
				if w.cells(c) {
					want = append(want, fmt.Sprintf("%s: rules allowed=%v, declaration says %v", c, !wantApp(d, c), wantApp(d, c)))
				}
			}
			sort.Strings(want)
			m := mismatches(d, cells, got)
			if len(want) == 0 || strings.Join(m, "\n") != strings.Join(want, "\n") {
				t.Fatalf("against the wrong declaration the matrix reported %d cells, want the %d the edit changes:\n  got  %s\n  want %s",
					len(m), len(want), strings.Join(m, "\n       "), strings.Join(want, "\n       "))
			}
			t.Logf("the matrix reports the %d cells this edit changes, e.g. %s", len(m), m[0])
		})
	}
}

func cloneApp(a *rules.App) *rules.App {
	c := *a
	c.Collections = slices.Clone(a.Collections)
	return &c
}

// TestAppSchemasInTheRules: the clinic's schemas hold in the rules on create and on update. A
// valid document passes; a missing required field, a wrong type, an extra field, an over-long
// string, a value outside an enum or a bound, and a reference to a document that does not exist
// are each refused.
func TestAppSchemasInTheRules(t *testing.T) {
	t.Parallel()
	d := clinic(t)
	env := isolated(t, rules.FirestoreRulesFor(d.App))
	f := newAppFixture(t, env, d)
	owner := f.users["owner"].IDToken
	base := "tenants/" + f.tenants["active"] + "/"
	with := func(col string, change map[string]any, drop ...string) map[string]any {
		doc := map[string]any{}
		for k, v := range validDocs[col] {
			doc[k] = v
		}
		for k, v := range change {
			doc[k] = v
		}
		for _, k := range drop {
			delete(doc, k)
		}
		return doc
	}
	cases := []struct {
		name, col string
		doc       map[string]any
		ok        bool
	}{
		{"valid client", "clients", with("clients", nil), true},
		{"valid appointment", "appointments", with("appointments", nil), true},
		{"missing required name", "clients", with("clients", nil, "name"), false},
		{"name not a string", "clients", with("clients", map[string]any{"name": 42}), false},
		{"an undeclared field", "clients", with("clients", map[string]any{"ssn": "123"}), false},
		{"name over 200 characters", "clients", with("clients", map[string]any{"name": strings.Repeat("a", 201)}), false},
		{"empty name", "clients", with("clients", map[string]any{"name": ""}), false},
		{"specialty outside its enum", "practitioners", with("practitioners", map[string]any{"specialty": "astrology"}), false},
		{"minutes below the minimum", "appointments", with("appointments", map[string]any{"minutes": 2}), false},
		{"minutes not an integer", "appointments", with("appointments", map[string]any{"minutes": 30.5}), false},
		{"a client that does not exist", "appointments", with("appointments", map[string]any{"clientId": "c-missing"}), false},
	}
	for _, c := range cases {
		for _, op := range []string{"create", "update"} {
			path := base + c.col + "?documentId=" + testenv.UniqueID("s-")
			method := http.MethodPost
			if op == "update" {
				method, path = http.MethodPatch, base+c.col+"/seed?currentDocument.exists=true"
			}
			status, body, err := env.TryFirestoreREST(method, path, owner, encodeDoc(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[c.ok]; status != want {
				t.Errorf("%s on %s: HTTP %d, want %d (%s)", c.name, op, status, want, body)
			}
		}
	}
}

// TestAppRulesStayWithinFirestoreLimits: the generated rules are within Firestore's size limit,
// and no write reads more documents than a request may.
func TestAppRulesStayWithinFirestoreLimits(t *testing.T) {
	t.Parallel()
	d := clinic(t)
	if n := len(rules.FirestoreRulesFor(d.App)); n > rules.MaxRulesBytes {
		t.Errorf("the clinic's rules are %d bytes, over Firestore's %d", n, rules.MaxRulesBytes)
	}
	for _, c := range d.App.Collections {
		if n := c.DocumentReads(); n > rules.MaxDocumentReads {
			t.Errorf("a write to %s reads %d documents, over Firestore's %d", c.Name, n, rules.MaxDocumentReads)
		}
	}
	// Counted, not assumed: the only documents the rules read are the tenant, the caller's
	// membership and one per reference.
	text := rules.FirestoreRulesFor(d.App)
	if got := strings.Count(text, "exists(/databases/$(database)/documents/tenants/$(t)/"); got != 2 {
		t.Errorf("the clinic's rules hold %d reference lookups, want 2 (appointments' clientId and practitionerId)", got)
	}
	reads := map[string]bool{}
	for _, m := range documentRead.FindAllStringSubmatch(text, -1) {
		reads[m[1]] = true
	}
	if len(reads) != 4 || len(reads) > rules.MaxDocumentReads {
		t.Errorf("the rules read %d distinct documents %v; want 4: the tenant, the membership and the two references", len(reads), reads)
	}
}

// documentRead finds the documents the rules read with get() and exists().
var documentRead = regexp.MustCompile(`(?:^|[^.\w])(?:get|exists)\((memberPath\(t\)|tenantPath\(t\)|/databases/\$\(database\)/documents/tenants/\$\(t\)/\w+/\$\(d\.\w+\))\)`)
