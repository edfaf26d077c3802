package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// trialCount is how many due trials BenchmarkExpireTrials expires per pass:
// TENANTRY_BENCH_TRIALS, default 10,000.
func trialCount(b *testing.B) int {
	n := 10000
	if v := os.Getenv("TENANTRY_BENCH_TRIALS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("TENANTRY_BENCH_TRIALS=%q: want a positive number of tenants", v)
		}
	}
	return n
}

// seedDueTrials writes n trial tenants whose trial ended before cutoff, with a BulkWriter.
func seedDueTrials(b *testing.B, fs *firestore.Client, n int, cutoff time.Time) {
	b.Helper()
	prefix := testenv.UniqueID("bx-")
	tenants := make([]testenv.Tenant, n)
	for i := range tenants {
		tenants[i] = testenv.Tenant{ID: fmt.Sprintf("%s-%05d", prefix, i), Name: "Bench Org", CreatedBy: "bench",
			TrialEndsAt: cutoff.Add(-time.Duration(i+1) * time.Second)}
	}
	testenv.SeedTenants(b, fs, tenants...)
}

// BenchmarkExpireTrials measures the expire-trials job over TENANTRY_BENCH_TRIALS (10,000) due
// trials, at several worker counts: each tenant is its own transaction (read, check, write the
// status, a history entry and the conversion email's outbox entry). The data lives in a project of
// its own, so the job sees only these tenants. Run: make bench BENCHFLAGS='-bench ExpireTrials'.
func BenchmarkExpireTrials(b *testing.B) {
	n := trialCount(b)
	catalog, err := plans.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			env := testenv.Require(b).IsolatedProject(b)
			fs := env.Firestore(b)
			cutoff := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			svc := tenancy.NewService(store.New(fs), catalog, clock.NewManual(cutoff), nil, tenancy.Config{})
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				start := time.Now()
				seedDueTrials(b, fs, n, cutoff)
				b.Logf("seeded %d due trials in %s with a BulkWriter", n, time.Since(start).Round(time.Millisecond))
				b.StartTimer()
				start = time.Now()
				res, err := svc.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{Workers: workers}, nil)
				elapsed := time.Since(start)
				if err != nil || res.Expired != n {
					b.Fatalf("job: %s, %v; want %d expired", res, err, n)
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "tenants/s")
				b.Logf("expire-trials, %d workers: %d tenants in %s = %.0f tenants/s", workers, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
			}
		})
	}
}

// BenchmarkPolicyCheck measures what the API's policy check adds to a request, in one process,
// interleaved: listing a tenant's members through the domain (Authorize reads the tenant and the
// caller's membership, then rules.Check) against the same list read straight from the store
// (no check), plus the whole GraphQL request for scale and rules.Check on its own.
func BenchmarkPolicyCheck(b *testing.B) {
	s := startServer(b)
	fs := s.app.Firestore()
	st := store.New(fs)
	ctx := context.Background()
	id := testenv.UniqueID("bp-")
	testenv.SeedTenants(b, fs, testenv.Tenant{ID: id, Name: "Policy Bench", Status: rules.StatusActive, TrialEndsAt: time.Now().UTC(),
		CreatedBy: s.uid, Members: []testenv.Member{{UID: s.uid, Role: rules.RoleAdmin, Email: s.email}}})
	b.Cleanup(func() {
		_, _ = fs.Doc("tenants/" + id + "/members/" + s.uid).Delete(context.Background())
		_, _ = fs.Doc("tenants/" + id).Delete(context.Background())
	})
	asMember := auth.WithPrincipal(ctx, auth.Principal{UID: s.uid, Email: s.email})
	httpCall := func(int) error {
		return s.gql(`query($id: ID!) { tenant(id: $id) { members { role } } }`, map[string]any{"id": id})
	}
	withCheck := func(int) error { _, err := s.app.Tenancy.Members(asMember, id); return err }
	withoutCheck := func(int) error { _, err := st.Members(ctx, id); return err }

	const calls = 400
	for b.Loop() {
		// Warm connections and the emulator's caches on every path first.
		for _, op := range []func(int) error{httpCall, withCheck, withoutCheck} {
			if _, _, err := Run(20, 1, op); err != nil {
				b.Fatal(err)
			}
		}
		// Interleave the two domain paths in rounds, so drift in the emulator hits both alike.
		with, without := &Sample{}, &Sample{}
		var wallWith, wallWithout time.Duration
		for range 4 {
			s1, w1, err := Run(calls/4, 1, withCheck)
			if err != nil {
				b.Fatal(err)
			}
			s2, w2, err := Run(calls/4, 1, withoutCheck)
			if err != nil {
				b.Fatal(err)
			}
			with.lat, without.lat = append(with.lat, s1.lat...), append(without.lat, s2.lat...)
			wallWith, wallWithout = wallWith+w1, wallWithout+w2
		}
		httpS, httpWall, err := Run(calls, 1, httpCall)
		if err != nil {
			b.Fatal(err)
		}
		var sink error
		checkStart := time.Now()
		const checks = 1_000_000
		for i := range checks {
			sink = rules.Check(rules.StatusActive, rules.Roles[i%len(rules.Roles)], rules.ReadData)
		}
		checkNs := float64(time.Since(checkStart).Nanoseconds()) / checks
		_ = sink
		added := with.Percentile(50) - without.Percentile(50)
		b.Logf("\n%s\n%s\n%s\n%s\nadded by the policy check at p50: %.2f ms (%.0f%% of the whole request's p50); rules.Check alone: %.0f ns",
			Header(),
			Row("tenant{members} over HTTP (token check, tenant read, policy check, list)", httpS, httpWall),
			Row("members via the domain, with the policy check", with, wallWith),
			Row("members from the store, without the check", without, wallWithout),
			float64(added.Microseconds())/1000, 100*float64(added)/float64(httpS.Percentile(50)), checkNs)
		b.ReportMetric(float64(added.Microseconds())/1000, "added-p50-ms")
		b.ReportMetric(float64(httpS.Percentile(50).Microseconds())/1000, "http-p50-ms")
		b.ReportMetric(checkNs, "check-ns")
	}
}
