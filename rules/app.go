package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// App is an application's own data model, declared once in tenantry.app.yaml (package appdecl
// loads and validates it): its app roles, and per collection who reads, who writes and what a
// document must look like. The generated rules enforce it under the status table, which always
// applies on top; the API enforces the same structure where it touches application data.
type App struct {
	Roles       []string        // app roles, held by members besides their tenant role
	Collections []AppCollection // in declaration order
}

// AppCollection is one declared collection, directly under a tenant.
type AppCollection struct {
	Name  string
	Read  []string // tenant roles and app roles that read
	Write []string // tenant roles and app roles that create, update and delete
	// Schema is what the rules check of a document on create and update; nil checks nothing.
	Schema *Schema
	// References maps a field to the collection whose document (in the same tenant) it names.
	References []Reference
}

// Reference says that Field holds the id of a document of Collection in the same tenant.
type Reference struct {
	Field      string
	Collection string
}

// Schema is the part of a JSON Schema that the rules can express. appdecl lists what a
// declaration uses beyond it (the API enforces that part).
type Schema struct {
	Type       string // "object", "string", "number", "integer", "boolean", "array", "null" or "" (any)
	Required   []string
	Properties []Property // in declaration order
	// Closed is additionalProperties: false.
	Closed               bool
	Enum                 []any // strings, float64s, bools
	MinLength, MaxLength *int  // strings; for arrays, minItems and maxItems
	Minimum, Maximum     *float64
}

// Property is a named property of an object schema.
type Property struct {
	Name   string
	Schema *Schema
}

// Firestore's limits that the generated rules must stay within.
const (
	// MaxDocumentReads is the number of distinct documents get() and exists() may read in one
	// single-document request (a batch or transaction may read 20 across its writes).
	MaxDocumentReads = 10
	// MaxRulesBytes is the largest rules source Firestore accepts.
	MaxRulesBytes = 256 * 1024
	// baseDocumentReads are the tenant and the caller's membership, which every request reads.
	baseDocumentReads = 2
)

// DocumentReads is how many distinct documents a write to c reads in the rules: the tenant, the
// membership and one per reference.
func (c AppCollection) DocumentReads() int { return baseDocumentReads + len(c.References) }

// appRules writes the rules of a declared data model: role helpers, one validator per
// collection with a schema, and one match per collection. A collection it does not declare
// matches nothing, so it is closed to clients.
func appRules(w func(string, ...any), app *App) {
	w("    // App roles: tenants/{t}/members/{uid}.appRoles, held besides the tenant role.\n")
	w("    function appRoles(t) {\n      return get(memberPath(t)).data.get('appRoles', []);\n    }\n\n")
	w("    // The caller's tenant role or one of its app roles is in roles.\n")
	w("    function hasRole(t, roles) {\n      return role(t) in roles || appRoles(t).hasAny(roles);\n    }\n\n")
	w("    // A declared collection's role lists, always under the status table.\n")
	w("    function canReadApp(t, roles) {\n      return isMember(t) && statusAllowsRead(t) && hasRole(t, roles);\n    }\n\n")
	w("    function canWriteApp(t, roles) {\n      return isMember(t) && statusAllowsWrite(t) && hasRole(t, roles);\n    }\n\n")
	for _, c := range app.Collections {
		if c.Schema == nil && len(c.References) == 0 {
			continue
		}
		w("    // A document of %s as tenantry.app.yaml declares it.\n", c.Name)
		w("    function %s(t, d) {\n      return %s;\n    }\n\n", validFunc(c.Name), collectionCheck(c))
	}
	for _, c := range app.Collections {
		w("    match /tenants/{t}/%s/{docId} {\n", c.Name)
		w("      allow read: if canReadApp(t, %s);\n", list(c.Read))
		if c.Schema == nil && len(c.References) == 0 {
			w("      allow create, update, delete: if canWriteApp(t, %s);\n", list(c.Write))
		} else {
			w("      allow create, update: if canWriteApp(t, %s) && %s(t, request.resource.data);\n", list(c.Write), validFunc(c.Name))
			w("      allow delete: if canWriteApp(t, %s);\n", list(c.Write))
		}
		w("    }\n\n")
	}
}

// validFunc names a collection's validator: appointments → validAppointments. Collection names
// are identifiers (appdecl checks), so the result is one too.
func validFunc(collection string) string {
	return "valid" + strings.ToUpper(collection[:1]) + collection[1:]
}

// collectionCheck is a collection's document check: its schema and its references.
func collectionCheck(c AppCollection) string {
	var parts []string
	if c.Schema != nil {
		parts = append(parts, schemaCheck("d", c.Schema, "\n        && "))
	}
	for _, r := range c.References {
		// The field names a document of the collection in the same tenant; an absent field is
		// the schema's business (required).
		parts = append(parts, fmt.Sprintf("(!('%s' in d) || (d.%s is string && exists(/databases/$(database)/documents/tenants/$(t)/%s/$(d.%s))))",
			r.Field, r.Field, r.Collection, r.Field))
	}
	if len(parts) == 0 {
		return "true"
	}
	return strings.Join(parts, "\n        && ")
}

// schemaCheck renders the checks of s on the value at path, joined by sep.
func schemaCheck(path string, s *Schema, sep string) string {
	var parts []string
	if t := typeCheck(path, s.Type); t != "" {
		parts = append(parts, t)
	}
	if len(s.Enum) > 0 {
		parts = append(parts, path+" in "+literalList(s.Enum))
	}
	sized := s.Type == "string" || s.Type == "array"
	if s.MinLength != nil && sized {
		parts = append(parts, fmt.Sprintf("%s.size() >= %d", path, *s.MinLength))
	}
	if s.MaxLength != nil && sized {
		parts = append(parts, fmt.Sprintf("%s.size() <= %d", path, *s.MaxLength))
	}
	numeric := s.Type == "number" || s.Type == "integer"
	if s.Minimum != nil && numeric {
		parts = append(parts, fmt.Sprintf("%s >= %s", path, number(*s.Minimum)))
	}
	if s.Maximum != nil && numeric {
		parts = append(parts, fmt.Sprintf("%s <= %s", path, number(*s.Maximum)))
	}
	if s.Type == "object" {
		parts = append(parts, objectChecks(path, s)...)
	}
	if len(parts) == 0 {
		return "true"
	}
	return strings.Join(parts, sep)
}

// objectChecks are an object's required and closed keys, and each property's checks where the
// property is present.
func objectChecks(path string, s *Schema) []string {
	var parts []string
	if len(s.Required) > 0 {
		parts = append(parts, fmt.Sprintf("%s.keys().hasAll(%s)", path, list(s.Required)))
	}
	if s.Closed {
		names := make([]string, len(s.Properties))
		for i, p := range s.Properties {
			names[i] = p.Name
		}
		parts = append(parts, fmt.Sprintf("%s.keys().hasOnly(%s)", path, list(names)))
	}
	for _, p := range s.Properties {
		check := schemaCheck(path+"."+p.Name, p.Schema, " && ")
		if check == "true" {
			continue
		}
		if slices.Contains(s.Required, p.Name) {
			parts = append(parts, "("+check+")")
		} else {
			parts = append(parts, fmt.Sprintf("(!('%s' in %s) || (%s))", p.Name, path, check))
		}
	}
	return parts
}

// rulesTypes maps JSON Schema types to the rules' type names.
var rulesTypes = map[string]string{
	"object": "map", "string": "string", "number": "number", "integer": "int",
	"boolean": "bool", "array": "list",
}

// typeCheck is the rules' type test for a JSON Schema type.
func typeCheck(path, t string) string {
	rulesType := rulesTypes[t]
	switch {
	case t == "null":
		return path + " == null"
	case rulesType != "":
		return path + " is " + rulesType
	}
	return ""
}

// literalList renders enum values as a rules list literal.
func literalList(vs []any) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		switch x := v.(type) {
		case string:
			out[i] = strconv.Quote(x)
		case float64:
			out[i] = number(x)
		case bool:
			out[i] = strconv.FormatBool(x)
		default:
			out[i] = "null"
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// number renders a bound: integers without a decimal point, so they compare with int fields.
func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
