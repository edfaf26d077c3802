package tenancy

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/rules"
)

// Access is what the caller may do with a tenant's data right now.
type Access struct {
	CanRead  bool
	CanWrite bool
	// Reason is a sentence for the SPA's banner when something is closed; "" otherwise.
	Reason string
}

// Access computes what the caller may do now from the policy table, the same one firestore.rules
// is built from, on the tenant's effective status (a trial past its end is read-only at once).
func (s *Service) Access(v TenantView) Access { return AccessAt(v, s.clock.Now()) }

// AccessAt is Access at now.
func AccessAt(v TenantView, now time.Time) Access {
	if v.Staff {
		return Access{CanRead: true, Reason: "You are viewing this organization as platform staff; changes go through staff operations."}
	}
	t := v.Tenant
	status := t.AccessStatus(now)
	a := Access{
		CanRead:  rules.Check(status, v.Role, rules.ReadData) == nil,
		CanWrite: rules.Check(status, v.Role, rules.WriteData) == nil,
	}
	if t.State().InGrace(now) {
		a.Reason = fmt.Sprintf("Your last payment failed; editing stays open until %s. Update your payment method in the billing portal before then.",
			t.GraceEndsAt.UTC().Format("January 2, 2006 15:04 MST"))
		return a
	}
	switch status {
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

// Authorize is the API's policy check for a tenant-scoped operation: it reads the tenant and the
// caller's membership and applies the policy table (rules.Check: the status first, then the role).
// A tenant the caller cannot see is errs.ErrNotFound. Platform staff who are not members may take
// read actions in any status (support must see a suspended tenant) and nothing else: they change
// tenants through the staff operations, which have their own checks.
//
// An operation that writes must check again inside its own transaction, on the tenant as read
// there (see transition), so that a status change committed in between cannot be overtaken.
func (s *Service) Authorize(ctx context.Context, tenantID string, action rules.Action) (TenantView, error) {
	v, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return TenantView{}, err
	}
	if v.Staff {
		if rules.KindOf(action) == rules.KindRead {
			return v, nil
		}
		return TenantView{}, errs.Detail(errs.ErrForbidden,
			"platform staff change an organization through the staff operations (setTenantStatus, extendTrial), not as a member")
	}
	if err := rules.Check(v.Tenant.AccessStatus(s.clock.Now()), v.Role, action); err != nil {
		// Staff who are also members keep the staff view for reads.
		if p, _ := auth.FromContext(ctx); staffCanRead(p.PlatformRole) && rules.KindOf(action) == rules.KindRead {
			return TenantView{Tenant: v.Tenant, Staff: true}, nil
		}
		return TenantView{}, err
	}
	return v, nil
}
