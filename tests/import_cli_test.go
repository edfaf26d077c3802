package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/importclient"
	"github.com/tenantry/tenantry/rules"
)

// missingClients are the lines (1-based) of the clinic's appointments file whose client never
// came over: the seed's story.
var missingClients = []int{17, 501, 502, 1234, 2000, 3001, 3200}

// clinicFiles writes the clinic's migration: 400 clients (NDJSON), 4 practitioners (CSV) and
// 3,200 appointments (NDJSON), 7 of which reference clients that are not in the clients file.
func clinicFiles(t *testing.T) (clientsFile, practitionersFile, appointmentsFile string) {
	t.Helper()
	dir := t.TempDir()
	clientsFile = writeNDJSON(t, filepath.Join(dir, "clients.ndjson"), clients("c", 400))
	practitionersFile = filepath.Join(dir, "practitioners.csv")
	csv := "id,name,specialty,active\np-0,Dr Ada,general,true\np-1,Dr Bea,dentistry,false\np-2,Dr Cy,psychology,true\np-3,Dr Di,physiotherapy,\n"
	if err := os.WriteFile(practitionersFile, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	appts := make([]map[string]any, 3200)
	for i := range appts {
		client := fmt.Sprintf("c-%d", i%400)
		if slices.Contains(missingClients, i+1) {
			client = fmt.Sprintf("lost-%d", i+1)
		}
		appts[i] = appointment(fmt.Sprintf("a-%d", i), client, fmt.Sprintf("p-%d", i%4))
	}
	appointmentsFile = writeNDJSON(t, filepath.Join(dir, "appointments.ndjson"), appts)
	return clientsFile, practitionersFile, appointmentsFile
}

// clinicMigration is a fresh clinic tenant, a service token with the import scope, and the
// migration's files.
func clinicMigration(t *testing.T) (tn importTenant, token, clientsFile, practitionersFile, appointmentsFile string) {
	t.Helper()
	tn = seedImportTenant(t, clinic(t), rules.StatusTrial)
	token, _ = tn.token(t, "import")
	clientsFile, practitionersFile, appointmentsFile = clinicFiles(t)
	return tn, token, clientsFile, practitionersFile, appointmentsFile
}

func writeNDJSON(t *testing.T, path string, records []map[string]any) string {
	t.Helper()
	var b strings.Builder
	for _, r := range records {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cliImport runs `tenantry import`'s code path into tn with token.
func cliImport(t *testing.T, ctx context.Context, tn importTenant, token, file, collection string, hc *http.Client) (importclient.Result, error) {
	t.Helper()
	decl, err := appdecl.Load(clinicApp)
	if err != nil {
		t.Fatal(err)
	}
	return importclient.Run(ctx, importclient.Options{
		File: file, Collection: collection, TenantID: tn.id, Token: token, URL: tn.srv.URL + "/graphql",
		Declaration: decl, HTTPClient: hc, Attempts: 3,
	})
}

func mustCLIImport(t *testing.T, tn importTenant, token, file, collection string) importclient.Result {
	t.Helper()
	r, err := cliImport(t, context.Background(), tn, token, file, collection, nil)
	if err != nil {
		t.Fatalf("import %s: %v", file, err)
	}
	return r
}

// The seed's migration through the API: 400 clients, then 3,200 appointments of which 7
// reference missing clients. Exactly those 7 are rejected, on clientId, and written to a file to
// fix; a rerun writes nothing and counts the other 3,193 as already imported.
func TestImportClinicMigration(t *testing.T) {
	t.Parallel()
	tn, token, clientsFile, practitionersFile, appointmentsFile := clinicMigration(t)
	if r := mustCLIImport(t, tn, token, clientsFile, "clients"); r.Accepted != 400 || r.Rejected != 0 || r.Calls != 1 {
		t.Fatalf("clients: %+v", r)
	}
	if r := mustCLIImport(t, tn, token, practitionersFile, "practitioners"); r.Accepted != 4 || r.Rejected != 0 {
		t.Fatalf("practitioners (CSV): %+v", r)
	}
	if p := mustDoc(t, tn.Path()+"/practitioners/p-1"); p["active"] != false {
		t.Errorf("CSV boolean column: p-1 = %v, want active false (typed by the schema)", p)
	}
	if p := mustDoc(t, tn.Path()+"/practitioners/p-3"); len(p) != 2 {
		t.Errorf("an empty CSV cell: p-3 = %v, want the field left out", p)
	}

	first := mustCLIImport(t, tn, token, appointmentsFile, "appointments")
	if first.Records != 3200 || first.Accepted != 3193 || first.AlreadyImported != 0 || first.Rejected != 7 || first.Calls != 7 {
		t.Fatalf("appointments: %+v", first)
	}
	wantRejections(t, first.RejectionsFile)
	if _, err := os.Stat(importclient.StatePath(appointmentsFile)); !os.IsNotExist(err) {
		t.Errorf("a completed import left its state file (%v)", err)
	}

	rerun := mustCLIImport(t, tn, token, appointmentsFile, "appointments")
	if rerun.Accepted != 0 || rerun.AlreadyImported != 3193 || rerun.Rejected != 7 {
		t.Errorf("rerun: %+v, want 0 accepted, 3,193 already imported, 7 rejected", rerun)
	}
	wantRejections(t, rerun.RejectionsFile)
	if n := countDocs(t, tn.Path()+"/appointments"); n != 3193 {
		t.Errorf("%d appointments stored, want 3,193", n)
	}
}

// wantRejections checks the rejections file: exactly the 7 appointments of missing clients,
// each with the reason on clientId, in the input's format.
func wantRejections(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("rejections file: %v", err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("rejections line %q: %v", sc.Text(), err)
		}
		if reason, _ := rec[importclient.ErrorField].(string); !strings.HasPrefix(reason, "clientId: ") {
			t.Errorf("rejection %v: reason %q, want it on clientId", rec["id"], reason)
		}
		ids = append(ids, rec["id"].(string))
	}
	var want []string
	for _, line := range missingClients {
		want = append(want, fmt.Sprintf("a-%d", line-1))
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("rejected %v, want %v", ids, want)
	}
}

// killAfter lets calls through until call n, which reaches the server and commits there; then
// it cuts the import off (as a killed process) before the answer is recorded.
type killAfter struct {
	n      int32
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (k *killAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	i := k.calls.Add(1) - 1
	resp, err := http.DefaultTransport.RoundTrip(r)
	if i < k.n || err != nil {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	k.cancel()
	return nil, errors.New("killed")
}

// An import cut off midway (its last call committed on the server, the answer lost) resumes
// from where it stopped when run again: the lost call is answered again under its key, and the
// totals, the stored documents and the rejections file have no duplicate.
func TestImportResumesAfterInterruption(t *testing.T) {
	t.Parallel()
	tn, token, clientsFile, practitionersFile, appointmentsFile := clinicMigration(t)
	mustCLIImport(t, tn, token, clientsFile, "clients")
	mustCLIImport(t, tn, token, practitionersFile, "practitioners")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killer := &killAfter{n: 3, cancel: cancel}
	cut, err := cliImport(t, ctx, tn, token, appointmentsFile, "appointments", &http.Client{Transport: killer})
	if err == nil || cut.Sent != 3 {
		t.Fatalf("interrupted import: %+v, %v; want an error after 3 completed calls", cut, err)
	}
	lost := 0 // appointments of missing clients among the first four calls' 2,000
	for _, line := range missingClients {
		if line <= 4*500 {
			lost++
		}
	}
	if n := countDocs(t, tn.Path()+"/appointments"); n != 4*500-lost {
		t.Fatalf("%d appointments stored, want %d: the fourth call commits on the server", n, 4*500-lost)
	}
	resumed := mustCLIImport(t, tn, token, appointmentsFile, "appointments")
	if resumed.Sent != 4 || resumed.Accepted != 3193 || resumed.AlreadyImported != 0 || resumed.Rejected != 7 {
		t.Errorf("resumed import: %+v, want 4 calls sent and the totals of one clean run", resumed)
	}
	wantRejections(t, resumed.RejectionsFile)
	if n := countDocs(t, tn.Path()+"/appointments"); n != 3193 {
		t.Errorf("%d appointments stored, want 3,193", n)
	}
}
