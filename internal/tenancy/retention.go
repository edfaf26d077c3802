package tenancy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/rules"
)

// A cancelled tenant is kept, whole, for Config.CancelledRetention after it was cancelled
// (statusChangedAt), so that a customer who changes their mind, or a cancellation made in error,
// can be undone by a super admin (Reactivate). After that the purge-cancelled-tenants job deletes
// it (purge.go).

// PurgeAfter is when the purge may delete t: the end of its retention; zero unless t is cancelled.
func (s *Service) PurgeAfter(t Tenant) time.Time {
	if t.Status != rules.StatusCancelled {
		return time.Time{}
	}
	return t.StatusChangedAt.Add(s.cfg.CancelledRetention)
}

// CancelledRetention is how long a cancelled tenant is kept.
func (s *Service) CancelledRetention() time.Duration { return s.cfg.CancelledRetention }

// reactivateRoles may run reactivateTenant: opening a tenant billing may have closed is a super
// admin's decision, as in StaffStatusTable.
var reactivateRoles = []auth.PlatformRole{auth.PlatformSuperAdmin}

// Reactivate is the staff operation reactivateTenant: it brings a cancelled tenant back, within
// its retention and before its purge has started, to the status billing and the trial clock say
// (reactivatedStatus). Everything the tenant had is still there: cancelling deletes nothing.
func (s *Service) Reactivate(ctx context.Context, tenantID, reason string) (TenantView, error) {
	p, v, reason, err := s.staffAction(ctx, tenantID, reactivateRoles, "Reactivating an organization", reason)
	if err != nil {
		return TenantView{}, err
	}
	t, err := s.transition(ctx, tenantID, transitionRequest{
		actor: actorOf(p), reason: reason, auditAction: AuditReactivate, reactivate: true,
		guard: func(t Tenant, req *transitionRequest) error { return s.decideReactivation(t, req) },
	})
	if err != nil {
		return TenantView{}, fmt.Errorf("reactivate tenant %s: %w", tenantID, err)
	}
	v.Tenant = t
	return v, nil
}

// decideReactivation checks, on t as read inside the transaction, that it may come back, and
// completes req with where it goes.
func (s *Service) decideReactivation(t Tenant, req *transitionRequest) error {
	now := s.clock.Now()
	if t.Status != rules.StatusCancelled {
		return errs.Detail(errs.ErrInvalidTransition,
			"only a cancelled organization can be reactivated, and this one is %s; use setTenantStatus or liftSuspension", enum(t.Status))
	}
	if !t.PurgeStartedAt.IsZero() {
		return errs.Detail(errs.ErrInvalidTransition,
			"this organization's data is being deleted (its retention ended on %s) and it cannot be reactivated; provision a new organization", day(s.PurgeAfter(t)))
	}
	if end := s.PurgeAfter(t); !now.Before(end) {
		return errs.Detail(errs.ErrInvalidTransition,
			"this organization's retention ended on %s (it is kept for %s after cancellation), so it can no longer be reactivated; provision a new organization",
			day(end), s.cfg.CancelledRetention)
	}
	req.to, req.cause = reactivatedStatus(t, now)
	return nil
}

// reactivatedStatus is where a reactivated tenant goes, and whose word that is: what billing last
// asked for when that is a live subscription (active, past_due), else the trial clock's (trial
// while it runs; active with a signed contract; trial_expired, from which the owner can pay their
// way back through Checkout).
func reactivatedStatus(t Tenant, now time.Time) (rules.Status, Cause) {
	switch t.BillingStatus {
	case rules.StatusActive, rules.StatusPastDue:
		return t.BillingStatus, CauseBilling
	}
	// RestoredStatus with billing silent is the trial clock's answer.
	t.BillingStatus = ""
	return t.RestoredStatus(now), CauseTrialClock
}

func day(t time.Time) string { return t.UTC().Format("January 2, 2006") }

// errPurgeNotDue is the purge's guard refusing a tenant that changed since it was listed.
var errPurgeNotDue = errors.New("the tenant is no longer a cancelled tenant past its retention")
