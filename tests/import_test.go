package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/rules"
)

// Without an application declaration there is no schema to check against: the import says how
// to give the server one.
func TestImportNeedsADeclaration(t *testing.T) {
	t.Parallel()
	tn := seedImportTenant(t, shared(t), rules.StatusTrial)
	e := importErr(t, shared(t), tn.owner.IDToken, importCall{tenantID: tn.id, collection: "clients", key: uniqueKey(), records: clients("c", 1)}, "BAD_USER_INPUT", "collection")
	if !strings.Contains(e.Message, "TENANTRY_APP") {
		t.Errorf("message %q does not say to set TENANTRY_APP", e.Message)
	}
}

// What the call itself gets wrong is refused whole, with the field.
func TestImportInputRefusals(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	for _, c := range []struct {
		name, collection, key string
		records               []map[string]any
		field                 string
	}{
		{"undeclared collection", "invoices", uniqueKey(), clients("c", 1), "collection"},
		{"server-owned collection", "members", uniqueKey(), clients("c", 1), "collection"},
		{"501 records", "clients", uniqueKey(), clients("c", 501), "records"},
		{"short idempotency key", "clients", "short", clients("c", 1), "idempotencyKey"},
	} {
		t.Run(c.name, func(t *testing.T) {
			importErr(t, srv, tn.owner.IDToken, importCall{tenantID: tn.id, collection: c.collection, key: c.key, records: c.records}, "BAD_USER_INPUT", c.field)
		})
	}
	if n := countDocs(t, tn.Path()+"/clients"); n != 0 {
		t.Errorf("%d clients written by refused calls", n)
	}
}

// Each record that fails a check is rejected with its index and field, and nothing is written
// for it; the others are imported.
func TestImportRejectsRecords(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	token, _ := tn.token(t, "import")
	good := clients("ok", 2)
	huge := map[string]any{"id": "huge", "name": "Huge", "phone": strings.Repeat("9", 70_000)}
	records := []map[string]any{
		good[0],
		{"id": "x/clients/evil", "name": "Path"},                  // 1: a path, not an id
		{"id": "..", "name": "Dots"},                              // 2
		{"id": "__reserved__", "name": "Reserved"},                // 3
		{"name": "No id"},                                         // 4
		{"id": "bad-type", "name": 42},                            // 5: schema: type
		{"id": "extra", "name": "Extra", "ssn": "1234"},           // 6: schema: additionalProperties
		{"id": "empty", "name": ""},                               // 7: schema: minLength
		{"id": "no-name"},                                         // 8: schema: required
		{"id": "bad-email", "name": "E", "email": "not an email"}, // 9: schema: format
		huge,                                // 10: size
		good[1],                             // 11
		{"id": "ok-0", "name": "Duplicate"}, // 12: the same id twice in one call
		{"id": strings.Repeat("i", 1501), "name": "Long id"}, // 13
	}
	r := mustImport(t, srv, token, importCall{tenantID: tn.id, collection: "clients", key: uniqueKey(), records: records})
	want := map[int]string{1: "id", 2: "id", 3: "id", 4: "id", 5: "name", 6: "ssn", 7: "name", 8: "name", 9: "email", 10: "", 12: "id", 13: "id"}
	if r.Received != len(records) || r.Accepted != 2 || r.AlreadyImported != 0 || len(r.Rejected) != len(want) {
		t.Fatalf("report %+v, want 2 accepted and %d rejected", r, len(want))
	}
	for _, rej := range r.Rejected {
		field := ""
		if rej.Field != nil {
			field = *rej.Field
		}
		if f, ok := want[rej.Index]; !ok || f != field || rej.Reason == "" {
			t.Errorf("rejection %d field %q (%s), want field %q", rej.Index, field, rej.Reason, f)
		}
	}
	if n := countDocs(t, tn.Path()+"/clients"); n != 2 {
		t.Errorf("%d clients written, want the 2 accepted", n)
	}
	assertAbsent(t, tn.Path()+"/clients/x/clients/evil", tn.Path()+"/clients/huge", tn.Path()+"/clients/extra")
	if got := mustDoc(t, tn.Path()+"/clients/ok-0"); got["name"] != "Client 0" || len(got) != 2 {
		t.Errorf("ok-0 = %v, want exactly the record's fields (the duplicate must not win)", got)
	}
}

// References must name a document of the tenant; a rerun writes nothing twice; a different
// document under an id is never overwritten; a dry run writes nothing.
func TestImportReferencesAndReruns(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	other := seedImportTenant(t, srv, rules.StatusTrial)
	token, _ := tn.token(t, "import")
	mustImport(t, srv, token, importCall{tenantID: tn.id, collection: "clients", key: uniqueKey(), records: clients("c", 3)})
	mustImport(t, srv, token, importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: []map[string]any{practitioner("p-1")}})
	otherToken, _ := other.token(t, "import")
	mustImport(t, srv, otherToken, importCall{tenantID: other.id, collection: "clients", key: uniqueKey(), records: clients("elsewhere", 1)})

	appts := []map[string]any{
		appointment("a-0", "c-0", "p-1"),
		appointment("a-1", "c-9", "p-1"),         // no such client
		appointment("a-2", "c-1", "p-9"),         // no such practitioner
		appointment("a-3", "elsewhere-0", "p-1"), // a client of another tenant
		appointment("a-4", "c-2", "p-1"),
	}
	call := importCall{tenantID: tn.id, collection: "appointments", key: uniqueKey(), records: appts, dryRun: true}
	dry := mustImport(t, srv, token, call)
	if !dry.DryRun || dry.Accepted != 2 || len(dry.Rejected) != 3 || countDocs(t, tn.Path()+"/appointments") != 0 {
		t.Fatalf("dry run %+v, or it wrote", dry)
	}
	call.dryRun, call.key = false, uniqueKey()
	first := mustImport(t, srv, token, call)
	wantFields := []string{"1:clientId", "2:practitionerId", "3:clientId"}
	if got := rejectionKeys(first.Rejected); first.Accepted != 2 || strings.Join(got, ",") != strings.Join(wantFields, ",") {
		t.Fatalf("first import %+v, rejections %v, want %v", first, got, wantFields)
	}
	call.key = uniqueKey()
	rerun := mustImport(t, srv, token, call)
	if rerun.Accepted != 0 || rerun.AlreadyImported != 2 || len(rerun.Rejected) != 3 {
		t.Errorf("rerun %+v, want 0 accepted and 2 already imported", rerun)
	}
	changed := appointment("a-0", "c-1", "p-1")
	r := mustImport(t, srv, token, importCall{tenantID: tn.id, collection: "appointments", key: uniqueKey(), records: []map[string]any{changed}})
	if r.Accepted != 0 || len(r.Rejected) != 1 || !strings.Contains(r.Rejected[0].Reason, "a different document with this id exists") {
		t.Errorf("a changed record: %+v, want it rejected", r)
	}
	if got := mustDoc(t, tn.Path()+"/appointments/a-0"); got["clientId"] != "c-0" || got["minutes"] != int64(30) {
		t.Errorf("a-0 = %v: overwritten, or its number not stored as an integer", got)
	}
	if n := countDocs(t, tn.Path()+"/appointments"); n != 2 {
		t.Errorf("%d appointments, want 2", n)
	}
}

func rejectionKeys(rs []gqlRejection) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		f := ""
		if r.Field != nil {
			f = *r.Field
		}
		out[i] = fmt.Sprintf("%d:%s", r.Index, f)
	}
	return out
}

// The idempotency key: a retry answers the first report (even when the data changed since), and
// the same key with other records is IDEMPOTENCY_KEY_REUSED.
func TestImportIdempotencyKey(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	token, _ := tn.token(t, "import")
	call := importCall{tenantID: tn.id, collection: "clients", key: uniqueKey(), records: clients("c", 5)}
	first := mustImport(t, srv, token, call)
	again := mustImport(t, srv, token, call)
	if first.Accepted != 5 || fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("retry answered %+v, want the first report %+v", again, first)
	}
	call.records = clients("c", 6)
	importErr(t, srv, token, call, "IDEMPOTENCY_KEY_REUSED", "")
	// The key is the caller's: the owner's same key is another call.
	call.records = clients("c", 5)
	if r := mustImport(t, srv, tn.owner.IDToken, call); r.AlreadyImported != 5 {
		t.Errorf("the owner's call with the token's key: %+v, want its own report", r)
	}
	if n := countDocs(t, tn.Path()+"/clients"); n != 5 {
		t.Errorf("%d clients, want 5", n)
	}
}

// Owners and admins may import with their ID token; other roles and outsiders may not.
func TestImportByMembers(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	admin, manager, member, stranger := newUser(t), newUser(t), newUser(t), newUser(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial, admin.As(rules.RoleAdmin), manager.As(rules.RoleManager), member.As(rules.RoleMember))
	call := func() importCall {
		return importCall{tenantID: tn.id, collection: "clients", key: uniqueKey(), records: clients("c", 1)}
	}
	mustImport(t, srv, tn.owner.IDToken, call())
	if r := mustImport(t, srv, admin.IDToken, call()); r.AlreadyImported != 1 {
		t.Errorf("admin: %+v", r)
	}
	importErr(t, srv, manager.IDToken, call(), "FORBIDDEN", "")
	importErr(t, srv, member.IDToken, call(), "FORBIDDEN", "")
	importErr(t, srv, stranger.IDToken, call(), "NOT_FOUND", "")
	importErr(t, srv, "", call(), "UNAUTHENTICATED", "")
}

// Only an authenticated request made of importRecords alone may be larger than
// TENANTRY_MAX_BODY_BYTES (500 appointments are about 100 KiB, over the default 64 KiB).
func TestImportBodyLimit(t *testing.T) {
	t.Parallel()
	srv := clinic(t)
	tn := seedImportTenant(t, srv, rules.StatusTrial)
	token, _ := tn.token(t, "import")
	mustImport(t, srv, token, importCall{tenantID: tn.id, collection: "practitioners", key: uniqueKey(), records: []map[string]any{practitioner("p-1")}})
	appts := make([]map[string]any, 500)
	for i := range appts {
		appts[i] = appointment(fmt.Sprintf("a-%d", i), "c-0", "p-1")
		appts[i]["notes"] = strings.Repeat("n", 150)
	}
	call := importCall{tenantID: tn.id, collection: "appointments", key: uniqueKey(), records: appts}
	body, _ := json.Marshal(map[string]any{"query": importMutation, "variables": call.vars()})
	if len(body) <= 64<<10 {
		t.Fatalf("the body is %d bytes; the test needs one over the default limit", len(body))
	}
	if r := mustImport(t, srv, token, call); r.Received != 500 {
		t.Errorf("a 500-record call: %+v", r)
	}
	both, _ := json.Marshal(map[string]any{"query": strings.Replace(importMutation, "importRecords(", "me { user { id } } importRecords(", 1), "variables": call.vars()})
	for name, c := range map[string]struct {
		token string
		body  []byte
	}{
		"anonymous":                {"", body},
		"importRecords and more":   {token, both},
		"an owner's other request": {tn.owner.IDToken, both},
	} {
		r, err := srv.post(c.token, c.body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: HTTP %d %s, want 413", name, r.Status, r.Codes())
		}
	}
}
