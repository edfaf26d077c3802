package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/importclient"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// BenchmarkImport measures `tenantry import`'s code path (importclient.Run: the file read, calls
// of 500 over HTTP with a service token, importRecords' checks and create-only transactions on
// the Firestore emulator) over 10,000 clinic appointments, each checked against its schema and
// its two references; then the same file again, when every record is already imported.
// Run: go test -run '^$' -bench Import -benchtime 1x ./bench/
func BenchmarkImport(b *testing.B) {
	const n = 10_000
	s := startServerWith(b, func(c *config.Config) { c.AppFile = "../examples/clinic/tenantry.app.yaml" })
	tenantID := testenv.UniqueID("bench")
	testenv.SeedTenants(b, s.app.Firestore(), testenv.Tenant{ID: tenantID, Members: []testenv.Member{{UID: s.uid, Role: rules.RoleOwner, Email: s.email}}})
	token := s.serviceToken(b, tenantID)
	dir := b.TempDir()
	run := func(file, collection string) importclient.Result {
		r, err := importclient.Run(context.Background(), importclient.Options{
			File: file, Collection: collection, TenantID: tenantID, Token: token, URL: s.url + "/graphql", HTTPClient: client,
		})
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	run(writeLines(b, filepath.Join(dir, "clients.ndjson"), 400, func(i int) map[string]any {
		return map[string]any{"id": fmt.Sprintf("c-%d", i), "name": fmt.Sprintf("Client %d", i)}
	}), "clients")
	run(writeLines(b, filepath.Join(dir, "practitioners.ndjson"), 4, func(i int) map[string]any {
		return map[string]any{"id": fmt.Sprintf("p-%d", i), "name": "Dr " + fmt.Sprint(i), "specialty": "general"}
	}), "practitioners")
	appointments := writeLines(b, filepath.Join(dir, "appointments.ndjson"), n, func(i int) map[string]any {
		return map[string]any{"id": fmt.Sprintf("a-%d", i), "clientId": fmt.Sprintf("c-%d", i%400), "practitionerId": fmt.Sprintf("p-%d", i%4),
			"startsAt": "2026-03-02T09:30:00Z", "minutes": 30, "status": "booked", "notes": "Follow-up after the first consultation."}
	})
	for b.Loop() {
		first := run(appointments, "appointments")
		again := run(appointments, "appointments")
		if first.Accepted != n || again.AlreadyImported != n {
			b.Fatalf("first %+v, again %+v", first.Totals, again.Totals)
		}
		b.Logf("\nmachine: %d CPUs, %s/%s, %s; Firestore emulator on loopback\n%s\n%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(),
			importRow("10,000 new appointments", first), importRow("the same again (all already imported)", again))
		b.ReportMetric(float64(n)/first.Elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(n)/again.Elapsed.Seconds(), "rerun-records/s")
	}
}

func importRow(what string, r importclient.Result) string {
	return fmt.Sprintf("| %s | %d records | %d calls | %.2f s | %.0f records/s |", what, r.Records, r.Calls, r.Elapsed.Seconds(), float64(r.Records)/r.Elapsed.Seconds())
}

// serviceToken creates a service token with the import scope, as the bench user (the owner).
func (s benchServer) serviceToken(b *testing.B, tenantID string) string {
	a, err := s.answer(`mutation($in: CreateServiceTokenInput!) { createServiceToken(input: $in) { token } }`,
		map[string]any{"in": map[string]any{"tenantId": tenantID, "name": "bench", "scopes": []string{"import"}}})
	if err != nil {
		b.Fatal(err)
	}
	p, _, err := testenv.DecodeField[struct{ Token string }](a, "createServiceToken")
	if err != nil {
		b.Fatal(err)
	}
	return p.Token
}

func writeLines(b *testing.B, path string, n int, record func(i int) map[string]any) string {
	var sb strings.Builder
	for i := range n {
		line, _ := json.Marshal(record(i))
		sb.Write(line)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}
