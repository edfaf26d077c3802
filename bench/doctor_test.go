package bench

// The doctor's scan time against the Firestore emulator (scripts/stack.sh up):
//
//	go test -run '^$' -bench Doctor -benchtime 1x ./bench/
//
// BenchmarkDoctorScan seeds N consistent tenants (an owner each, with its users/{uid} link, a
// subdomain claim and a history entry) in a project of its own and times one full scan with one
// worker and with the default pool, in the same process over the same data: tenants per second,
// the ratio, and the documents read. Figures are printed, never asserted.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/doctor"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

func BenchmarkDoctorScan(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			fs := testenv.Require(b).IsolatedProject(b).Firestore(b)
			seedConsistentTenants(b, fs, n)
			one := timeScans(b, fs, n, 1)
			pool := timeScans(b, fs, n, 0)
			b.ReportMetric(float64(n)/pool.Seconds(), "tenants/s")
			fmt.Printf("doctor scan of %d tenants: the default pool is %.2fx one worker\n", n, one.Seconds()/pool.Seconds())
		})
	}
}

// timeScans runs b.N full scans with the given workers (0: the default) and returns the time of one.
func timeScans(b *testing.B, fs *firestore.Client, n, workers int) time.Duration {
	b.Helper()
	svc := doctor.NewService(store.New(fs).Doctor(), clock.System{}, doctor.Config{Workers: workers})
	var total time.Duration
	var r doctor.Report
	for range b.N {
		start := time.Now()
		var err error
		if r, err = svc.Scan(context.Background(), doctor.Options{}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		if !r.Clean {
			b.Fatalf("the seeded tenants are not clean: %+v", r.Findings[:min(5, len(r.Findings))])
		}
	}
	per := total / time.Duration(b.N)
	docs := 0
	for _, v := range r.Scanned {
		docs += v
	}
	label := "the default pool"
	if workers > 0 {
		label = fmt.Sprintf("%d worker(s)", workers)
	}
	fmt.Printf("doctor scan of %d tenants, %s: %s per scan = %.0f tenants/s (%d documents read: %v)\n",
		n, label, per.Round(time.Millisecond), float64(n)/per.Seconds(), docs, r.Scanned)
	return per
}

// seedConsistentTenants writes n tenants as provisioning and the lifecycle leave them: an owner
// linked from users/{uid}, a subdomain claim, and a trial → active history entry.
func seedConsistentTenants(b *testing.B, fs *firestore.Client, n int) {
	b.Helper()
	now := time.Now()
	docs := map[string]map[string]any{}
	for i := range n {
		id, uid, sub := fmt.Sprintf("bench-%05d", i), fmt.Sprintf("owner-%05d", i), fmt.Sprintf("sub-%05d", i)
		tn := testenv.Tenant{ID: id, Status: rules.StatusActive, Members: []testenv.Member{{UID: uid, Role: rules.RoleOwner}}}
		for path, d := range tn.Docs() {
			docs[path] = d
		}
		docs[tn.Path()]["subdomain"] = sub
		docs["subdomains/"+sub] = map[string]any{"tenantId": id, "claimedAt": now}
		docs["users/"+uid] = map[string]any{"email": uid + "@example.test", "tenantIds": []string{id}}
		docs[tn.Path()+"/history/h1"] = map[string]any{"from": "trial", "to": "active", "reason": "bench", "at": now}
		if len(docs) >= 500 {
			testenv.WriteDocs(b, fs, docs)
			docs = map[string]map[string]any{}
		}
	}
	testenv.WriteDocs(b, fs, docs)
}
