package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/testenv"
)

// tenantry export builds the archive at once, says what it did, saves it with --out and leaves an
// audit entry; without a bucket it refuses, saying which variable to set.
func TestExportCLI(t *testing.T) {
	env, _, _ := cliEnv(t)
	_, bucket := testenv.Storage(t)
	t.Setenv("TENANTRY_EXPORT_BUCKET", bucket)
	t.Setenv("TENANTRY_EXPORT_SIGNING_KEY", strings.Repeat("s", 32))
	tn := seedLinkedTenant(t, env)
	docs := map[string]map[string]any{}
	for i := range 30 {
		docs[fmt.Sprintf("%s/clients/c%d", tn.Path(), i)] = map[string]any{"name": fmt.Sprint("Client ", i)}
	}
	testenv.WriteDocs(t, env.Firestore(t), docs)

	// 30 clients, the owner's membership and the audit entry of this export.
	out := filepath.Join(t.TempDir(), "export.tar.gz")
	code, stdout, stderr := runCLI("export", "--tenant", tn.ID, "--out", out)
	if code != 0 || !strings.Contains(stdout, "Exported tenant "+tn.ID) || !strings.Contains(stdout, "32 documents") ||
		!strings.Contains(stdout, "/exports/"+tn.ID+"/") || !strings.Contains(stderr, "documents") {
		t.Fatalf("export: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if files := tarLines(t, out); files["clients.ndjson"] != 30 || files["members.ndjson"] != 1 || files["audit.ndjson"] != 1 || files["manifest.json"] == 0 {
		t.Errorf("the saved archive holds %v", files)
	}
	audit, err := env.Firestore(t).Collection(tn.Path()+"/audit").Where("action", "==", "tenant.export_requested").Documents(context.Background()).GetAll()
	if err != nil || len(audit) != 1 || audit[0].Data()["actorSystem"] != "cli" {
		t.Errorf("audit entries of the export: %d (%v)", len(audit), err)
	}

	t.Setenv("TENANTRY_EXPORT_BUCKET", "")
	if code, _, stderr := runCLI("export", "--tenant", tn.ID); code != 2 || !strings.Contains(stderr, "TENANTRY_EXPORT_BUCKET") {
		t.Errorf("without a bucket: exit %d, %s", code, stderr)
	}
}

// tarLines counts the lines of each file of a tar.gz.
func tarLines(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]int{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = strings.Count(string(b), "\n")
	}
}
