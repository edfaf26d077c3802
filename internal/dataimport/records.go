package dataimport

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/rules"
)

// Record is a record of a call that passed the checks made without reading the tenant's data:
// Index is its place in the call, Fields the document to write (Firestore's values: int64,
// float64, string, bool, nil, []any, map[string]any).
type Record struct {
	Index  int
	ID     string
	Fields map[string]any
	Bytes  int // its size as JSON
}

// Rejection says why the record at Index was not imported; Field is the document's field it is
// about ("id" for the id, "" for the record as a whole).
type Rejection struct {
	Index  int
	Field  string
	Reason string
}

// IDField is the record's key that holds the document id; the other keys are the document.
const IDField = "id"

// parseRecords checks every record of a call against what needs no read: its shape, size and
// id, the collection's schema and the syntax of its references. It returns the records that
// pass, in order, and a rejection for each one that does not.
func parseRecords(decl *appdecl.Declaration, col rules.AppCollection, raw []any) ([]Record, []Rejection) {
	var ok []Record
	var rejected []Rejection
	seen := map[string]int{}
	for i, r := range raw {
		rec, field, reason := parseRecord(decl, col, i, r)
		if reason == "" {
			if first, dup := seen[rec.ID]; dup {
				field, reason = IDField, fmt.Sprintf("the id %q is also the id of the record at index %d of this call; give each record its own id", rec.ID, first)
			} else {
				seen[rec.ID] = i
			}
		}
		if reason != "" {
			rejected = append(rejected, Rejection{Index: i, Field: field, Reason: reason})
			continue
		}
		ok = append(ok, rec)
	}
	return ok, rejected
}

// parseRecord checks one record; reason is "" when it passes.
func parseRecord(decl *appdecl.Declaration, col rules.AppCollection, index int, raw any) (rec Record, field, reason string) {
	obj, isObject := raw.(map[string]any)
	if !isObject {
		return Record{}, "", `a record is a JSON object: {"id": "<document id>", <the document's fields>}`
	}
	encoded, err := json.Marshal(obj)
	if err != nil {
		return Record{}, "", "the record is not plain JSON"
	}
	if len(encoded) > MaxRecordBytes {
		return Record{}, "", fmt.Sprintf("the record is %d bytes as JSON, over the limit of %d; keep large content (files, images) out of documents", len(encoded), MaxRecordBytes)
	}
	id, _ := obj[IDField].(string)
	if why := documentIDProblem(id, obj[IDField] != nil); why != "" {
		return Record{}, IDField, why
	}
	doc := make(map[string]any, len(obj)-1)
	for k, v := range obj {
		if k != IDField {
			doc[k] = v
		}
	}
	if err := decl.ValidateDocument(col.Name, doc); err != nil {
		field, reason := appdecl.Violation(err)
		return Record{}, field, reason
	}
	for _, ref := range col.References {
		v, present := doc[ref.Field]
		if !present || v == nil {
			continue // the schema says whether the field is required
		}
		if s, isString := v.(string); !isString || documentIDProblem(s, true) != "" {
			return Record{}, ref.Field, fmt.Sprintf("must be the id of a %s document", ref.Collection)
		}
	}
	return Record{Index: index, ID: id, Fields: firestoreValue(doc).(map[string]any), Bytes: len(encoded)}, "", ""
}

// documentIDProblem says what is wrong with a client-chosen document id, or "": Firestore takes
// valid UTF-8 of at most 1,500 bytes without '/', other than "." and "..", and not of the form
// __.*__. A '/' would address a document elsewhere, so it is refused, never interpreted.
func documentIDProblem(id string, present bool) string {
	switch {
	case !present:
		return `every record needs an "id": the id of its document, a string`
	case id == "":
		return "the id is a string of 1 to 1,500 bytes; this one is empty or not a string"
	case !utf8.ValidString(id):
		return "the id is not valid UTF-8"
	case len(id) > MaxIDBytes:
		return fmt.Sprintf("the id is %d bytes; at most %d", len(id), MaxIDBytes)
	case strings.Contains(id, "/"):
		return `the id contains "/", which would name a document in another collection; use an id without "/"`
	case id == "." || id == "..":
		return `"." and ".." are not document ids`
	case len(id) >= 4 && strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__"):
		return "ids of the form __name__ are reserved by Firestore"
	}
	return ""
}

// firestoreValue converts a value decoded from JSON (numbers as json.Number) into what Firestore
// stores. A whole number becomes an integer, even when written 5.0, so that the rules' "is int"
// checks of later client writes accept it; other numbers become doubles.
func firestoreValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return numberValue(f)
	case float64:
		return numberValue(x)
	case int:
		return int64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = firestoreValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = firestoreValue(e)
		}
		return out
	}
	return v
}

// maxExactInt is 2^53: every integer up to it is exact as a double.
const maxExactInt = 1 << 53

func numberValue(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) <= maxExactInt {
		return int64(f)
	}
	return f
}

// sameDocument reports whether a stored document holds exactly a record's fields (numbers
// compared by value, whichever of int64 and float64 holds them).
func sameDocument(stored, fields map[string]any) bool { return sameValue(stored, fields) }

func sameValue(a, b any) bool {
	ia, aInt := a.(int64)
	ib, bInt := b.(int64)
	if aInt && bInt {
		return ia == ib
	}
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, present := y[k]
			if !present || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
