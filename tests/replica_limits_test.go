package tests

// The limits on invitation emails hold across replicas (issue 17, item 6): two Tenantry servers
// on one Firestore share the inviter's, the tenant's and the resend's budgets, so a caller who
// spreads requests over replicas gets the limit, not the limit times the replicas.

import (
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
)

// twoReplicas starts two servers with the same configuration on the shared emulators.
func twoReplicas(t *testing.T, mutate func(*config.Config)) [2]*testServer {
	t.Helper()
	return [2]*testServer{newServer(t, mutate, app.Options{}), newServer(t, mutate, app.Options{})}
}

// invitedUntilLimited invites fresh addresses through the replicas in turn until one answers
// RATE_LIMITED, and returns how many were invited before it; it fails past max.
func invitedUntilLimited(t *testing.T, rs [2]*testServer, token, tenantID string, max int) int {
	t.Helper()
	for i := range max + 1 {
		inv, errs := rs[i%2].invite(t, token, tenantID, freshEmail("replica"), "MEMBER")
		if inv == nil {
			wantCode(t, errs, "RATE_LIMITED", "")
			return i
		}
	}
	t.Fatalf("%d invitations through two replicas and none was RATE_LIMITED", max+1)
	return 0
}

// The inviter's budget and the tenant's, each set low with the other left at its default.
func TestInvitationLimitsHoldAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		burst int
		set   func(*config.Config, int)
	}{
		{"per inviter", 3, func(c *config.Config, n int) { c.InviteBurst, c.InviteInterval = n, time.Hour }},
		{"per tenant", 2, func(c *config.Config, n int) { c.TenantInviteBurst, c.TenantInviteInterval = n, time.Hour }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rs := twoReplicas(t, func(cfg *config.Config) { c.set(cfg, c.burst) })
			owner, tenantID := ownerAndTenant(t, rs[0])
			setTenant(t, tenantID, map[string]any{"seatCap": 20, "planId": "pro"})
			if n := invitedUntilLimited(t, rs, owner.IDToken, tenantID, 2*c.burst); n != c.burst {
				t.Fatalf("%d invitations sent through two replicas before RATE_LIMITED, want %d (the shared limit)", n, c.burst)
			}
			for _, r := range rs { // both replicas now refuse
				_, errs := r.invite(t, owner.IDToken, tenantID, freshEmail("late"), "MEMBER")
				wantCode(t, errs, "RATE_LIMITED", "")
			}
		})
	}
}

func TestResendSpacingHoldsAcrossReplicas(t *testing.T) {
	t.Parallel()
	rs := twoReplicas(t, func(c *config.Config) { c.ResendBurst, c.ResendInterval = 1, time.Hour })
	owner, tenantID := ownerAndTenant(t, rs[0])
	inv := rs[0].mustInvite(t, owner.IDToken, tenantID, freshEmail("resend"), "MEMBER")
	if _, errs := rs[0].resend(t, owner.IDToken, inv.ID); len(errs) > 0 {
		t.Fatalf("the first resend: %+v", errs)
	}
	_, errs := rs[1].resend(t, owner.IDToken, inv.ID)
	wantCode(t, errs, "RATE_LIMITED", "")
	if n := invitationEmails(t, inv.ID); n != 2 {
		t.Errorf("%d invitation emails queued, want 2 (the invitation and one resend)", n)
	}
}
