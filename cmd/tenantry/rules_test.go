package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

const clinicFile = "../../examples/clinic/tenantry.app.yaml"

func TestRulesCommand(t *testing.T) {
	t.Setenv("TENANTRY_APP", "")
	d, err := appdecl.Load(clinicFile)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI("rules", "--app", clinicFile); code != 0 || out != rules.FirestoreRulesFor(d.App) {
		t.Errorf("rules --app clinic: exit %d (%s); want the generated rules", code, errs)
	}
	if code, out, _ := runCLI("rules"); code != 0 || out != rules.FirestoreRules() {
		t.Errorf("rules without a declaration: exit %d; want Tenantry's own rules", code)
	}
	code, out, _ := runCLI("rules", "--app", clinicFile, "--explain")
	if code != 0 || !strings.Contains(out, "appointments.startsAt: format \"date-time\"") {
		t.Errorf("rules --explain: exit %d %q; want the formats the rules cannot check", code, out)
	}
}

// A declaration error stops `rules` and `serve`, naming the file and the line.
func TestInvalidDeclarationStopsRulesAndServe(t *testing.T) {
	testenv.Require(t)
	bad := filepath.Join(t.TempDir(), "tenantry.app.yaml")
	if err := os.WriteFile(bad, []byte("roles: [receptionist]\ncollections:\n  clients:\n    read: [owner, nurse]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := bad + ":4: read lists role \"nurse\""
	if code, _, errs := runCLI("rules", "--app", bad); code != 1 || !strings.Contains(errs, want) {
		t.Errorf("rules: exit %d, stderr %q; want exit 1 naming %s", code, errs, want)
	}
	t.Setenv("TENANTRY_APP", bad)
	t.Setenv("TENANTRY_LOG_LEVEL", "error")
	if code, _, errs := runCLI("serve"); code == 0 || !strings.Contains(errs, want) {
		t.Errorf("serve: exit %d, stderr %q; want it to refuse to start naming %s", code, errs, want)
	}
}
