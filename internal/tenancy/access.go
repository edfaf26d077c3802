package tenancy

import (
	"fmt"

	"github.com/tenantry/tenantry/rules"
)

// Access is what the caller may do with a tenant's data right now.
type Access struct {
	CanRead  bool
	CanWrite bool
	// Reason is a sentence for the SPA's banner when something is closed; "" otherwise.
	Reason string
}

// AccessOf computes Access from the policy table, the same one firestore.rules is built from.
func AccessOf(v TenantView) Access {
	if v.Staff {
		return Access{CanRead: true, Reason: "You are viewing this organization as platform staff; changes go through staff operations."}
	}
	t := v.Tenant
	a := Access{
		CanRead:  rules.Check(t.Status, v.Role, rules.ReadData) == nil,
		CanWrite: rules.Check(t.Status, v.Role, rules.WriteData) == nil,
	}
	switch t.Status {
	case rules.StatusTrialExpired:
		a.Reason = fmt.Sprintf("Your trial ended on %s; upgrade to keep editing.", t.TrialEndsAt.UTC().Format("January 2, 2006"))
	case rules.StatusPastDue:
		a.Reason = "Your last payment failed; update your payment method to keep editing."
	case rules.StatusSuspended:
		a.Reason = "This organization is suspended; contact support to restore access."
	case rules.StatusCancelled:
		a.Reason = "This organization's subscription was cancelled; contact support to restore it."
	case rules.StatusProvisioning:
		a.Reason = "This organization is still being set up; try again in a minute."
	default:
		if a.CanRead && !a.CanWrite {
			a.Reason = "Your role can view but not edit; ask an admin for a different role."
		}
	}
	return a
}
