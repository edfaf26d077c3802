package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// clinicServer serves the API with the clinic's declaration, on the emulators.
func clinicServer(t *testing.T) (url string, env testenv.Env) {
	t.Helper()
	env = testenv.Require(t)
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AppFile = "../../examples/clinic/tenantry.app.yaml"
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); _ = a.Close() })
	return srv.URL + "/graphql", env
}

func TestImportCLI(t *testing.T) {
	url, env := clinicServer(t)
	owner := env.NewUser(t, testenv.UserOptions{})
	tn := testenv.Tenant{ID: testenv.UniqueID("cli"), Members: []testenv.Member{owner.As(rules.RoleOwner)}}
	testenv.SeedTenants(t, env.Firestore(t), tn)
	file := filepath.Join(t.TempDir(), "clients.ndjson")
	lines := `{"id":"c-1","name":"Ada"}` + "\n" + `{"id":"c-2","name":"Bea"}` + "\n" + `{"id":"c/3","name":"Path"}` + "\n" + `not json` + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"import", "--file", file, "--collection", "clients", "--tenant", tn.ID, "--token", owner.IDToken, "--url", url}

	code, out, errs := runCLI(append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "dry run") || !strings.Contains(out, "accepted          2") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(args...)
	if code != 0 || !strings.Contains(out, "accepted          2") || !strings.Contains(out, "rejected          2") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, owner.IDToken) {
		t.Error("the token was printed")
	}
	rejected, err := os.ReadFile(filepath.Join(filepath.Dir(file), "clients.rejected.ndjson"))
	if err != nil || strings.Count(string(rejected), "\n") != 2 || !strings.Contains(string(rejected), `"id":"c/3"`) {
		t.Errorf("rejections file (%v):\n%s", err, rejected)
	}
	code, out, _ = runCLI(args...)
	if code != 0 || !strings.Contains(out, "already imported  2") {
		t.Errorf("rerun: exit %d\n%s", code, out)
	}

	code, _, errs = runCLI("import", "--file", file, "--collection", "invoices", "--tenant", tn.ID, "--token", owner.IDToken, "--url", url)
	if code != 1 || !strings.Contains(errs, "BAD_USER_INPUT") {
		t.Errorf("an undeclared collection: exit %d, %s", code, errs)
	}
	if code, _, errs = runCLI("import", "--file", file); code != 2 || !strings.Contains(errs, "required") {
		t.Errorf("missing flags: exit %d, %s", code, errs)
	}
}
