package tests

// The limits on invitation emails (issue 10, items 3 and 5): every email counts, per address and
// tenant (durably, across revocations and resends), per inviter and per tenant; nobody spends
// another's budget; and only a verified address may send invitations.

import (
	"context"
	"strings"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

const (
	revokeMutation      = `mutation($id: ID!) { revokeInvitation(id: $id) { id status } }`
	resendMutation      = `mutation($id: ID!) { resendInvitation(id: $id) { ` + invitationFields + ` } }`
	inviteManyMutation  = `mutation($in: InviteMembersInput!) { inviteMembers(input: $in) { ` + invitationFields + ` } }`
	defaultAddressLimit = 3 // TENANTRY_INVITE_ADDRESS_LIMIT's default
)

func (s *testServer) revoke(t testing.TB, token, id string) []gqlErr {
	t.Helper()
	_, errs, err := tryField[gqlInvitation](s, token, revokeMutation, "revokeInvitation", map[string]any{"id": id})
	if err != nil {
		t.Fatalf("revokeInvitation: %v", err)
	}
	return errs
}

func (s *testServer) resend(t testing.TB, token, id string) (*gqlInvitation, []gqlErr) {
	t.Helper()
	inv, errs, err := tryField[gqlInvitation](s, token, resendMutation, "resendInvitation", map[string]any{"id": id})
	if err != nil {
		t.Fatalf("resendInvitation: %v", err)
	}
	return inv, errs
}

func (s *testServer) inviteMany(t testing.TB, token, tenantID string, emails []string, role string) (*[]gqlInvitation, []gqlErr) {
	t.Helper()
	list, errs, err := tryField[[]gqlInvitation](s, token, inviteManyMutation, "inviteMembers", map[string]any{
		"in": map[string]any{"tenantId": tenantID, "emails": emails, "role": role},
	})
	if err != nil {
		t.Fatalf("inviteMembers: %v", err)
	}
	return list, errs
}

// invitationEmails counts the emails the server queued for an invitation (its outbox entries).
func invitationEmails(t testing.TB, invitationID string) int {
	t.Helper()
	return countWhere(t, "outbox", "payload.invitationId", invitationID)
}

// Invite, revoke, invite the same address again, 80 times: only the first few rounds send an
// email, the rest are RATE_LIMITED with a time to try again, and another address is unaffected.
func TestInvitationMailCannotBeLooped(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	victim := freshEmail("loop")
	sent, limited, id := 0, 0, ""
	var firstRefusal gqlErr
	for round := range 80 {
		inv, errs := s.invite(t, owner.IDToken, tenantID, victim, "MEMBER")
		if inv == nil {
			e := wantCode(t, errs, "RATE_LIMITED", "")
			if limited == 0 {
				firstRefusal = e
			}
			limited++
			continue
		}
		if limited > 0 {
			t.Fatalf("round %d sent an email after a refusal", round)
		}
		sent, id = sent+1, inv.ID
		if errs := s.revoke(t, owner.IDToken, inv.ID); len(errs) > 0 {
			t.Fatalf("revoke in round %d: %+v", round, errs)
		}
	}
	if sent != defaultAddressLimit || limited != 80-defaultAddressLimit {
		t.Fatalf("%d rounds sent an email and %d were RATE_LIMITED, want %d and %d", sent, limited, defaultAddressLimit, 80-defaultAddressLimit)
	}
	if m := firstRefusal.Message; !strings.Contains(m, "after ") || !strings.Contains(m, "UTC") || !strings.Contains(m, "24 hours") {
		t.Errorf("message %q does not say when to try again", m)
	}
	if n := invitationEmails(t, id); n != defaultAddressLimit {
		t.Errorf("%d invitation emails queued for %s, want %d", n, victim, defaultAddressLimit)
	}
	// The limit is per address: the owner can still invite someone else.
	s.mustInvite(t, owner.IDToken, tenantID, freshEmail("other"), "MEMBER")
}

// The same loop, delivered: mailpit receives exactly as many emails as the limit allows. The
// test runs its own outbox pass, so it uses a Firestore project of its own and calls the domain
// with principals (ID tokens name the shared project).
func TestLoopedInvitationReachesTheMailboxOnlyUpToTheLimit(t *testing.T) {
	t.Parallel()
	iso := emulators(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	s := newServer(t, func(c *config.Config) { c.Project = iso.Project; c.SMTPURL = mp.SMTPURL }, app.Options{})
	a, ctx, box := s.App, context.Background(), mp.NewMailbox()
	owner := auth.WithPrincipal(ctx, auth.Principal{UID: testenv.UniqueID("owner-"), Email: box.Address("owner"), EmailVerified: true})
	p, err := a.Tenancy.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: uniqueKey(), OrganizationName: "Loop Org"})
	if err != nil {
		t.Fatal(err)
	}
	victim := box.Address("victim")
	refused := 0
	for range 80 {
		res, err := a.Members.Invite(owner, p.Tenant.ID, members.InviteRequest{Email: victim, Role: rules.RoleMember})
		if err != nil {
			refused++
			continue
		}
		if _, err := a.Members.Revoke(owner, res.Invitation.ID); err != nil {
			t.Fatal(err)
		}
	}
	if refused != 80-defaultAddressLimit {
		t.Fatalf("%d of 80 invitations refused, want %d", refused, 80-defaultAddressLimit)
	}
	if _, err := a.Outbox.RunPass(ctx, nil); err != nil {
		t.Fatal(err)
	}
	box.WaitFor(1+defaultAddressLimit, 10*time.Second) // the welcome email and the invitations
	if got := mp.To(victim); len(got) != defaultAddressLimit {
		t.Fatalf("mailpit received %d emails for %s, want %d", len(got), victim, defaultAddressLimit)
	}
}

// A resend is an email like any other: it counts toward the address's limit, and the limit never
// stands between an invitee and the link they were sent.
func TestResendCountsTowardTheAddressLimit(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	invitee := verifiedUser(t, "")
	first := s.mustInvite(t, owner.IDToken, tenantID, invitee.Email, "MEMBER") // 1
	if _, errs := s.resend(t, owner.IDToken, first.ID); len(errs) > 0 {        // 2
		t.Fatalf("resend: %+v", errs)
	}
	if errs := s.revoke(t, owner.IDToken, first.ID); len(errs) > 0 {
		t.Fatalf("revoke: %+v", errs)
	}
	again := s.mustInvite(t, owner.IDToken, tenantID, invitee.Email, "MEMBER") // 3
	_, errs := s.resend(t, owner.IDToken, again.ID)
	e := wantCode(t, errs, "RATE_LIMITED", "")
	if !strings.Contains(e.Message, "3 invitation emails") || !strings.Contains(e.Message, "UTC") {
		t.Errorf("message %q: want the address's limit and when to try again", e.Message)
	}
	if n := invitationEmails(t, again.ID); n != 3 {
		t.Errorf("%d invitation emails queued, want 3", n)
	}
	if role, errs := s.accept(t, invitee.IDToken, invitationToken(t, again.ID)); role != "MEMBER" {
		t.Fatalf("accepting the last invitation sent: %q %+v", role, errs)
	}
}

// A resend's limit is spent only by someone who may resend that invitation: an outsider, a member
// or another tenant's owner is NOT_FOUND and leaves the owner's resend untouched.
func TestOthersCannotSpendAnOwnersResend(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	inv := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("rs"), "MEMBER")
	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	otherOwner, _ := ownerAndTenant(t, s)
	outsider := verifiedUser(t, "")
	for name, token := range map[string]string{"outsider": outsider.IDToken, "member": member.IDToken, "another tenant's owner": otherOwner.IDToken} {
		for range 3 {
			_, errs := s.resend(t, token, inv.ID)
			if e := wantCode(t, errs, "NOT_FOUND", ""); strings.Contains(e.Message, "sent again") {
				t.Errorf("%s: message %q speaks of the invitation", name, e.Message)
			}
		}
	}
	if got, errs := s.resend(t, owner.IDToken, inv.ID); got == nil {
		t.Fatalf("the owner's resend after others tried: %+v", errs)
	}
	if n := invitationEmails(t, inv.ID); n != 2 {
		t.Errorf("%d invitation emails queued, want 2 (the invitation and the owner's resend)", n)
	}
}

// The inviter's limit counts emails: a re-invitation after a revocation and a resend cost one
// each, a batch costs its new invitations, and an invitation returned as it was costs nothing.
func TestInviterLimitCountsEmails(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *config.Config) { c.InviteBurst, c.InviteInterval = 4, time.Hour }, app.Options{})

	t.Run("revocations and resends", func(t *testing.T) {
		owner, tenantID := ownerAndTenant(t, s)
		a := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("a"), "MEMBER") // 1
		if errs := s.revoke(t, owner.IDToken, a.ID); len(errs) > 0 {
			t.Fatal(errs)
		}
		s.mustInvite(t, owner.IDToken, tenantID, a.Email, "MEMBER")     // 2
		if _, errs := s.resend(t, owner.IDToken, a.ID); len(errs) > 0 { // 3
			t.Fatal(errs)
		}
		b := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("b"), "MEMBER") // 4
		_, errs := s.invite(t, owner.IDToken, tenantID, freshEmail("c"), "MEMBER")
		e := wantCode(t, errs, "RATE_LIMITED", "")
		if !strings.Contains(e.Message, "wait") || !strings.Contains(e.Message, "UTC") {
			t.Errorf("message %q does not say when to try again", e.Message)
		}
		if again := s.mustInvite(t, owner.IDToken, tenantID, b.Email, "MEMBER"); again.ID != b.ID {
			t.Errorf("a repeat returned %s, want the pending invitation %s", again.ID, b.ID)
		}
	})
	t.Run("batches", func(t *testing.T) {
		owner, tenantID := ownerAndTenant(t, s)
		setTenant(t, tenantID, map[string]any{"seatCap": 20, "planId": "pro"})
		x := []string{freshEmail("x1"), freshEmail("x2"), freshEmail("x3"), freshEmail("x4"), freshEmail("x5")}
		_, errs := s.inviteMany(t, owner.IDToken, tenantID, x, "MEMBER")
		if e := wantCode(t, errs, "RATE_LIMITED", ""); !strings.Contains(e.Message, "smaller batches") {
			t.Errorf("message %q does not say to split the batch", e.Message)
		}
		if _, pending := counters(t, tenantID); pending != 0 {
			t.Fatalf("pendingInvitations %d after a refused batch, want 0", pending)
		}
		if list, errs := s.inviteMany(t, owner.IDToken, tenantID, x[:3], "MEMBER"); list == nil { // 3
			t.Fatalf("a batch of 3 after a refused batch of 5: %+v", errs)
		}
		if list, errs := s.inviteMany(t, owner.IDToken, tenantID, []string{x[0], x[1], x[3]}, "MEMBER"); list == nil { // 1 new
			t.Fatalf("a batch of 2 pending and 1 new address: %+v", errs)
		}
		_, errs = s.invite(t, owner.IDToken, tenantID, x[4], "MEMBER")
		wantCode(t, errs, "RATE_LIMITED", "")
	})
}

// The window is durable and passes: with a clock of its own, the address can be invited again
// once the oldest of its emails is a full window old, and the refusal named that moment.
func TestAddressLimitWindowPasses(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now())
	s := newServer(t, nil, app.Options{Clock: clk})
	owner, tenantID := ownerAndTenant(t, s)
	setTenant(t, tenantID, map[string]any{"status": "active"})
	addr := freshEmail("window")
	firstAt := clk.Now()
	for range defaultAddressLimit {
		inv := s.mustInvite(t, owner.IDToken, tenantID, addr, "MEMBER")
		if errs := s.revoke(t, owner.IDToken, inv.ID); len(errs) > 0 {
			t.Fatal(errs)
		}
		clk.Advance(time.Hour)
	}
	_, errs := s.invite(t, owner.IDToken, tenantID, addr, "MEMBER")
	e := wantCode(t, errs, "RATE_LIMITED", "")
	if at := firstAt.Add(24 * time.Hour).UTC().Format("15:04:05 UTC on 2 Jan 2006"); !strings.Contains(e.Message, at) {
		t.Errorf("message %q does not name %s, when the first email leaves the window", e.Message, at)
	}
	clk.Advance(firstAt.Add(24*time.Hour - time.Second).Sub(clk.Now()))
	_, errs = s.invite(t, owner.IDToken, tenantID, addr, "MEMBER")
	wantCode(t, errs, "RATE_LIMITED", "")
	clk.Advance(time.Second)
	s.mustInvite(t, owner.IDToken, tenantID, addr, "MEMBER")
}

// Invitation emails quote the inviter's address, so only a verified address may send them.
func TestUnverifiedEmailCannotInvite(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	inv := s.mustInvite(t, owner.IDToken, tenantID, freshEmail("before"), "MEMBER")
	setVerified := func(v bool) string {
		t.Helper()
		if _, err := authAdmin(t).UpdateUser(context.Background(), owner.UID, (&fbauth.UserToUpdate{}).EmailVerified(v)); err != nil {
			t.Fatal(err)
		}
		return emulators(t).SignIn(t, owner.Email, owner.Password)
	}
	unverified := setVerified(false)
	refused := func(name string, errs []gqlErr) {
		t.Helper()
		e := wantCode(t, errs, "FORBIDDEN", "")
		if !strings.Contains(e.Message, "verify your email address") || !strings.Contains(e.Message, "sign in again") {
			t.Errorf("%s: message %q does not say to verify the address and sign in again", name, e.Message)
		}
	}
	_, errs := s.invite(t, unverified, tenantID, freshEmail("after"), "MEMBER")
	refused("inviteMember", errs)
	_, errs = s.inviteMany(t, unverified, tenantID, []string{freshEmail("m1"), freshEmail("m2")}, "MEMBER")
	refused("inviteMembers", errs)
	_, errs = s.resend(t, unverified, inv.ID)
	refused("resendInvitation", errs)
	if _, pending := counters(t, tenantID); pending != 1 {
		t.Errorf("pendingInvitations %d, want 1 (nothing invited while unverified)", pending)
	}
	if n := invitationEmails(t, inv.ID); n != 1 {
		t.Errorf("%d emails for the first invitation, want 1 (no resend while unverified)", n)
	}
	// Once verified again, the same owner invites as before.
	s.mustInvite(t, setVerified(true), tenantID, freshEmail("again"), "MEMBER")

	t.Run("an unverified user owns a tenant but cannot invite into it", func(t *testing.T) {
		u := newUser(t)
		p := s.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "Unverified Org", "", ""))
		_, errs := s.invite(t, u.IDToken, p.Tenant.ID, freshEmail("u"), "MEMBER")
		refused("inviteMember by an unverified owner", errs)
	})
}
