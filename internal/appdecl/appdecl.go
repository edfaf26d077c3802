// Package appdecl loads an application's declaration of its own data model, tenantry.app.yaml:
// its app roles, and per collection who reads, who writes, the JSON Schema (draft 2020-12) of a
// document and the fields that reference other collections. The same loaded structure generates
// the Firestore rules (rules.FirestoreRulesFor) and validates documents on the server
// (ValidateDocument), so the two cannot drift.
package appdecl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tenantry/tenantry/rules"
)

// DefaultFile is the declaration's name in the working directory when TENANTRY_APP is unset.
const DefaultFile = "tenantry.app.yaml"

// Declaration is a loaded, valid declaration.
type Declaration struct {
	File string
	// App is what the rules enforce.
	App *rules.App
	// Unenforced lists, one line each, what the schemas ask that the rules cannot express; the
	// API enforces it (ValidateDocument), and `tenantry rules --explain` prints it.
	Unenforced []string
	schemas    map[string]*jsonschema.Schema
}

// Problem is one thing wrong with a declaration, at a line of its file.
type Problem struct {
	File    string
	Line    int // 0 when the problem has no single place
	Message string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Load reads and validates the declaration at path. Every problem found is returned, each with
// the file and line (errors.Join of Problems).
func Load(path string) (*Declaration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the application declaration: %w", err)
	}
	return Parse(path, data)
}

// Find loads the declaration at path, or DefaultFile in the working directory when path is ""
// and that file exists; nil, with no error, when there is none: application data then follows
// Tenantry's own access policy.
func Find(path string) (*Declaration, error) {
	if path == "" {
		if _, err := os.Stat(DefaultFile); err != nil {
			return nil, nil
		}
		path = DefaultFile
	}
	return Load(path)
}

// AppOf is the rules' view of d; nil for no declaration.
func AppOf(d *Declaration) *rules.App {
	if d == nil {
		return nil
	}
	return d.App
}

type rawDecl struct {
	Roles       []string                 `yaml:"roles"`
	Collections map[string]rawCollection `yaml:"collections"`
}

type rawCollection struct {
	Read       []string          `yaml:"read"`
	Write      []string          `yaml:"write"`
	Schema     map[string]any    `yaml:"schema"`
	References map[string]string `yaml:"references"`
}

// Parse validates a declaration's text; file names it in problems.
func Parse(file string, data []byte) (*Declaration, error) {
	tree, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Problem{File: file, Message: "not valid YAML: " + yaml.FormatError(err, false, false)}
	}
	var raw rawDecl
	if err := decodeStrict(data, &raw); err != nil {
		return nil, Problem{File: file, Message: yaml.FormatError(err, false, false) +
			"\n(a declaration has the keys roles and collections; a collection has read, write, schema and references)"}
	}
	c := checker{file: file, tree: tree, raw: raw}
	d := c.build()
	if len(c.problems) > 0 {
		sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
		errs := make([]error, len(c.problems))
		for i, p := range c.problems {
			errs[i] = p
		}
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// decodeStrict decodes data, refusing unknown keys. go-yaml panics on some inputs (FuzzParse
// found `roles: !000 0`, kept in testdata/fuzz); a declaration must fail with a message, never
// take the server down, so a panic is an error here.
func decodeStrict(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML could not be decoded (%v); check the tags and the structure", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, yaml.DisallowUnknownField())
}

var (
	roleName       = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	collectionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
)

// checker validates a raw declaration and builds the Declaration, collecting problems.
type checker struct {
	file     string
	tree     *ast.File
	raw      rawDecl
	problems []Problem
}

func (c *checker) fail(path []any, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.file, Line: lineOf(c.tree, path), Message: fmt.Sprintf(format, args...)})
}

func (c *checker) build() *Declaration {
	d := &Declaration{File: c.file, App: &rules.App{}, schemas: map[string]*jsonschema.Schema{}}
	c.checkRoles(d.App)
	for _, name := range collectionOrder(c.tree, c.raw.Collections) {
		col, ok := c.collection(name, c.raw.Collections[name], d)
		if ok {
			d.App.Collections = append(d.App.Collections, col)
		}
	}
	return d
}

func (c *checker) checkRoles(app *rules.App) {
	for i, r := range c.raw.Roles {
		path := []any{"roles", i}
		switch {
		case !roleName.MatchString(r):
			c.fail(path, "app role %q: use lowercase letters, digits and _ (at most 40), starting with a letter", r)
		case rules.ValidRole(rules.Role(r)):
			c.fail(path, "app role %q is a tenant role already; name app roles after what they do in your app (e.g. receptionist)", r)
		case slices.Contains(app.Roles, r):
			c.fail(path, "app role %q is declared twice; list it once", r)
		default:
			app.Roles = append(app.Roles, r)
		}
	}
}

// collection validates one collection and converts it for the rules.
func (c *checker) collection(name string, rc rawCollection, d *Declaration) (rules.AppCollection, bool) {
	at := []any{"collections", name}
	switch {
	case !collectionName.MatchString(name):
		c.fail(at, "collection %q: use letters, digits and _ (at most 63), starting with a letter", name)
		return rules.AppCollection{}, false
	case rules.ServerOwned(name):
		c.fail(at, "collection %q is Tenantry's own (server-owned: %s); name your collection differently", name, strings.Join(rules.ServerOwnedCollections, ", "))
		return rules.AppCollection{}, false
	}
	col := rules.AppCollection{Name: name, Read: c.roleList(at, "read", rc.Read, d.App), Write: c.roleList(at, "write", rc.Write, d.App)}
	for _, field := range sortedKeys(rc.References) {
		target := rc.References[field]
		if _, ok := c.raw.Collections[target]; !ok {
			c.fail(append(at, "references", field), "reference %s.%s names collection %q, which is not declared; declare it under collections or fix the name", name, field, target)
			continue
		}
		col.References = append(col.References, rules.Reference{Field: field, Collection: target})
	}
	if n := col.DocumentReads(); n > rules.MaxDocumentReads {
		c.fail(append(at, "references"), "collection %q has %d references; a write's rules would read %d documents, over Firestore's limit of %d per request: keep at most %d references",
			name, len(col.References), n, rules.MaxDocumentReads, rules.MaxDocumentReads-2)
	}
	if rc.Schema != nil {
		sch, compiled, unenforced, err := compileSchema(name, rc.Schema)
		if err != nil {
			c.fail(append(append(at, "schema"), schemaErrorPath(err)...), "the schema of %q is not a valid JSON Schema (draft 2020-12): %v", name, err)
			return col, false
		}
		if sch.Type != "" && sch.Type != "object" {
			c.fail(append(at, "schema"), "the schema of %q has type %q; a document is an object: use type: object", name, sch.Type)
		}
		col.Schema, d.schemas[name] = sch, compiled
		d.Unenforced = append(d.Unenforced, unenforced...)
	}
	return col, true
}

// roleList checks a collection's read or write list: tenant roles and declared app roles.
func (c *checker) roleList(at []any, key string, roles []string, app *rules.App) []string {
	out := []string{}
	for i, r := range roles {
		switch {
		case !rules.ValidRole(rules.Role(r)) && !slices.Contains(app.Roles, r):
			c.fail(append(slices.Clone(at), key, i), "%s lists role %q, which is neither a tenant role (%s) nor declared under roles; declare it or fix the name",
				key, r, tenantRoles())
		case slices.Contains(out, r):
			c.fail(append(slices.Clone(at), key, i), "%s lists role %q twice; list it once", key, r)
		default:
			out = append(out, r)
		}
	}
	return out
}

func tenantRoles() string {
	names := make([]string, len(rules.Roles))
	for i, r := range rules.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// ValidateDocument checks a document of collection against its whole schema (what the rules
// check and what they cannot). It does not check references: they need the tenant's data.
func (d *Declaration) ValidateDocument(collection string, doc map[string]any) error {
	if _, ok := d.Collection(collection); !ok {
		return fmt.Errorf("collection %q is not declared in %s", collection, d.File)
	}
	sch := d.schemas[collection]
	if sch == nil {
		return nil
	}
	// The validator wants JSON's types (json.Number for numbers), as a document sent over JSON has.
	raw, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("the document is not JSON: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// Collection returns a declared collection.
func (d *Declaration) Collection(name string) (rules.AppCollection, bool) {
	for _, c := range d.App.Collections {
		if c.Name == name {
			return c, true
		}
	}
	return rules.AppCollection{}, false
}

// HasRole reports whether r is a declared app role.
func (d *Declaration) HasRole(r string) bool { return d != nil && slices.Contains(d.App.Roles, r) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
