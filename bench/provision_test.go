package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

const provisionMutation = `mutation($in: ProvisionTenantInput!) { provisionTenant(input: $in) { replayed tenant { id status } } }`

type benchServer struct {
	url   string
	token string
	uid   string
	email string
	app   *app.App
}

func startServer(b *testing.B) benchServer { return startServerWith(b, nil) }

// startServerWith starts the app with mutate applied to its configuration.
func startServerWith(b *testing.B, mutate func(*config.Config)) benchServer {
	env := testenv.Require(b)
	cfg, err := config.Load(nil)
	if err != nil {
		b.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	// The benchmark measures the server, not the per-user rate limit.
	cfg.ProvisionBurst = 1 << 30
	// Access logs would dominate the output and the cost being measured is the server's.
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	b.Cleanup(func() { srv.Close(); _ = a.Close() })
	u := env.NewUser(b, testenv.UserOptions{EmailVerified: true})
	return benchServer{url: srv.URL, token: u.IDToken, uid: u.UID, email: u.Email, app: a}
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (s benchServer) provision(key, name string) (string, bool, error) {
	a, err := s.answer(provisionMutation, map[string]any{"in": map[string]any{"idempotencyKey": key, "organizationName": name}})
	if err != nil {
		return "", false, err
	}
	p, _, err := testenv.DecodeField[struct {
		Replayed bool
		Tenant   struct{ ID string }
	}](a, "provisionTenant")
	if err != nil {
		return "", false, err
	}
	return p.Tenant.ID, p.Replayed, nil
}

// answer sends one operation as the bench user; GraphQL errors are errors.
func (s benchServer) answer(query string, vars map[string]any) (testenv.GraphQLAnswer, error) {
	a, err := testenv.GraphQL{URL: s.url}.Call(s.token, query, vars)
	if err != nil {
		return a, err
	}
	return a, a.Err()
}

// gql is answer for calls whose data the benchmark does not read.
func (s benchServer) gql(query string, vars map[string]any) error {
	_, err := s.answer(query, vars)
	return err
}

// floorBundle is what one provisioning commits, built by hand: the bare Firestore cost.
func floorBundle(uid, email string, now time.Time) tenancy.Provisioning {
	id := tenancy.NewID()
	return tenancy.Provisioning{
		Idempotency: tenancy.IdempotencyRecord{ID: tenancy.IdempotencyRecordID(uid, id), UID: uid, Operation: "provisionTenant", ParamsHash: "x", TenantID: id, CreatedAt: now, ExpiresAt: now.Add(48 * time.Hour)},
		Tenant:      tenancy.Tenant{ID: id, Name: "Floor", Status: rules.StatusTrial, PlanID: "trial", SeatCap: 5, SeatsUsed: 1, TrialEndsAt: now.AddDate(0, 0, 14), Source: tenancy.SourceSelfServe, CreatedAt: now, StatusChangedAt: now},
		Staff:       tenancy.StaffRecord{CreatedBy: uid, SearchTokens: tenancy.SearchTokens("Floor")},
		Owner:       tenancy.Member{TenantID: id, UID: uid, Email: email, Role: rules.RoleOwner, JoinedAt: now},
		Billing:     tenancy.BillingRecord{TenantID: id, PlanID: "trial", Status: tenancy.BillingPending, CreatedAt: now},
		Outbox: []tenancy.OutboxEntry{
			{ID: "bench.floor-" + id + "-a", Kind: "bench.floor", TenantID: id, Payload: map[string]any{}, CreatedAt: now, NextAttemptAt: now.Add(24 * 365 * time.Hour)},
			{ID: "bench.floor-" + id + "-b", Kind: "bench.floor", TenantID: id, Payload: map[string]any{}, CreatedAt: now, NextAttemptAt: now.Add(24 * 365 * time.Hour)},
		},
	}
}

// BenchmarkProvisioning compares provisionTenant end to end over HTTP with the same documents
// committed directly from Go (the floor), interleaved in one process, at concurrency 1 and 16.
// Run: make bench (or go test -run '^$' -bench Provisioning -benchtime 1x ./bench/).
func BenchmarkProvisioning(b *testing.B) {
	s := startServer(b)
	st := store.New(s.app.Firestore())
	ctx := context.Background()
	const calls = 300
	var seq atomic.Int64
	for b.Loop() {
		b.Logf("\n%s", Header())
		for _, c := range []int{1, 16} {
			// Warm both paths (connections, query cache) before measuring.
			_, _, _ = Run(20, c, func(int) error { _, _, err := s.provision(fmt.Sprintf("warm-%d", seq.Add(1)), "Warm"); return err })
			httpS, httpWall, err := Run(calls, c, func(int) error {
				_, _, err := s.provision(fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), seq.Add(1)), "Bench Org")
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			floorS, floorWall, err := Run(calls, c, func(int) error {
				return st.CreateProvisioning(ctx, floorBundle(s.uid, s.email, time.Now().UTC()))
			})
			if err != nil {
				b.Fatal(err)
			}
			ratio := float64(httpS.Percentile(50)) / float64(floorS.Percentile(50))
			b.Logf("\n%s\n%s\np50 ratio HTTP/floor at concurrency %d: %.2f×", Row(fmt.Sprintf("provisionTenant over HTTP, c=%d", c), httpS, httpWall),
				Row(fmt.Sprintf("same batch direct from Go, c=%d", c), floorS, floorWall), c, ratio)
			b.ReportMetric(float64(httpS.Percentile(50).Microseconds())/1000, fmt.Sprintf("http-p50-ms/c%d", c))
			b.ReportMetric(float64(floorS.Percentile(50).Microseconds())/1000, fmt.Sprintf("floor-p50-ms/c%d", c))
			b.ReportMetric(ratio, fmt.Sprintf("p50-ratio/c%d", c))
		}
	}
}

// BenchmarkDuplicates measures the wall time of 50 identical provisionTenant calls sent at once.
func BenchmarkDuplicates(b *testing.B) {
	s := startServer(b)
	for b.Loop() {
		key := fmt.Sprintf("dup-%d", time.Now().UnixNano())
		var wg sync.WaitGroup
		ids := make([]string, 50)
		replays := atomic.Int32{}
		errsSeen := atomic.Int32{}
		start := time.Now()
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, replayed, err := s.provision(key, "Duplicate Org")
				if err != nil {
					errsSeen.Add(1)
					return
				}
				ids[i] = id
				if replayed {
					replays.Add(1)
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		distinct := map[string]bool{}
		for _, id := range ids {
			distinct[id] = true
		}
		b.Logf("50 identical calls at once: %d distinct tenant ids, %d replayed, %d errors, answered in %s",
			len(distinct), replays.Load(), errsSeen.Load(), wall.Round(time.Millisecond))
		b.ReportMetric(float64(wall.Milliseconds()), "wall-ms/50dup")
	}
}
