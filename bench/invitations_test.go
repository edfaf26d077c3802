package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// inviteServer is the app with the invitation rate limits out of the way: the benchmark measures
// the transaction on the tenant document, not the spam protection.
func inviteServer(b *testing.B) benchServer {
	env := testenv.Require(b)
	cfg, err := config.Load(nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ProvisionBurst = 1 << 30
	cfg.InviteBurst, cfg.TenantInviteBurst = 1<<30, 1<<30
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	b.Cleanup(func() { srv.Close(); _ = a.Close() })
	u := env.NewUser(b, testenv.UserOptions{EmailVerified: true})
	return benchServer{url: srv.URL, token: u.IDToken, uid: u.UID, email: u.Email, app: a}
}

// roomyTenant provisions a tenant whose seats will not run out. Its plan id is outside the catalog,
// so the pending-invitation limit falls back to the seat cap.
func (s benchServer) roomyTenant(b *testing.B) string {
	id, _, err := s.provision(fmt.Sprintf("inv-bench-%d", time.Now().UnixNano()), "Invite Bench")
	if err != nil {
		b.Fatal(err)
	}
	testenv.UpdateDoc(b, s.app.Firestore(), "tenants/"+id, map[string]any{"seatCap": 1_000_000, "planId": "bench-unlimited", "status": "active"})
	return id
}

const (
	benchInvite     = `mutation($in: InviteMemberInput!) { inviteMember(input: $in) { id } }`
	benchInviteMany = `mutation($in: InviteMembersInput!) { inviteMembers(input: $in) { id } }`
)

var addr atomic.Int64

func nextEmail() string { return fmt.Sprintf("b%d-%d@bench.test", time.Now().UnixNano(), addr.Add(1)) }

// BenchmarkInvitations measures invitations into one tenant, whose document every invitation
// writes (Firestore sustains about one write per second per document in production; the emulator
// much more), against the same number spread over 16 tenants, and against inviteMembers, which
// consumes the seats of a whole batch in one transaction. It also measures what the in-process
// queue per tenant (store.tenantLocks) saves: 16 workers with a store each, like 16 replicas,
// contend on the tenant's lock in the emulator instead.
// Run: go test -run '^$' -bench Invitations -benchtime 1x ./bench/
func BenchmarkInvitations(b *testing.B) {
	s := inviteServer(b)
	const calls = 240
	for b.Loop() {
		one := s.roomyTenant(b)
		_, _, _ = Run(20, 4, func(int) error { // warm up connections and the emulator
			return s.gql(benchInvite, map[string]any{"in": map[string]any{"tenantId": one, "email": nextEmail(), "role": "MEMBER"}})
		})
		rows := []string{"| what | calls | p50 | p95 | p99 | calls/s | invitations/s |", "| --- | --- | --- | --- | --- | --- | --- |"}
		row := func(name string, sm *Sample, wall time.Duration, invitations int) {
			rows = append(rows, Row(name, sm, wall)+fmt.Sprintf(" %.0f/s |", float64(invitations)/wall.Seconds()))
		}
		for _, c := range []int{1, 16} {
			tenant := s.roomyTenant(b)
			sm, wall, err := Run(calls, c, func(int) error {
				return s.gql(benchInvite, map[string]any{"in": map[string]any{"tenantId": tenant, "email": nextEmail(), "role": "MEMBER"}})
			})
			if err != nil {
				b.Fatal(err)
			}
			row(fmt.Sprintf("inviteMember, one tenant, c=%d", c), sm, wall, calls)
		}
		spread := make([]string, 16)
		for i := range spread {
			spread[i] = s.roomyTenant(b)
		}
		sm, wall, err := Run(calls, 16, func(i int) error {
			return s.gql(benchInvite, map[string]any{"in": map[string]any{"tenantId": spread[i%16], "email": nextEmail(), "role": "MEMBER"}})
		})
		if err != nil {
			b.Fatal(err)
		}
		row("inviteMember, 16 tenants, c=16", sm, wall, calls)
		for _, size := range []int{10, 50, 100} {
			tenant := s.roomyTenant(b)
			n := calls / size
			sm, wall, err := Run(n, 1, func(int) error {
				emails := make([]string, size)
				for i := range emails {
					emails[i] = nextEmail()
				}
				return s.gql(benchInviteMany, map[string]any{"in": map[string]any{"tenantId": tenant, "emails": emails, "role": "MEMBER"}})
			})
			if err != nil {
				b.Fatal(err)
			}
			row(fmt.Sprintf("inviteMembers, batches of %d, one tenant, c=1", size), sm, wall, n*size)
		}

		// 16 stores, as 16 replicas would have: no shared queue, the emulator's locks decide.
		tenant := s.roomyTenant(b)
		ctx := auth.WithPrincipal(context.Background(), auth.Principal{UID: s.uid, Email: s.email, EmailVerified: true})
		svcs := make([]*members.Service, 16)
		for i := range svcs {
			svcs[i] = members.NewService(store.NewMembersStore(s.app.Firestore()), s.app.Tenancy, clock.System{}, members.Limits{}, members.Config{})
		}
		const replicaCalls = 32
		sm, wall, err = Run(replicaCalls, 16, func(i int) error {
			_, err := svcs[i%16].Invite(ctx, tenant, members.InviteRequest{Email: nextEmail(), Role: rules.RoleMember})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		row("Invite from Go, one tenant, 16 stores (replicas), c=16", sm, wall, replicaCalls)
		queued := s.roomyTenant(b)
		shared := members.NewService(store.NewMembersStore(s.app.Firestore()), s.app.Tenancy, clock.System{}, members.Limits{}, members.Config{})
		sm, wall, err = Run(replicaCalls, 16, func(int) error {
			_, err := shared.Invite(ctx, queued, members.InviteRequest{Email: nextEmail(), Role: rules.RoleMember})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		row("Invite from Go, one tenant, one store (queued), c=16", sm, wall, replicaCalls)
		// Printed, not logged: the testing package truncates a benchmark's log after ten lines.
		fmt.Printf("\nBenchmarkInvitations\n%s\n", strings.Join(rows, "\n"))
	}
}
