package tenancy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// StaffStatusRow is one row of the staff matrix: the statuses a platform role may set with
// setTenantStatus, and whether it may lift a staff suspension (to Tenant.RestoredStatus).
type StaffStatusRow struct {
	Role auth.PlatformRole
	May  []rules.Status
	Lift bool
}

// StaffStatusTable is who may set which status; a role not listed may set none. Support
// suspends (abuse, chargebacks) and lifts suspensions, but never opens what billing or the trial
// clock keeps closed: ACTIVE, or any status other than the one a lift restores, needs a super
// admin. Sales change trials through extendTrial only. The lifecycle table applies on top.
var StaffStatusTable = []StaffStatusRow{
	{auth.PlatformSuperAdmin, []rules.Status{
		rules.StatusTrial, rules.StatusTrialExpired, rules.StatusActive, rules.StatusPastDue,
		rules.StatusSuspended, rules.StatusCancelled,
	}, true},
	{auth.PlatformSupport, []rules.Status{rules.StatusSuspended}, true},
}

func staffRow(r auth.PlatformRole) (StaffStatusRow, bool) {
	for _, row := range StaffStatusTable {
		if row.Role == r {
			return row, true
		}
	}
	return StaffStatusRow{}, false
}

func staffStatusRoles() []auth.PlatformRole {
	out := make([]auth.PlatformRole, len(StaffStatusTable))
	for i, row := range StaffStatusTable {
		out[i] = row.Role
	}
	return out
}

// SetStatus is the staff operation setTenantStatus: it moves a tenant to status `to` along the
// lifecycle table, as StaffStatusTable allows the caller, recording reason in the history and
// the audit log. On a tenant in a staff suspension, setting the status that lifting restores
// (what billing and the trial clock say) is a lift, open to every role that may lift.
func (s *Service) SetStatus(ctx context.Context, tenantID string, to rules.Status, reason string) (TenantView, error) {
	if !rules.ValidStatus(to) {
		return TenantView{}, errs.Invalid("status", "use one of the TenantStatus values")
	}
	return s.staffStatus(ctx, tenantID, reason, func(t Tenant, row StaffStatusRow, req *transitionRequest) error {
		return s.decideStaffStatus(t, row, to, false, req)
	})
}

// LiftSuspension lifts a staff suspension: the tenant returns to the status billing last asked
// for, or the trial clock's (Tenant.RestoredStatus), whatever it was before.
func (s *Service) LiftSuspension(ctx context.Context, tenantID, reason string) (TenantView, error) {
	return s.staffStatus(ctx, tenantID, reason, func(t Tenant, row StaffStatusRow, req *transitionRequest) error {
		return s.decideStaffStatus(t, row, "", true, req)
	})
}

// staffStatus authorizes a staff status change and runs it; decide completes the request on the
// tenant as read inside the transaction.
func (s *Service) staffStatus(ctx context.Context, tenantID, reason string, decide func(Tenant, StaffStatusRow, *transitionRequest) error) (TenantView, error) {
	p, v, reason, err := s.staffAction(ctx, tenantID, staffStatusRoles(), "Changing an organization's status", reason)
	if err != nil {
		return TenantView{}, err
	}
	row, _ := staffRow(p.PlatformRole)
	t, err := s.transition(ctx, tenantID, transitionRequest{
		actor: actorOf(p), reason: reason, auditAction: AuditSetStatus,
		guard: func(t Tenant, req *transitionRequest) error { return decide(t, row, req) },
	})
	if err != nil {
		return TenantView{}, fmt.Errorf("set status of tenant %s: %w", tenantID, err)
	}
	v.Tenant = t
	return v, nil
}

// staffAction authorizes a staff operation that takes a reason: the caller's platform role (see
// staffTarget), then the reason, then a fresh token. It returns the reason as validated.
func (s *Service) staffAction(ctx context.Context, tenantID string, allowed []auth.PlatformRole, what, reason string) (auth.Principal, TenantView, string, error) {
	p, v, err := s.staffTarget(ctx, tenantID, allowed, what)
	if err != nil {
		return auth.Principal{}, TenantView{}, "", err
	}
	if reason, err = validate.Reason(reason); err != nil {
		return auth.Principal{}, TenantView{}, "", err
	}
	if err := auth.RequireFresh(ctx); err != nil {
		return auth.Principal{}, TenantView{}, "", err
	}
	return p, v, reason, nil
}

// decideStaffStatus completes req for a move of t to `to` by a caller with row. On a tenant in a
// staff suspension, a lift (asked for, or setting the status a lift restores) goes to
// Tenant.RestoredStatus, and the cause becomes billing's or the trial clock's again. Anything
// else is a staff decision: the lifecycle table, then row, must allow it.
func (s *Service) decideStaffStatus(t Tenant, row StaffStatusRow, to rules.Status, lift bool, req *transitionRequest) error {
	req.to, req.cause = to, CauseStaff
	restored := t.RestoredStatus(s.clock.Now())
	if t.HeldByStaff() && (lift || (to == restored && to != rules.StatusSuspended)) {
		if !row.Lift {
			return errs.Detail(errs.ErrForbidden, "lifting a suspension needs a super admin or support")
		}
		req.to, req.cause, req.keepStatus = restored, CauseTrialClock, true
		if t.BillingStatus == restored {
			req.cause = CauseBilling
		}
		return nil
	}
	if lift {
		return errs.Detail(errs.ErrInvalidTransition,
			"this organization is %s and not in a staff suspension, so there is nothing to lift; use setTenantStatus to change its status", enum(t.Status))
	}
	if !CanTransition(t.Status, to) {
		return invalidTransition(t.Status, to)
	}
	if slices.Contains(row.May, to) {
		return nil
	}
	if t.HeldByStaff() {
		return errs.Detail(errs.ErrForbidden,
			"lifting this suspension restores %s (what billing and the trial clock say); set %s or use liftSuspension, or ask a super admin for %s",
			enum(restored), enum(restored), enum(to))
	}
	names := make([]string, len(row.May))
	for i, st := range row.May {
		names[i] = enum(st)
	}
	return errs.Detail(errs.ErrForbidden, "the %s platform role may set %s only; ask a super admin for %s",
		strings.ToUpper(string(row.Role)), strings.Join(names, ", "), enum(to))
}
