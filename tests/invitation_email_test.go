package tests

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

var tokenInLink = regexp.MustCompile(`/invitations/accept\?token=([A-Za-z0-9_-]{43})\b`)

// The invitation email reaches mailpit with a link whose token works, and the token does not stay
// in the outbox once delivered. The test runs its own outbox pass, so it uses a Firestore project
// of its own (the pass performs every due entry it finds) and calls the domain with principals.
func TestInvitationEmailCarriesAWorkingLink(t *testing.T) {
	t.Parallel()
	iso := emulators(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	s := newServer(t, func(c *config.Config) { c.Project = iso.Project; c.SMTPURL = mp.SMTPURL }, app.Options{})
	a := s.App
	ctx := context.Background()
	box := mp.NewMailbox()

	ownerEmail := box.Address("owner")
	owner := auth.WithPrincipal(ctx, auth.Principal{UID: testenv.UniqueID("owner-"), Email: ownerEmail, EmailVerified: true})
	p, err := a.Tenancy.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: uniqueKey(), OrganizationName: "Mail Org"})
	if err != nil {
		t.Fatal(err)
	}
	to := box.Address("invitee")
	inv, err := a.Members.Invite(owner, p.Tenant.ID, members.InviteRequest{Email: to, Role: rules.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Outbox.RunPass(ctx, nil); err != nil {
		t.Fatal(err)
	}
	entries, err := a.Firestore().Collection("outbox").Where("payload.invitationId", "==", inv.Invitation.ID).Documents(ctx).GetAll()
	if err != nil || len(entries) != 1 {
		t.Fatalf("outbox entry: %d (%v)", len(entries), err)
	}
	if d := entries[0].Data(); d["state"] == "dead" {
		t.Fatalf("the invitation email was dead-lettered (%v): the email.invitation handler must read the token from payload.secret.token (outbox.SecretField), where the members domain writes it", d["lastError"])
	}
	var link []string
	for _, m := range box.WaitFor(2, 10*time.Second) { // the welcome email and the invitation
		if len(m.To) == 1 && m.To[0].Address == to {
			link = tokenInLink.FindStringSubmatch(mp.Message(m.ID).Text)
		}
	}
	if link == nil {
		t.Fatalf("no invitation email with an accept link reached %s", to)
	}
	// Delivered: the outbox entry no longer holds the token.
	entry, err := entries[0].Ref.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := entry.Data(); d["state"] != "done" || d["payload"].(map[string]any)["secret"] != nil {
		t.Errorf("outbox entry after delivery: state %v, payload %v; want done without the secret", d["state"], d["payload"])
	}
	invitee := auth.WithPrincipal(ctx, auth.Principal{UID: testenv.UniqueID("inv-"), Email: to, EmailVerified: true})
	m, err := a.Members.Accept(invitee, link[1])
	if err != nil {
		t.Fatalf("accept with the emailed token: %v", err)
	}
	if m.Role != rules.RoleMember || m.Tenant.ID != p.Tenant.ID || m.Tenant.SeatsUsed != 2 {
		t.Errorf("membership %+v", m)
	}
}
