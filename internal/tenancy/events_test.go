package tenancy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/outbox/kinds"
)

// EventTypes lists every Event type of the package, and docs/events.md documents every type and
// every field of its data, so that the application team reads what is sent.
func TestEveryEventTypeIsListedAndDocumented(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "events.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared, listed []string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "EventType" && fn.Recv != nil {
			declared = append(declared, fn.Recv.List[0].Type.(*ast.Ident).Name)
		}
	}
	for _, ev := range EventTypes {
		listed = append(listed, reflect.TypeOf(ev).Name())
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if !slices.Equal(declared, listed) || len(slices.Compact(slices.Clone(listed))) != len(listed) {
		t.Errorf("EventTypes lists %v; the package declares %v", listed, declared)
	}
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range EventTypes {
		section := string(doc)
		if i := strings.Index(section, "### `"+ev.EventType()+"`"); i >= 0 {
			section = section[i:]
		} else {
			t.Errorf("docs/events.md has no section for %s", ev.EventType())
			continue
		}
		if end := strings.Index(section[4:], "\n### "); end >= 0 {
			section = section[:end+4]
		}
		typ := reflect.TypeOf(ev)
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name != "tenantId" && !strings.Contains(section, "`"+name+"`") {
				t.Errorf("docs/events.md does not document %s's field %s", ev.EventType(), name)
			}
		}
	}
}

func TestEmit(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 9, 40, 0, 123456789, time.FixedZone("CET", 3600))
	ev := MemberRemoved{TenantID: "t1", TenantStatus: "trial", UID: "u1", Role: "member", ByUID: "u1"}
	if got := (Events{}).Emit("t1", ev, at); got != nil {
		t.Errorf("events off made %v", got)
	}
	entries := NewEvents(true).Emit("t1", ev, at)
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	e := entries[0]
	p := kinds.Decode[kinds.AppEvent](e.Payload)
	var back MemberRemoved
	if err := json.Unmarshal(p.Data, &back); err != nil || back != ev {
		t.Errorf("data %s came back as %+v (%v)", p.Data, back, err)
	}
	// Microseconds, UTC: the precision the tenant's own times have once stored in Firestore.
	if want := time.Date(2026, 11, 29, 8, 40, 0, 123456000, time.UTC); !p.Timestamp.Equal(want) || p.Type != "member.removed" || e.TenantID != "t1" || e.Kind != "app.event" {
		t.Errorf("entry %+v, payload %+v", e, p)
	}
	if again := NewEvents(true).Emit("t1", ev, at); again[0].ID == e.ID {
		t.Errorf("two events share the id %s (the webhook-id receivers dedupe on)", e.ID)
	}
}

// A status change's event chains to the one before: previousChangedAt is the tenant's
// statusChangedAt as read, at the precision every event time has.
func TestStatusChangedChainsToThePreviousChange(t *testing.T) {
	t.Parallel()
	prev := time.Date(2026, 11, 1, 0, 0, 0, 5000, time.UTC)
	now := prev.Add(time.Hour + 999) // nanoseconds that Firestore would drop
	tnt := Tenant{ID: "t1", Status: "trial", StatusChangedAt: prev}
	ev := statusChanged(tnt, StatusChange{Status: "suspended", At: now, Cause: CauseStaff, History: HistoryEntry{Reason: "r"}})
	if !ev.PreviousChangedAt.Equal(prev) || !ev.ChangedAt.Equal(now.Truncate(time.Microsecond)) || ev.PreviousStatus != "trial" || ev.Status != "suspended" || ev.Cause != "staff" {
		t.Errorf("event %+v", ev)
	}
}
