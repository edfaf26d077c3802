package appdecl_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/rules"
)

const example = "../../examples/clinic/tenantry.app.yaml"

func TestTheClinicExampleLoads(t *testing.T) {
	d, err := appdecl.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range d.App.Collections {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "clients,practitioners,appointments" {
		t.Errorf("collections %s, want the file's order", got)
	}
	if !d.HasRole("receptionist") || !d.HasRole("practitioner") || d.HasRole("owner") {
		t.Errorf("app roles %v", d.App.Roles)
	}
	if len(d.Unenforced) == 0 || !strings.Contains(strings.Join(d.Unenforced, "\n"), "appointments.startsAt: format") {
		t.Errorf("unenforced %v; want startsAt's date-time format listed", d.Unenforced)
	}
}

// Each problem names the file and the line, and says what to do.
func TestDeclarationErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"unknown role in a list", `roles: [receptionist]
collections:
  clients:
    read: [owner, nurse]
    write: [owner]
`, "x.yaml:4: read lists role \"nurse\", which is neither a tenant role"},
		{"reference to an undeclared collection", `collections:
  appointments:
    read: [owner]
    write: [owner]
    references:
      clientId: clients
`, "x.yaml:6: reference appointments.clientId names collection \"clients\", which is not declared"},
		{"invalid schema", `collections:
  clients:
    read: [owner]
    write: [owner]
    schema:
      type: object
      properties:
        name: { type: text }
`, "x.yaml:8: the schema of \"clients\" is not a valid JSON Schema"},
		{"a server-owned collection", `collections:
  members:
    read: [owner]
`, "x.yaml:2: collection \"members\" is Tenantry's own"},
		{"an app role named like a tenant role", `roles: [receptionist, admin]
`, "x.yaml:1: app role \"admin\" is a tenant role already"},
		{"an unknown key", `collections:
  clients:
    reads: [owner]
`, "x.yaml: [3:5] unknown field \"reads\""},
		{"not YAML", "collections: [\n", "x.yaml: not valid YAML"},
		{"a document that is not an object", `collections:
  notes:
    read: [owner]
    schema: { type: string }
`, "x.yaml:4: the schema of \"notes\" has type \"string\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := appdecl.Parse("x.yaml", []byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	_, err := appdecl.Parse("x.yaml", []byte(`roles: [Bad-Role]
collections:
  a:
    read: [ghost]
    references: { x: nowhere }
`))
	var p appdecl.Problem
	if err == nil || !errors.As(err, &p) || strings.Count(err.Error(), "x.yaml:") != 3 {
		t.Fatalf("want three problems, each with its line; got %v", err)
	}
}

// The server checks the whole schema, including what the rules cannot express.
func TestValidateDocument(t *testing.T) {
	d, err := appdecl.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]any{"clientId": "c1", "practitionerId": "p1", "startsAt": "2026-12-01T09:00:00Z", "minutes": 30}
	if err := d.ValidateDocument("appointments", ok); err != nil {
		t.Errorf("a valid appointment: %v", err)
	}
	bad := map[string]any{"clientId": "c1", "practitionerId": "p1", "startsAt": "next tuesday", "minutes": 30}
	if err := d.ValidateDocument("appointments", bad); err == nil {
		t.Error("startsAt that is no date-time passed; the API must enforce the format the rules cannot")
	}
	if err := d.ValidateDocument("invoices", ok); err == nil {
		t.Error("an undeclared collection passed")
	}
}

// FuzzParse: no input makes the loader panic; whatever it accepts loads the same from a file and
// renders as rules naming each of its collections, and its document schemas run.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Clean(example)); err == nil {
		f.Add(b)
	}
	f.Add([]byte("roles: [a]\ncollections: {}\n"))
	f.Add([]byte("collections:\n  x:\n    schema: {type: object, properties: {a: {enum: [1, true, null, \"s\"]}}}\n"))
	f.Add([]byte("roles: [r]\ncollections:\n  a:\n    read: [r, member]\n    write: [owner]\n    references: {b: b}\n  b: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := appdecl.Parse("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a message")
			}
			return
		}
		path := filepath.Join(t.TempDir(), "tenantry.app.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if loaded, err := appdecl.Load(path); err != nil || len(loaded.App.Collections) != len(d.App.Collections) {
			t.Fatalf("Parse accepted what Load refuses or reads otherwise: %v", err)
		}
		out := rules.FirestoreRulesFor(d.App)
		for _, c := range d.App.Collections {
			if !strings.Contains(out, c.Name) {
				t.Fatalf("the rules do not mention the collection %q", c.Name)
			}
			_ = d.ValidateDocument(c.Name, map[string]any{"a": 1})
		}
	})
}
