package tests

// Members through the API: invitations with their caps under concurrency, the policy, acceptance,
// expiry, revocation, resends, roles and ownership. Signup paths are in signup_test.go.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
)

const invitationFields = `id email role status expiresAt`

const inviteMutation = `mutation Invite($in: InviteMemberInput!) { inviteMember(input: $in) { ` + invitationFields + ` } }`

type gqlInvitation struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// tryInvite calls inviteMember without touching t, so goroutines may call it.
func (s *testServer) tryInvite(token, tenantID, email, role string) (*gqlInvitation, []gqlErr, error) {
	return tryField[gqlInvitation](s, token, inviteMutation, "inviteMember", map[string]any{
		"in": map[string]any{"tenantId": tenantID, "email": email, "role": role},
	})
}

func (s *testServer) invite(t testing.TB, token, tenantID, email, role string) (*gqlInvitation, []gqlErr) {
	t.Helper()
	inv, errs, err := s.tryInvite(token, tenantID, email, role)
	if err != nil {
		t.Fatalf("inviteMember: %v", err)
	}
	return inv, errs
}

func (s *testServer) mustInvite(t testing.TB, token, tenantID, email, role string) gqlInvitation {
	t.Helper()
	inv, errs := s.invite(t, token, tenantID, email, role)
	if inv == nil {
		t.Fatalf("inviteMember(%s, %s): %+v", email, role, errs)
	}
	return *inv
}

// accept calls acceptInvitation and returns the membership's role ("" on errors) and the errors.
func (s *testServer) accept(t testing.TB, token, invitationToken string) (string, []gqlErr) {
	t.Helper()
	st, data, errs := s.gql(t, token, `mutation($t: String!) { acceptInvitation(token: $t) { role tenant { id seatsUsed pendingInvitations } } }`,
		map[string]any{"t": invitationToken})
	if len(errs) > 0 {
		return "", errs
	}
	var d struct {
		AcceptInvitation struct {
			Role string `json:"role"`
		} `json:"acceptInvitation"`
	}
	mustData(t, st, data, errs, &d)
	return d.AcceptInvitation.Role, nil
}

// ownerAndTenant provisions a tenant for a fresh verified owner and returns both.
func ownerAndTenant(t testing.TB, s *testServer) (testenv.User, string) {
	t.Helper()
	owner := emulators(t).NewUser(t, testenv.UserOptions{EmailVerified: true})
	p := s.mustProvision(t, owner.IDToken, provisionInput(uniqueKey(), "Members Org", "", ""))
	return owner, p.Tenant.ID
}

// setTenant writes tenant fields directly (the admin client), e.g. to shape seats or status.
func setTenant(t testing.TB, tenantID string, fields map[string]any) {
	t.Helper()
	testenv.UpdateDoc(t, fs(t), "tenants/"+tenantID, fields)
}

// counters reads tenants/{id}.seatsUsed and .pendingInvitations as stored.
func counters(t testing.TB, tenantID string) (seats, pending int64) {
	t.Helper()
	d := mustDoc(t, "tenants/"+tenantID)
	seats, _ = d["seatsUsed"].(int64)
	pending, _ = d["pendingInvitations"].(int64)
	return seats, pending
}

// countInvitations counts the tenant's invitation documents with a stored status.
func countInvitations(t testing.TB, tenantID, status string) int {
	t.Helper()
	return countWhere(t, "tenants/"+tenantID+"/invitations", "status", status)
}

// invitationToken is the token of an invitation's latest email, read from its outbox entry (the
// only place it exists besides the invitee's mailbox).
func invitationToken(t testing.TB, invitationID string) string {
	t.Helper()
	snaps, err := fs(t).Collection("outbox").Where("payload.invitationId", "==", invitationID).Documents(fsCtx(t)).GetAll()
	if err != nil || len(snaps) == 0 {
		t.Fatalf("outbox entry of invitation %s: %d found (%v)", invitationID, len(snaps), err)
	}
	var latest map[string]any
	var at time.Time
	for _, s := range snaps {
		d := s.Data()
		if c, _ := d["createdAt"].(time.Time); latest == nil || !c.Before(at) {
			latest, at = d, c
		}
	}
	p, _ := latest["payload"].(map[string]any)
	secret, _ := p["secret"].(map[string]any)
	tok, _ := secret["token"].(string)
	if tok == "" {
		t.Fatalf("outbox entry of invitation %s has no payload.secret.token: %v", invitationID, p)
	}
	return tok
}

// verifiedUser creates a user with a verified email (random when email is "").
func verifiedUser(t testing.TB, email string) testenv.User {
	t.Helper()
	return emulators(t).NewUser(t, testenv.UserOptions{Email: email, EmailVerified: true})
}

// join invites a fresh verified user with role and accepts for them.
func join(t testing.TB, s *testServer, ownerToken, tenantID, role string) testenv.User {
	t.Helper()
	u := verifiedUser(t, "")
	inv := s.mustInvite(t, ownerToken, tenantID, u.Email, role)
	if got, errs := s.accept(t, u.IDToken, invitationToken(t, inv.ID)); got != role {
		t.Fatalf("accept as %s: role %q, errors %+v", role, got, errs)
	}
	return u
}

func freshEmail(prefix string) string { return testenv.UniqueID(prefix+"-") + "@example.test" }

// concurrentInvites sends n invitations to distinct addresses at once and counts the outcomes by
// code ("" for success).
func concurrentInvites(t *testing.T, s *testServer, token, tenantID string, n int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	outcome := map[string]int{}
	var failures []string
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, errs, err := s.tryInvite(token, tenantID, freshEmail(fmt.Sprintf("c%d", i)), "MEMBER")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case inv != nil:
				outcome[""]++
			default:
				outcome[errs[0].Code()]++
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d calls failed: %v", len(failures), failures)
	}
	return outcome
}

// 30 concurrent invitations into a tenant with 5 free seats: exactly 5 succeed.
func TestInviteSeatCapHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 6, "planId": "pro"}) // owner + 5 free; pro allows 25 pending

	got := concurrentInvites(t, s, owner.IDToken, tenantID, 30)
	if got[""] != 5 || got["SEAT_LIMIT_REACHED"] != 25 {
		t.Fatalf("outcomes %v, want 5 successes and 25 SEAT_LIMIT_REACHED", got)
	}
	if seats, pending := counters(t, tenantID); seats != 1 || pending != 5 {
		t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 5", seats, pending)
	}
	if n := countInvitations(t, tenantID, "pending"); n != 5 {
		t.Errorf("%d pending invitation documents, want 5", n)
	}
	if n := countWhere(t, "outbox", "tenantId", tenantID); n != 5+2 { // + welcome and billing setup
		t.Errorf("%d outbox entries for the tenant, want 7 (5 invitations, welcome, billing)", n)
	}
	// The API's count agrees.
	st, data, errs := s.gql(t, owner.IDToken, `query($id: ID!) { tenant(id: $id) { seatsUsed pendingInvitations invitations(status: PENDING) { id } } }`, map[string]any{"id": tenantID})
	var d struct {
		Tenant struct {
			SeatsUsed          int             `json:"seatsUsed"`
			PendingInvitations int             `json:"pendingInvitations"`
			Invitations        []gqlInvitation `json:"invitations"`
		} `json:"tenant"`
	}
	mustData(t, st, data, errs, &d)
	if d.Tenant.SeatsUsed != 1 || d.Tenant.PendingInvitations != 5 || len(d.Tenant.Invitations) != 5 {
		t.Errorf("tenant %+v, want 1 seat used, 5 pending, 5 pending invitations listed", d.Tenant)
	}
}

// The plan's pending-invitation limit holds the same way.
func TestInvitationLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 100, "planId": "starter"}) // starter: 10 pending

	got := concurrentInvites(t, s, owner.IDToken, tenantID, 30)
	if got[""] != 10 || got["INVITATION_LIMIT_REACHED"] != 20 {
		t.Fatalf("outcomes %v, want 10 successes and 20 INVITATION_LIMIT_REACHED", got)
	}
	if seats, pending := counters(t, tenantID); seats != 1 || pending != 10 {
		t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 10", seats, pending)
	}
	if n := countInvitations(t, tenantID, "pending"); n != 10 {
		t.Errorf("%d pending invitation documents, want 10", n)
	}
}

func TestInvitePolicy(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 50, "planId": "pro"})
	admin := join(t, s, owner.IDToken, tenantID, "ADMIN")
	manager := join(t, s, owner.IDToken, tenantID, "MANAGER")
	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	viewer := join(t, s, owner.IDToken, tenantID, "VIEWER")
	outsider := verifiedUser(t, "")

	for _, c := range []struct {
		name, token, role, code string
	}{
		{"owner invites an admin", owner.IDToken, "ADMIN", ""},
		{"admin invites an admin", admin.IDToken, "ADMIN", ""},
		{"manager invites a member", manager.IDToken, "MEMBER", ""},
		{"manager invites a viewer", manager.IDToken, "VIEWER", ""},
		{"manager invites an admin", manager.IDToken, "ADMIN", "FORBIDDEN"},
		{"manager invites a manager", manager.IDToken, "MANAGER", "FORBIDDEN"},
		{"member invites a viewer", member.IDToken, "VIEWER", "FORBIDDEN"},
		{"member invites a member", member.IDToken, "MEMBER", "FORBIDDEN"},
		{"viewer invites a viewer", viewer.IDToken, "VIEWER", "FORBIDDEN"},
		{"nobody invites an owner", owner.IDToken, "OWNER", "FORBIDDEN"},
		{"a non-member cannot see the tenant", outsider.IDToken, "MEMBER", "NOT_FOUND"},
		{"anonymous", "", "MEMBER", "UNAUTHENTICATED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inv, errs := s.invite(t, c.token, tenantID, freshEmail("p"), c.role)
			if c.code == "" {
				if inv == nil || inv.Role != c.role || inv.Status != "PENDING" {
					t.Fatalf("got %+v %+v, want a pending %s invitation", inv, errs, c.role)
				}
				return
			}
			e := wantCode(t, errs, c.code, "")
			if !strings.Contains(e.Message, " ") || strings.Contains(e.Message, "rpc error") {
				t.Errorf("message %q does not read as advice", e.Message)
			}
		})
	}

	t.Run("addresses are normalized, and a second invitation returns the first", func(t *testing.T) {
		addr := freshEmail("norm")
		first := s.mustInvite(t, owner.IDToken, tenantID, "  "+strings.ToUpper(addr)+" ", "MEMBER")
		if first.Email != addr {
			t.Errorf("email %q, want %q", first.Email, addr)
		}
		_, before := counters(t, tenantID)
		again := s.mustInvite(t, admin.IDToken, tenantID, addr, "MEMBER")
		if again.ID != first.ID {
			t.Errorf("second invitation %s, want the first %s", again.ID, first.ID)
		}
		if _, after := counters(t, tenantID); after != before {
			t.Errorf("pendingInvitations %d -> %d, want unchanged", before, after)
		}
	})
	t.Run("an invalid address is BAD_USER_INPUT on email", func(t *testing.T) {
		_, errs := s.invite(t, owner.IDToken, tenantID, "not an address", "MEMBER")
		wantCode(t, errs, "BAD_USER_INPUT", "email")
	})
	t.Run("an existing member's address is BAD_USER_INPUT", func(t *testing.T) {
		_, errs := s.invite(t, owner.IDToken, tenantID, member.Email, "VIEWER")
		wantCode(t, errs, "BAD_USER_INPUT", "email")
	})
}

// inClosedTenants runs check in a subtest for each status that closes member changes, with the
// code a change gets there.
func inClosedTenants(t *testing.T, check func(t *testing.T, status, code string)) {
	for status, code := range map[string]string{
		"trial_expired": "TENANT_READ_ONLY", "past_due": "TENANT_READ_ONLY",
		"suspended": "TENANT_SUSPENDED", "cancelled": "TENANT_SUSPENDED",
	} {
		t.Run(status, func(t *testing.T) { check(t, status, code) })
	}
}

func TestInviteInClosedTenants(t *testing.T) {
	t.Parallel()
	s := shared(t)
	inClosedTenants(t, func(t *testing.T, status, code string) {
		owner, tenantID := ownerAndTenant(t, s)
		setTenant(t, tenantID, map[string]any{"status": status})
		_, errs := s.invite(t, owner.IDToken, tenantID, freshEmail("ro"), "MEMBER")
		wantCode(t, errs, code, "")
		if _, pending := counters(t, tenantID); pending != 0 {
			t.Errorf("pendingInvitations %d, want 0", pending)
		}
	})
}

func TestAcceptInvitation(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	invitee := verifiedUser(t, "")
	inv := s.mustInvite(t, owner.IDToken, tenantID, invitee.Email, "MANAGER")
	token := invitationToken(t, inv.ID)

	if d := mustDoc(t, "tenants/"+tenantID+"/invitations/"+inv.ID); d["tokenHash"] == "" || strings.Contains(fmt.Sprint(d), token) {
		t.Fatalf("the invitation document must hold the token's hash only: %v", d)
	}
	t.Run("another address cannot use the link", func(t *testing.T) {
		other := verifiedUser(t, "")
		_, errs := s.accept(t, other.IDToken, token)
		e := wantCode(t, errs, "FORBIDDEN", "")
		if !strings.Contains(e.Message, "sign in with the invited address") {
			t.Errorf("message %q does not say to sign in with the invited address", e.Message)
		}
	})
	t.Run("an unknown token is NOT_FOUND", func(t *testing.T) {
		_, errs := s.accept(t, invitee.IDToken, "x"+token[1:])
		wantCode(t, errs, "NOT_FOUND", "")
	})
	t.Run("the invitee accepts; the pending seat becomes an active one", func(t *testing.T) {
		if role, errs := s.accept(t, invitee.IDToken, token); role != "MANAGER" {
			t.Fatalf("role %q errors %+v, want MANAGER", role, errs)
		}
		if seats, pending := counters(t, tenantID); seats != 2 || pending != 0 {
			t.Errorf("seatsUsed %d pendingInvitations %d, want 2 and 0", seats, pending)
		}
		if m := mustDoc(t, "tenants/"+tenantID+"/members/"+invitee.UID); m["role"] != "manager" || m["email"] != invitee.Email {
			t.Errorf("membership %v", m)
		}
		if ids := userTenantIDs(t, invitee.UID); len(ids) != 1 || ids[0] != tenantID {
			t.Errorf("users/%s.tenantIds = %v, want [%s]", invitee.UID, ids, tenantID)
		}
		if d := mustDoc(t, "tenants/"+tenantID+"/invitations/"+inv.ID); d["status"] != "accepted" || d["acceptedBy"] != invitee.UID {
			t.Errorf("invitation %v, want accepted by %s", d, invitee.UID)
		}
	})
	t.Run("accepting again returns the same membership and uses no seat", func(t *testing.T) {
		if role, errs := s.accept(t, invitee.IDToken, token); role != "MANAGER" {
			t.Fatalf("role %q errors %+v", role, errs)
		}
		if seats, _ := counters(t, tenantID); seats != 2 {
			t.Errorf("seatsUsed %d, want 2", seats)
		}
	})
	t.Run("a used link does not work after the member leaves", func(t *testing.T) {
		st, data, errs := s.gql(t, invitee.IDToken, `mutation($t: ID!, $u: ID!) { removeMember(tenantId: $t, userId: $u) }`, map[string]any{"t": tenantID, "u": invitee.UID})
		var d map[string]bool
		mustData(t, st, data, errs, &d)
		_, errs = s.accept(t, invitee.IDToken, token)
		e := wantCode(t, errs, "BAD_USER_INPUT", "token")
		if !strings.Contains(e.Message, "already used") {
			t.Errorf("message %q", e.Message)
		}
		if seats, _ := counters(t, tenantID); seats != 1 {
			t.Errorf("seatsUsed %d after leaving, want 1", seats)
		}
	})
	t.Run("an unverified address cannot accept", func(t *testing.T) {
		u := emulators(t).NewUser(t, testenv.UserOptions{})
		inv := s.mustInvite(t, owner.IDToken, tenantID, u.Email, "MEMBER")
		_, errs := s.accept(t, u.IDToken, invitationToken(t, inv.ID))
		e := wantCode(t, errs, "FORBIDDEN", "")
		if !strings.Contains(e.Message, "verify your email") {
			t.Errorf("message %q", e.Message)
		}
	})
}

func TestRevokeAndResend(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	invitee := verifiedUser(t, "")
	revokeQ := `mutation($id: ID!) { revokeInvitation(id: $id) { id status } }`
	resendQ := `mutation($id: ID!) { resendInvitation(id: $id) { id status expiresAt } }`

	t.Run("a revoked link stops working and the seat is free", func(t *testing.T) {
		inv := s.mustInvite(t, owner.IDToken, tenantID, invitee.Email, "MEMBER")
		token := invitationToken(t, inv.ID)
		st, data, errs := s.gql(t, owner.IDToken, revokeQ, map[string]any{"id": inv.ID})
		var d struct {
			RevokeInvitation gqlInvitation `json:"revokeInvitation"`
		}
		mustData(t, st, data, errs, &d)
		if d.RevokeInvitation.Status != "REVOKED" {
			t.Errorf("status %s", d.RevokeInvitation.Status)
		}
		if _, pending := counters(t, tenantID); pending != 0 {
			t.Errorf("pendingInvitations %d after revoking, want 0", pending)
		}
		_, errs = s.accept(t, invitee.IDToken, token)
		e := wantCode(t, errs, "BAD_USER_INPUT", "token")
		if !strings.Contains(e.Message, "revoked") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("a resend replaces the link, and is rate limited", func(t *testing.T) {
		inv := s.mustInvite(t, owner.IDToken, tenantID, invitee.Email, "VIEWER")
		old := invitationToken(t, inv.ID)
		st, data, errs := s.gql(t, owner.IDToken, resendQ, map[string]any{"id": inv.ID})
		var d map[string]gqlInvitation
		mustData(t, st, data, errs, &d)
		_, _, errs = s.gql(t, owner.IDToken, resendQ, map[string]any{"id": inv.ID})
		wantCode(t, errs, "RATE_LIMITED", "")
		fresh := invitationToken(t, inv.ID)
		if fresh == old {
			t.Fatal("the resend kept the token")
		}
		_, errs = s.accept(t, invitee.IDToken, old)
		e := wantCode(t, errs, "BAD_USER_INPUT", "token")
		if !strings.Contains(e.Message, "most recent invitation email") {
			t.Errorf("message %q", e.Message)
		}
		if role, errs := s.accept(t, invitee.IDToken, fresh); role != "VIEWER" {
			t.Fatalf("accept with the new link: %q %+v", role, errs)
		}
	})
	t.Run("members cannot see invitations to revoke", func(t *testing.T) {
		inv := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("r"), "MEMBER")
		member := join(t, s, owner.IDToken, tenantID, "MEMBER")
		_, _, errs := s.gql(t, member.IDToken, revokeQ, map[string]any{"id": inv.ID})
		wantCode(t, errs, "NOT_FOUND", "")
		_, _, errs = s.gql(t, owner.IDToken, revokeQ, map[string]any{"id": "nope_" + inv.ID})
		wantCode(t, errs, "NOT_FOUND", "")
	})
}

// Expiry with a manual clock. The clock starts a month in the past so that this test's expiry
// job, which looks at every tenant, finds no other test's invitation due.
func TestInvitationExpiry(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now().Add(-30 * 24 * time.Hour))
	s := newServer(t, nil, app.Options{Clock: clk})
	owner, tenantID := ownerAndTenant(t, s)
	// Active, so the trial's end (in this clock's past) does not matter to lifecycle jobs.
	setTenant(t, tenantID, map[string]any{"seatCap": 2, "status": "active"}) // owner + 1 free seat
	invitee := verifiedUser(t, "")
	inv := s.mustInvite(t, owner.IDToken, tenantID, invitee.Email, "MEMBER")
	token := invitationToken(t, inv.ID)
	if want := clk.Now().Add(7 * 24 * time.Hour); !inv.ExpiresAt.Equal(want) {
		t.Errorf("expiresAt %s, want 7 days after now (%s)", inv.ExpiresAt, want)
	}
	_, errs := s.invite(t, owner.IDToken, tenantID, freshEmail("full"), "MEMBER")
	wantCode(t, errs, "SEAT_LIMIT_REACHED", "")

	clk.Advance(7*24*time.Hour + time.Second)
	pendingQ := `query($id: ID!) { tenant(id: $id) { pendingInvitations invitations { id status } } }`
	t.Run("counts exclude it before anything is written", func(t *testing.T) {
		st, data, errs := s.gql(t, owner.IDToken, pendingQ, map[string]any{"id": tenantID})
		var d struct {
			Tenant struct {
				PendingInvitations int             `json:"pendingInvitations"`
				Invitations        []gqlInvitation `json:"invitations"`
			} `json:"tenant"`
		}
		mustData(t, st, data, errs, &d)
		if d.Tenant.PendingInvitations != 0 || len(d.Tenant.Invitations) != 1 || d.Tenant.Invitations[0].Status != "EXPIRED" {
			t.Errorf("tenant %+v, want 0 pending and the invitation listed as EXPIRED", d.Tenant)
		}
		if _, stored := counters(t, tenantID); stored != 1 {
			t.Errorf("stored counter %d; this subtest expects the job not to have run yet", stored)
		}
	})
	t.Run("the link no longer works", func(t *testing.T) {
		_, errs := s.accept(t, invitee.IDToken, token)
		e := wantCode(t, errs, "BAD_USER_INPUT", "token")
		if !strings.Contains(e.Message, "expired") {
			t.Errorf("message %q", e.Message)
		}
		if _, stored := counters(t, tenantID); stored != 0 {
			t.Errorf("pendingInvitations %d after the expired link was tried, want 0 (recorded as expired)", stored)
		}
	})
	t.Run("an expired invitation no longer holds a seat", func(t *testing.T) {
		// A second invitation expires in the past too; the next invite closes it in its own
		// transaction before checking the cap.
		second := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("second"), "MEMBER")
		clk.Advance(8 * 24 * time.Hour)
		third := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("third"), "MEMBER")
		if d := mustDoc(t, "tenants/"+tenantID+"/invitations/"+second.ID); d["status"] != "expired" {
			t.Errorf("second invitation %v, want expired by the third invite's transaction", d["status"])
		}
		if seats, pending := counters(t, tenantID); seats != 1 || pending != 1 {
			t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 1 (%s)", seats, pending, third.ID)
		}
	})
	t.Run("the expire-invitations job frees the rest", func(t *testing.T) {
		clk.Advance(8 * 24 * time.Hour)
		job, ok := s.App.Jobs.Get("expire-invitations")
		if !ok {
			t.Fatal("no expire-invitations job")
		}
		summary, err := job.Run(context.Background(), func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		if seats, pending := counters(t, tenantID); seats != 1 || pending != 0 {
			t.Errorf("after the job (%s): seatsUsed %d pendingInvitations %d, want 1 and 0", summary, seats, pending)
		}
		if n := countInvitations(t, tenantID, "pending"); n != 0 {
			t.Errorf("%d invitations still pending", n)
		}
	})
}

func TestInviteMembersBatch(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 5, "planId": "pro"}) // 4 free seats
	batchQ := `mutation($in: InviteMembersInput!) { inviteMembers(input: $in) { id email role status } }`
	existing := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("e"), "VIEWER")

	t.Run("all or nothing at the cap", func(t *testing.T) {
		emails := []string{freshEmail("b1"), freshEmail("b2"), freshEmail("b3"), freshEmail("b4")}
		_, _, errs := s.gql(t, owner.IDToken, batchQ, map[string]any{"in": map[string]any{"tenantId": tenantID, "emails": emails, "role": "MEMBER"}})
		wantCode(t, errs, "SEAT_LIMIT_REACHED", "")
		if _, pending := counters(t, tenantID); pending != 1 {
			t.Errorf("pendingInvitations %d, want 1 (nothing written)", pending)
		}
	})
	t.Run("a batch that fits, with an existing invitation returned as is", func(t *testing.T) {
		emails := []string{freshEmail("b5"), existing.Email, freshEmail("b6"), freshEmail("b7")}
		st, data, errs := s.gql(t, owner.IDToken, batchQ, map[string]any{"in": map[string]any{"tenantId": tenantID, "emails": emails, "role": "MEMBER"}})
		var d struct {
			InviteMembers []gqlInvitation `json:"inviteMembers"`
		}
		mustData(t, st, data, errs, &d)
		if len(d.InviteMembers) != 4 || d.InviteMembers[1].ID != existing.ID || d.InviteMembers[1].Role != "VIEWER" {
			t.Fatalf("answer %+v", d.InviteMembers)
		}
		for i, inv := range d.InviteMembers {
			if inv.Email != emails[i] {
				t.Errorf("answer %d is %s, want %s (input order)", i, inv.Email, emails[i])
			}
		}
		if seats, pending := counters(t, tenantID); seats != 1 || pending != 4 {
			t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 4", seats, pending)
		}
	})
	t.Run("an invalid address names its position", func(t *testing.T) {
		_, _, errs := s.gql(t, owner.IDToken, batchQ, map[string]any{"in": map[string]any{"tenantId": tenantID, "emails": []string{freshEmail("ok"), "nope"}, "role": "MEMBER"}})
		wantCode(t, errs, "BAD_USER_INPUT", "emails[1]")
	})
}

func TestRolesAndRemoval(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 20, "planId": "pro"})
	admin := join(t, s, owner.IDToken, tenantID, "ADMIN")
	manager := join(t, s, owner.IDToken, tenantID, "MANAGER")
	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	changeQ := `mutation($t: ID!, $u: ID!, $r: Role!) { changeMemberRole(tenantId: $t, userId: $u, role: $r) { role user { id } } }`
	removeQ := `mutation($t: ID!, $u: ID!) { removeMember(tenantId: $t, userId: $u) }`

	for _, c := range []struct {
		name, token, target, role, code, field string
	}{
		{"admin makes a member a manager", admin.IDToken, member.UID, "MANAGER", "", ""},
		{"admin makes a manager an admin", admin.IDToken, manager.UID, "ADMIN", "", ""},
		{"nobody becomes owner this way", owner.IDToken, member.UID, "OWNER", "BAD_USER_INPUT", "role"},
		{"the owner's role cannot change", admin.IDToken, owner.UID, "ADMIN", "FORBIDDEN", ""},
		{"a member cannot change roles", member.IDToken, admin.UID, "VIEWER", "FORBIDDEN", ""},
		{"an unknown member", owner.IDToken, "nobody-here", "VIEWER", "NOT_FOUND", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, data, errs := s.gql(t, c.token, changeQ, map[string]any{"t": tenantID, "u": c.target, "r": c.role})
			if c.code == "" {
				if len(errs) > 0 || !strings.Contains(string(data), c.role) {
					t.Fatalf("got %s %+v", data, errs)
				}
				return
			}
			wantCode(t, errs, c.code, c.field)
		})
	}
	t.Run("removals", func(t *testing.T) {
		_, _, errs := s.gql(t, admin.IDToken, removeQ, map[string]any{"t": tenantID, "u": owner.UID})
		wantCode(t, errs, "FORBIDDEN", "")
		_, _, errs = s.gql(t, owner.IDToken, removeQ, map[string]any{"t": tenantID, "u": owner.UID})
		wantCode(t, errs, "FORBIDDEN", "") // the owner cannot leave
		seats, _ := counters(t, tenantID)
		st, data, errs := s.gql(t, admin.IDToken, removeQ, map[string]any{"t": tenantID, "u": manager.UID})
		var d map[string]bool
		mustData(t, st, data, errs, &d)
		st, data, errs = s.gql(t, member.IDToken, removeQ, map[string]any{"t": tenantID, "u": member.UID}) // leaving
		mustData(t, st, data, errs, &d)
		if after, _ := counters(t, tenantID); after != seats-2 {
			t.Errorf("seatsUsed %d -> %d, want two seats freed", seats, after)
		}
		assertAbsent(t, "tenants/"+tenantID+"/members/"+manager.UID, "tenants/"+tenantID+"/members/"+member.UID)
		if ids := userTenantIDs(t, member.UID); len(ids) != 0 {
			t.Errorf("users/%s.tenantIds = %v after leaving", member.UID, ids)
		}
	})
}

// Ownership transfer under concurrent calls leaves exactly one owner.
func TestTransferOwnershipUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"seatCap": 20, "planId": "pro"})
	var candidates []testenv.User
	for range 5 {
		candidates = append(candidates, join(t, s, owner.IDToken, tenantID, "MEMBER"))
	}
	q := `mutation($t: ID!, $u: ID!) { transferOwnership(tenantId: $t, userId: $u) { id } }`
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	winner := ""
	for range 2 {
		for _, c := range candidates {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.call(owner.IDToken, q, map[string]any{"t": tenantID, "u": c.UID})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					codes["transport: "+err.Error()]++
				case len(r.Errors) > 0:
					codes[r.Errors[0].Code()]++
				default:
					codes[""]++
					winner = c.UID
				}
			}()
		}
	}
	wg.Wait()
	if codes[""] != 1 || codes["FORBIDDEN"] != 9 {
		t.Fatalf("outcomes %v, want one transfer and 9 FORBIDDEN", codes)
	}
	snaps, err := fs(t).Collection("tenants/"+tenantID+"/members").Where("role", "==", "owner").Documents(fsCtx(t)).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || snaps[0].Ref.ID != winner {
		t.Fatalf("%d owners, want exactly the winner %s", len(snaps), winner)
	}
	if m := mustDoc(t, "tenants/"+tenantID+"/members/"+owner.UID); m["role"] != "admin" {
		t.Errorf("the previous owner is %v, want admin", m["role"])
	}
}

// The cap does not depend on the per-replica queue: three app instances (three replicas, each
// with its own queue) invite into one tenant at once, and the transactions still hold the cap.
func TestInviteSeatCapAcrossReplicas(t *testing.T) {
	t.Parallel()
	replicas := []*testServer{newServer(t, nil, app.Options{}), newServer(t, nil, app.Options{}), newServer(t, nil, app.Options{})}
	owner, tenantID := ownerAndTenant(t, replicas[0])
	setTenant(t, tenantID, map[string]any{"seatCap": 4, "planId": "pro"}) // owner + 3 free
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcome := map[string]int{}
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, errs, err := replicas[i%3].tryInvite(owner.IDToken, tenantID, freshEmail(fmt.Sprintf("r%d", i)), "MEMBER")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				outcome["transport: "+err.Error()]++
			case inv != nil:
				outcome[""]++
			default:
				outcome[errs[0].Code()]++
			}
		}()
	}
	wg.Wait()
	if outcome[""] != 3 || outcome["SEAT_LIMIT_REACHED"] != 9 {
		t.Fatalf("outcomes %v, want 3 successes and 9 SEAT_LIMIT_REACHED", outcome)
	}
	if seats, pending := counters(t, tenantID); seats != 1 || pending != 3 {
		t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 3", seats, pending)
	}
	if n := countInvitations(t, tenantID, "pending"); n != 3 {
		t.Errorf("%d pending invitation documents, want 3", n)
	}
}

func TestInviteRateLimits(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *config.Config) { c.InviteBurst, c.InviteInterval = 2, time.Hour }, app.Options{})
	owner, tenantID := ownerAndTenant(t, s)
	first := freshEmail("rl")
	s.mustInvite(t, owner.IDToken, tenantID, first, "MEMBER")
	s.mustInvite(t, owner.IDToken, tenantID, freshEmail("rl"), "MEMBER")
	_, errs := s.invite(t, owner.IDToken, tenantID, freshEmail("rl"), "MEMBER")
	e := wantCode(t, errs, "RATE_LIMITED", "")
	if !strings.Contains(e.Message, "wait") {
		t.Errorf("message %q does not say what to do", e.Message)
	}
	// A repeat of an invitation already sent is answered, not limited.
	if again := s.mustInvite(t, owner.IDToken, tenantID, first, "MEMBER"); again.Email != first {
		t.Errorf("repeat answered %+v", again)
	}
}

func TestInvitationExpirySetting(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	setQ := `mutation($t: ID!, $d: Int!) { setInvitationExpiryDays(tenantId: $t, days: $d) { id invitationExpiryDays } }`
	for _, d := range []int{0, 31} {
		_, _, errs := s.gql(t, owner.IDToken, setQ, map[string]any{"t": tenantID, "d": d})
		wantCode(t, errs, "BAD_USER_INPUT", "days")
	}
	_, _, errs := s.gql(t, member.IDToken, setQ, map[string]any{"t": tenantID, "d": 3})
	wantCode(t, errs, "FORBIDDEN", "")
	st, data, errs := s.gql(t, owner.IDToken, setQ, map[string]any{"t": tenantID, "d": 2})
	var d struct {
		SetInvitationExpiryDays struct {
			InvitationExpiryDays int `json:"invitationExpiryDays"`
		} `json:"setInvitationExpiryDays"`
	}
	mustData(t, st, data, errs, &d)
	if d.SetInvitationExpiryDays.InvitationExpiryDays != 2 {
		t.Errorf("invitationExpiryDays %d, want 2", d.SetInvitationExpiryDays.InvitationExpiryDays)
	}
	before := time.Now()
	inv := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("exp"), "VIEWER")
	if got := inv.ExpiresAt.Sub(before); got < 47*time.Hour || got > 49*time.Hour {
		t.Errorf("expires in %s, want 2 days", got)
	}
}
