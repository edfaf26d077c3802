package config

import (
	"fmt"
	"time"
)

// validateMembers checks the invitation settings.
func (c Config) validateMembers() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	for _, l := range []struct {
		name  string
		burst int
		every string
		ok    bool
	}{
		{"TENANTRY_INVITE", c.InviteBurst, c.InviteInterval.String(), c.InviteInterval > 0},
		{"TENANTRY_TENANT_INVITE", c.TenantInviteBurst, c.TenantInviteInterval.String(), c.TenantInviteInterval > 0},
		{"TENANTRY_INVITE_RESEND", c.ResendBurst, c.ResendInterval.String(), c.ResendInterval > 0},
	} {
		if l.burst < 1 || !l.ok {
			add("%s_BURST=%d and %s_INTERVAL=%s: use a burst of at least 1 and a positive interval such as 2s", l.name, l.burst, l.name, l.every)
		}
	}
	// The window's send times are kept on the address's invitation document: a bounded list.
	if c.InviteAddressLimit < 1 || c.InviteAddressLimit > 50 || c.InviteAddressWindow < time.Minute || c.InviteAddressWindow > 30*24*time.Hour {
		add("TENANTRY_INVITE_ADDRESS_LIMIT=%d and TENANTRY_INVITE_ADDRESS_WINDOW=%s: use 1 to 50 emails per address and a window from 1m to 720h, such as 3 per 24h", c.InviteAddressLimit, c.InviteAddressWindow)
	}
	if c.InvitationExpiryDays < 1 || c.InvitationExpiryDays > 30 {
		add("TENANTRY_INVITATION_EXPIRY_DAYS=%d: use 1 to 30 days", c.InvitationExpiryDays)
	}
	// Three writes per invitation (invitation, token index, outbox entry) must fit Firestore's
	// 500 writes per commit with room for the expired invitations the same commit closes.
	if c.InviteBatchMax < 1 || c.InviteBatchMax > 100 {
		add("TENANTRY_INVITE_BATCH_MAX=%d: use 1 to 100", c.InviteBatchMax)
	}
	return problems
}
