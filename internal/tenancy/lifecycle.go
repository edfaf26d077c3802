package tenancy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// Transition is one row of the lifecycle table: the statuses a tenant may move to from From.
type Transition struct {
	From rules.Status
	To   []rules.Status
}

// Transitions is the lifecycle as an explicit table; any change not listed is
// errs.ErrInvalidTransition. cancelled is terminal for every status change but one:
// reactivateTenant (retention.go) brings a cancelled tenant back within its retention, before
// the purge starts, so nothing half-deleted ever comes back to life. A trial can be suspended (abusive
// signups are the common case), and a suspension lifted back to wherever billing and the trial
// clock say (Tenant.RestoredStatus).
var Transitions = []Transition{
	{rules.StatusProvisioning, []rules.Status{rules.StatusTrial, rules.StatusActive, rules.StatusCancelled}},
	{rules.StatusTrial, []rules.Status{rules.StatusTrialExpired, rules.StatusActive, rules.StatusPastDue, rules.StatusSuspended, rules.StatusCancelled}},
	{rules.StatusTrialExpired, []rules.Status{rules.StatusTrial, rules.StatusActive, rules.StatusSuspended, rules.StatusCancelled}},
	{rules.StatusActive, []rules.Status{rules.StatusPastDue, rules.StatusSuspended, rules.StatusCancelled}},
	{rules.StatusPastDue, []rules.Status{rules.StatusActive, rules.StatusSuspended, rules.StatusCancelled}},
	{rules.StatusSuspended, []rules.Status{rules.StatusTrial, rules.StatusTrialExpired, rules.StatusActive, rules.StatusPastDue, rules.StatusCancelled}},
	{rules.StatusCancelled, nil},
}

// NextStatuses returns the statuses the table allows after from.
func NextStatuses(from rules.Status) []rules.Status {
	for _, t := range Transitions {
		if t.From == from {
			return t.To
		}
	}
	return nil
}

// CanTransition reports whether the table allows from → to.
func CanTransition(from, to rules.Status) bool {
	return slices.Contains(NextStatuses(from), to)
}

// Actor is who caused a change: a signed-in user (platform staff, for the staff operations) or
// the system (a job, a webhook).
type Actor struct {
	UID          string            // "" for the system
	PlatformRole auth.PlatformRole // the user's platform role when they acted
	System       string            // the job or integration that acted, e.g. "expire-trials"; "" for users
}

func actorOf(p auth.Principal) Actor { return Actor{UID: p.UID, PlatformRole: p.PlatformRole} }

// HistoryEntry records one status change (or trial extension) in tenants/{id}/history.
type HistoryEntry struct {
	ID        string
	From      rules.Status
	To        rules.Status
	Actor     Actor
	Reason    string
	RequestID string // the API request or job run that made the change
	At        time.Time
	// TrialEndsAt and PreviousTrialEndsAt are set when the change moved the trial's end.
	TrialEndsAt         time.Time
	PreviousTrialEndsAt time.Time
	// PlanID, SeatCap and their previous values are set when the change moved the tenant to
	// another plan (the Stripe webhook following the subscription's price); From and To are then
	// both the tenant's status.
	PlanID          string
	PreviousPlanID  string
	SeatCap         int
	PreviousSeatCap int
}

// Audit actions: the staff operations, status changes made by the system, and member changes.
const (
	AuditSetStatus         = "tenant.set_status"
	AuditExtendTrial       = "tenant.extend_trial"
	AuditProvisionContract = "tenant.provision_contract" // provisionContractTenant, new tenant
	AuditConvertContract   = "tenant.convert_contract"   // provisionContractTenant with existingTenantId
	AuditStatusChange      = "tenant.status_change"      // a job or integration changed the status
	AuditPlanChange        = "tenant.plan_change"        // the plan and seat cap followed the Stripe subscription's price
	AuditReactivate        = "tenant.reactivate"         // reactivateTenant: a cancelled tenant back within its retention

	// Member changes (package members), written in the transaction that makes them.
	AuditMemberInvited              = "member.invited"                   // an invitation was created (one entry per address)
	AuditMemberInvitationRevoked    = "member.invitation_revoked"        // revokeInvitation
	AuditMemberInvitationResent     = "member.invitation_resent"         // resendInvitation
	AuditMemberJoined               = "member.joined"                    // an invitation was accepted
	AuditMemberRoleChanged          = "member.role_changed"              // changeMemberRole
	AuditMemberAppRolesChanged      = "member.app_roles_changed"         // setMemberAppRoles
	AuditMemberRemoved              = "member.removed"                   // removeMember of another member
	AuditMemberLeft                 = "member.left"                      // removeMember of oneself, leaveTenant
	AuditMemberUserDeleted          = "member.user_deleted"              // the member's Firebase user was deleted
	AuditMemberInvitationClosed     = "member.invitation_closed"         // the invitee's Firebase user was deleted
	AuditMemberOwnershipTransferred = "member.ownership_transferred"     // transferOwnership
	AuditInvitationExpiryChanged    = "tenant.invitation_expiry_changed" // setInvitationExpiryDays
)

// AuditEntry records one staff action, status change or member change in tenants/{id}/audit.
type AuditEntry struct {
	ID        string // the document id; "" until written
	Action    string
	Actor     Actor
	Reason    string
	RequestID string
	At        time.Time
	Details   map[string]any
	// Before and After hold the fields the action changed, as they were and as they became
	// (Before is nil for a tenant the action created).
	Before map[string]any
	After  map[string]any
}

// StatusChange is everything one transition writes, in the same transaction that read the
// tenant it was decided on.
type StatusChange struct {
	Status      rules.Status
	At          time.Time // the new statusChangedAt
	TrialEndsAt time.Time // zero: unchanged
	Cause       Cause     // who caused the new status (tenants/{id}.statusCause)
	// BillingStatus, when set, is what billing now asks for (tenants/{id}.billingStatus).
	BillingStatus rules.Status
	// GraceEndsAt, when set, starts a past-due grace (tenants/{id}.graceEndsAt); ClearGrace
	// removes the one the tenant has. See graceChange.
	GraceEndsAt time.Time
	ClearGrace  bool
	History     HistoryEntry
	Audit       *AuditEntry
	Outbox      []OutboxEntry
}

// Apply returns t as it is after the change.
func (c StatusChange) Apply(t Tenant) Tenant {
	t.Status = c.Status
	t.StatusChangedAt = c.At
	t.StatusCause = c.Cause
	if c.BillingStatus != "" {
		t.BillingStatus = c.BillingStatus
	}
	if !c.TrialEndsAt.IsZero() {
		t.TrialEndsAt = c.TrialEndsAt
	}
	switch {
	case !c.GraceEndsAt.IsZero():
		t.GraceEndsAt = c.GraceEndsAt
	case c.ClearGrace:
		t.GraceEndsAt = time.Time{}
	}
	return t
}

// transitionRequest describes one change for transition.
type transitionRequest struct {
	to          rules.Status
	trialEndsAt time.Time // non-zero: also move the trial's end (extendTrial)
	actor       Actor
	cause       Cause
	reason      string
	auditAction string // non-empty for staff actions (and integrations), which are also written to the audit log
	// keepStatus allows a change to the tenant's own status: lifting a staff suspension where
	// billing keeps the tenant suspended changes only the cause.
	keepStatus bool
	// reactivate allows leaving cancelled, which the table never does (reactivateTenant).
	reactivate bool
	// guard re-checks a precondition on the tenant as read inside the transaction (the job's
	// "still in trial and due"), so a decision taken on an older read can never be applied. It
	// may also adjust the request (target status, cause, reason) from that read, on a copy.
	guard func(t Tenant, req *transitionRequest) error
}

// transition is the one function that changes a tenant's status. In one short transaction it
// reads the tenant, checks the lifecycle table, and writes the status, statusChangedAt, a history
// entry, the audit entry of a staff action and the outbox events the change emits. Everything
// racing it (another transition, an API write that checks the status in its own transaction)
// is serialized by Firestore on the tenant document.
func (s *Service) transition(ctx context.Context, tenantID string, req transitionRequest) (Tenant, error) {
	requestID := reqctx.RequestID(ctx)
	t, err := s.store.ChangeStatus(ctx, tenantID, func(t Tenant) (StatusChange, error) {
		return s.decideTransition(t, req, requestID)
	})
	if err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// DecideTransition decides a move of t to status `to` exactly as transition does (the same
// table, history, audit and outbox events), for a caller in another package that must commit the
// change together with writes of its own in one transaction: the Stripe webhook records the event
// it applies in the same commit, so a crash can neither record an event without applying it nor
// apply it twice. t must have been read inside that transaction, and the store writes the result
// the way ChangeStatus does. The request id comes from ctx (reqctx).
func (s *Service) DecideTransition(ctx context.Context, t Tenant, to rules.Status, actor Actor, cause Cause, reason string) (StatusChange, error) {
	return s.decideTransition(t, transitionRequest{to: to, actor: actor, cause: cause, reason: reason}, reqctx.RequestID(ctx))
}

// decideTransition decides one change of t, as read inside the transaction that will write it.
// It only computes: the transaction may run it more than once. Besides transition, the contract
// conversion (contract.go) uses it inside its own transaction, so a converted tenant's status
// change is decided, recorded and audited exactly as every other.
func (s *Service) decideTransition(t Tenant, req transitionRequest, requestID string) (StatusChange, error) {
	// Read the clock inside: the transaction may be retried, and the change is dated when it is
	// decided.
	now := s.clock.Now()
	// A copy: a retried attempt must decide afresh from its own read.
	if req.guard != nil {
		if err := req.guard(t, &req); err != nil {
			return StatusChange{}, err
		}
	}
	to, reason := req.to, req.reason
	extending := to == rules.StatusTrial && t.Status == rules.StatusTrial && !req.trialEndsAt.IsZero()
	keeping := req.keepStatus && to == t.Status
	reactivating := req.reactivate && t.Status == rules.StatusCancelled
	if !extending && !keeping && !reactivating && !CanTransition(t.Status, to) {
		return StatusChange{}, invalidTransition(t.Status, to)
	}
	if to == rules.StatusTrial {
		end := t.TrialEndsAt
		if !req.trialEndsAt.IsZero() {
			end = req.trialEndsAt
		}
		if !end.After(now) {
			// The job would expire it again at once and send a second conversion email.
			return StatusChange{}, errs.Detail(errs.ErrInvalidTransition,
				"the trial ended on %s; reopen it with extendTrial and a new end date", end.UTC().Format(time.RFC3339))
		}
	}
	ch := StatusChange{
		Status:      to,
		At:          now,
		TrialEndsAt: req.trialEndsAt,
		Cause:       req.cause,
		History: HistoryEntry{
			From: t.Status, To: to, Actor: req.actor, Reason: reason, RequestID: requestID, At: now,
		},
	}
	if !req.trialEndsAt.IsZero() {
		ch.History.TrialEndsAt = req.trialEndsAt
		ch.History.PreviousTrialEndsAt = t.TrialEndsAt
	}
	// Every status change is audited, not only staff actions: the audit log is where support
	// and the customer's admins look first ("who closed our writes, and why?").
	action := req.auditAction
	if action == "" {
		action = AuditStatusChange
	}
	details := map[string]any{"from": string(t.Status), "to": string(to)}
	before := map[string]any{"status": string(t.Status), "statusCause": causeName(t.StatusCause)}
	after := map[string]any{"status": string(to), "statusCause": causeName(req.cause)}
	if !req.trialEndsAt.IsZero() {
		details["trialEndsAt"] = req.trialEndsAt
		details["previousTrialEndsAt"] = t.TrialEndsAt
		before["trialEndsAt"] = t.TrialEndsAt
		after["trialEndsAt"] = req.trialEndsAt
	}
	ch.GraceEndsAt, ch.ClearGrace = s.graceChange(t, to, now)
	if !ch.GraceEndsAt.IsZero() {
		after[rules.FieldGraceEndsAt] = ch.GraceEndsAt
	}
	if ch.ClearGrace {
		before[rules.FieldGraceEndsAt] = t.GraceEndsAt
	}
	ch.Audit = &AuditEntry{
		Action: action, Actor: req.actor, Reason: reason, RequestID: requestID, At: now, Details: details,
		Before: before, After: after,
	}
	ch.Outbox = append(eventsOf(t, to, req.cause, now), s.cfg.Events.Emit(t.ID, statusChanged(t, ch), now)...)
	return ch, nil
}

// graceChange is what a move of t to status `to` at now does to its past-due grace. Entering
// past_due starts one of GraceDays (none with 0: writes close at once, in the API and the rules),
// unless t still holds one from before a suspension: lifting a suspension does not restart it.
// Moving anywhere but past_due or suspended ends it (a paid invoice makes the tenant active).
func (s *Service) graceChange(t Tenant, to rules.Status, now time.Time) (start time.Time, clear bool) {
	switch {
	case to == rules.StatusPastDue && t.Status != rules.StatusPastDue && t.GraceEndsAt.IsZero():
		if days := s.GraceDays(t); days > 0 {
			return now.AddDate(0, 0, days), false
		}
	case to != rules.StatusPastDue && to != rules.StatusSuspended && !t.GraceEndsAt.IsZero():
		return time.Time{}, true
	}
	return time.Time{}, false
}

// GraceDays is t's past-due grace in days: its contract's when the contract sets one, else its
// plan's (0 for a plan retired from the catalog).
func (s *Service) GraceDays(t Tenant) int {
	if t.Contract != nil && t.Contract.GraceDays != nil {
		return *t.Contract.GraceDays
	}
	p, _ := s.plans.Get(t.PlanID)
	return p.GraceDays
}

// causeName spells a cause for the audit log.
func causeName(c Cause) string {
	if c == CauseSignup {
		return "signup"
	}
	return string(c)
}

// eventsOf lists the outbox entries a move of t to status `to` at `now`, for cause, emits.
func eventsOf(t Tenant, to rules.Status, cause Cause, now time.Time) []OutboxEntry {
	if to == rules.StatusCancelled && cause != CauseBilling {
		// Staff cancelled the tenant: stop billing it. (A cancellation that came from Stripe
		// already has no subscription to cancel.)
		key := t.ID + "-cancel-" + strconv.FormatInt(now.UnixNano(), 10)
		return []OutboxEntry{NewOutboxEntry(t.ID, kinds.CancelSubscription{}, key, now)}
	}
	if to != rules.StatusTrialExpired {
		return nil
	}
	// The id names this one expiry (the tenant and the instant of the change), so a retried
	// transaction or a re-run of the job can never queue a second email for it, while a trial
	// that is extended and expires again gets its own.
	key := t.ID + "-" + strconv.FormatInt(now.UnixNano(), 10)
	return []OutboxEntry{NewOutboxEntry(t.ID, kinds.TrialExpiredEmail{TrialEndedAt: t.TrialEndsAt}, key, now)}
}

// invalidTransition says what is allowed instead, in the API's enum spelling.
func invalidTransition(from, to rules.Status) error {
	next := NextStatuses(from)
	if len(next) == 0 {
		return errs.Detail(errs.ErrInvalidTransition,
			"an organization that is %s cannot change status any more; a super admin can bring a cancelled one back with reactivateTenant within its retention, otherwise provision a new organization", enum(from))
	}
	names := make([]string, len(next))
	for i, s := range next {
		names[i] = enum(s)
	}
	return errs.Detail(errs.ErrInvalidTransition,
		"an organization that is %s cannot move to %s; from %s it can move to %s",
		enum(from), enum(to), enum(from), strings.Join(names, ", "))
}

// enum spells a status as the GraphQL enum does.
func enum(s rules.Status) string { return strings.ToUpper(string(s)) }

// Platform roles allowed to run extendTrial; setTenantStatus has its own table (StaffStatusTable).
var extendTrialRoles = []auth.PlatformRole{auth.PlatformSuperAdmin, auth.PlatformSales}

// MaxTrialExtension bounds extendTrial: a longer evaluation is a contract, not a trial.
const MaxTrialExtension = 365 * 24 * time.Hour

// ExtendTrial is the staff operation extendTrial (platform roles super_admin and sales): it sets
// the trial's end of a tenant in trial, or reopens the trial of a trial_expired tenant.
func (s *Service) ExtendTrial(ctx context.Context, tenantID string, trialEndsAt time.Time, reason string) (TenantView, error) {
	p, v, err := s.staffTarget(ctx, tenantID, extendTrialRoles, "Extending a trial")
	if err != nil {
		return TenantView{}, err
	}
	if reason, err = validate.Reason(reason); err != nil {
		return TenantView{}, err
	}
	now := s.clock.Now()
	end := trialEndsAt.UTC().Truncate(time.Microsecond) // what Firestore keeps
	if !end.After(now) {
		return TenantView{}, errs.Invalid("trialEndsAt", "must be in the future; send a time after "+now.Format(time.RFC3339))
	}
	if end.After(now.Add(MaxTrialExtension)) {
		return TenantView{}, errs.Invalid("trialEndsAt", "can be at most 365 days ahead; for a longer evaluation, provision a contract tenant")
	}
	if err := auth.RequireFresh(ctx); err != nil {
		return TenantView{}, err
	}
	t, err := s.transition(ctx, tenantID, transitionRequest{
		to: rules.StatusTrial, trialEndsAt: end, actor: actorOf(p), cause: CauseStaff, reason: reason, auditAction: AuditExtendTrial,
		guard: func(t Tenant, _ *transitionRequest) error {
			if t.Status != rules.StatusTrial && t.Status != rules.StatusTrialExpired {
				return errs.Detail(errs.ErrInvalidTransition,
					"only a trial can be extended, and this organization is %s; use setTenantStatus to change its status", enum(t.Status))
			}
			return nil
		},
	})
	if err != nil {
		return TenantView{}, fmt.Errorf("extend trial of tenant %s: %w", tenantID, err)
	}
	v.Tenant = t
	return v, nil
}

// staffTarget authorizes a staff operation on a tenant. Callers who cannot see the tenant get
// errs.ErrNotFound, so its existence does not leak; callers who can see it (members, other
// staff) but lack the platform role get errs.ErrForbidden.
func (s *Service) staffTarget(ctx context.Context, tenantID string, allowed []auth.PlatformRole, what string) (auth.Principal, TenantView, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, TenantView{}, errs.ErrUnauthenticated
	}
	v, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return auth.Principal{}, TenantView{}, err
	}
	if !slices.Contains(allowed, p.PlatformRole) {
		names := make([]string, len(allowed))
		for i, r := range allowed {
			names[i] = strings.ToUpper(string(r))
		}
		return auth.Principal{}, TenantView{}, errs.Detail(errs.ErrForbidden,
			"%s needs the %s platform role; ask a super admin", what, strings.Join(names, " or "))
	}
	return p, v, nil
}

// StatusHistory lists a tenant's status changes, newest first, for callers who may read its
// audit log (owner and admin while the status allows reads; platform staff always).
func (s *Service) StatusHistory(ctx context.Context, tenantID string, limit int) ([]HistoryEntry, error) {
	if _, err := s.Authorize(ctx, tenantID, rules.ReadAuditLog); err != nil {
		return nil, err
	}
	limit = max(1, min(limit, 200))
	h, err := s.store.StatusHistory(ctx, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("read status history of %s: %w", tenantID, err)
	}
	return h, nil
}
