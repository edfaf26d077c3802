package dataimport

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/rules"
)

func TestDocumentIDProblem(t *testing.T) {
	for _, id := range []string{"a", "c-1", "Ünïcode", "with space", strings.Repeat("x", MaxIDBytes), "a.b", "..."} {
		if why := documentIDProblem(id, true); why != "" {
			t.Errorf("%q refused: %s", id, why)
		}
	}
	for _, id := range []string{"", "a/b", "/a", "a/", ".", "..", "__x__", "____", strings.Repeat("x", MaxIDBytes+1), "\xff"} {
		if documentIDProblem(id, true) == "" {
			t.Errorf("%q accepted", id)
		}
	}
	if documentIDProblem("", false) == "" {
		t.Error("a missing id accepted")
	}
}

func TestFirestoreValueAndSameDocument(t *testing.T) {
	var rec map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"n": 30, "f": 1.5, "w": 5.0, "big": 12345678901234567, "nested": {"a": [1, "x", true, null]}}`))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil {
		t.Fatal(err)
	}
	got := firestoreValue(rec).(map[string]any)
	if got["n"] != int64(30) || got["f"] != 1.5 || got["w"] != int64(5) || got["big"] != int64(12345678901234567) {
		t.Errorf("numbers: %#v", got)
	}
	if a := got["nested"].(map[string]any)["a"].([]any); a[0] != int64(1) || a[2] != true || a[3] != nil {
		t.Errorf("nested: %#v", a)
	}
	stored := map[string]any{"n": int64(30), "f": 1.5, "w": 5.0, "big": int64(12345678901234567), "nested": map[string]any{"a": []any{int64(1), "x", true, nil}}}
	if !sameDocument(stored, got) {
		t.Error("the stored form of the same record differs")
	}
	for name, change := range map[string]func(m map[string]any){
		"a number":      func(m map[string]any) { m["n"] = int64(31) },
		"a big number":  func(m map[string]any) { m["big"] = int64(12345678901234568) },
		"a field more":  func(m map[string]any) { m["x"] = "y" },
		"a field less":  func(m map[string]any) { delete(m, "f") },
		"a list item":   func(m map[string]any) { m["nested"] = map[string]any{"a": []any{int64(1), "x", true}} },
		"a string type": func(m map[string]any) { m["n"] = "30" },
	} {
		other := firestoreValue(rec).(map[string]any)
		change(other)
		if sameDocument(stored, other) {
			t.Errorf("%s changed, still the same document", name)
		}
	}
}

func TestChunks(t *testing.T) {
	recs := make([]Record, 1203)
	for i := range recs {
		recs[i] = Record{Index: i, Bytes: 100}
	}
	if got := sizes(chunks(recs)); got != "500,500,203" {
		t.Errorf("by count: %s", got)
	}
	big := []Record{{Bytes: 4 << 20}, {Bytes: 4 << 20}, {Bytes: 2 << 20}, {Bytes: 1}}
	if got := sizes(chunks(big)); got != "2,2" {
		t.Errorf("by bytes: %s", got)
	}
	if len(chunks(nil)) != 0 {
		t.Error("chunks of nothing")
	}
}

func sizes(cs [][]Record) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprint(len(c)))
	}
	return strings.Join(out, ",")
}

// A reference to the call's own collection may name a record of the same call, as long as that
// record is kept: rejections run down a chain of such references.
func TestResolveSelfReferences(t *testing.T) {
	col := rules.AppCollection{Name: "people", References: []rules.Reference{{Field: "managerId", Collection: "people"}, {Field: "teamId", Collection: "teams"}}}
	rec := func(i int, id, manager string) Record {
		f := map[string]any{"teamId": "t1"}
		if manager != "" {
			f["managerId"] = manager
		}
		return Record{Index: i, ID: id, Fields: f}
	}
	recs := []Record{
		rec(0, "boss", ""),
		rec(1, "lead", "boss"),   // a record of the call
		rec(2, "dev", "lead"),    // a chain through the call
		rec(3, "old", "veteran"), // a document already there
		rec(4, "lost", "nobody"), // nothing
		rec(5, "orphan", "lost"), // a record of the call that is rejected
		rec(6, "orphan2", "orphan"),
	}
	existing := map[DocRef]bool{{"teams", "t1"}: true, {"people", "veteran"}: true}
	kept, rejected, err := resolveReferences(col, recs, existing)
	if err != nil {
		t.Fatal(err)
	}
	var keptIDs, rejectedAt []string
	for _, r := range kept {
		keptIDs = append(keptIDs, r.ID)
	}
	for _, r := range rejected {
		rejectedAt = append(rejectedAt, fmt.Sprintf("%d:%s", r.Index, r.Field))
	}
	if strings.Join(keptIDs, ",") != "boss,lead,dev,old" || strings.Join(rejectedAt, ",") != "4:managerId,5:managerId,6:managerId" {
		t.Errorf("kept %v, rejected %v", keptIDs, rejectedAt)
	}
	// Another collection's reference never counts records of the call.
	recs = []Record{{Index: 0, ID: "t1", Fields: map[string]any{"teamId": "t2"}}, {Index: 1, ID: "t2", Fields: map[string]any{"teamId": "t1"}}}
	if kept, _, _ := resolveReferences(col, recs, map[DocRef]bool{}); len(kept) != 0 {
		t.Errorf("records of the call satisfied a reference to another collection: %v", kept)
	}
}
