package tenancy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// ContractInput is what sales sends for a signed contract (provisionContractTenant).
type ContractInput struct {
	IdempotencyKey    string
	OrganizationName  string
	PlanID            string
	SeatCap           int
	GoLiveDate        time.Time
	AdminContact      Contact
	Subdomain         string // "" means none (or, converting, keep the organization's)
	ContractReference string
	// ExistingTenantID, when set, converts that evaluation tenant in place instead of
	// provisioning a new one.
	ExistingTenantID string
	// GraceDays, when set, is the contract's past-due grace in days (0 to plans.MaxGraceDays),
	// instead of the plan's.
	GraceDays *int
}

// Bounds of a contract's terms.
const (
	MaxContractSeatCap = 100000
	// MaxGoLiveAhead bounds the go-live date: until go-live the tenant is a trial, and a trial of
	// years is a typo.
	MaxGoLiveAhead = 2 * 366 * 24 * time.Hour
)

// contractRoles may provision and convert contract tenants.
var contractRoles = []auth.PlatformRole{auth.PlatformSuperAdmin, auth.PlatformSales}

// Input field names, as the GraphQL input spells them.
const (
	fieldPlanID           = "planId"
	fieldSeatCap          = "seatCap"
	fieldGoLiveDate       = "goLiveDate"
	fieldContactEmail     = "adminContact.email"
	fieldExistingTenantID = "existingTenantId"
	fieldGraceDays        = "graceDays"
)

// ProvisionContract is provisionContractTenant (platform roles sales and super_admin). Without
// ExistingTenantID it provisions a new tenant through the one provisioning function, with the
// contract's terms instead of the self-serve defaults: the contract's plan and seat cap (which may
// exceed the plan's), trialEndsAt = the go-live date, source sales_assisted, the contract record,
// and an owner invitation to the named admin that holds the one seat. With ExistingTenantID it
// converts that evaluation tenant in place (see convert). Both are idempotent by key, scoped to
// the caller.
func (s *Service) ProvisionContract(ctx context.Context, in ContractInput) (ProvisionResult, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return ProvisionResult{}, errs.ErrUnauthenticated
	}
	if !slices.Contains(contractRoles, p.PlatformRole) {
		return ProvisionResult{}, errs.Detail(errs.ErrForbidden,
			"provisioning a contract tenant needs the SALES or SUPER_ADMIN platform role; ask a super admin to grant it (tenantry admin grant-platform-role)")
	}
	sp, existing, err := s.contractSpec(in)
	if err != nil {
		return ProvisionResult{}, err
	}
	if existing != "" {
		return s.convert(ctx, p, existing, sp)
	}
	return s.provision(ctx, p, sp)
}

// contractSpec validates a contract's input into the provisioning spec, and returns the id of the
// tenant to convert ("" for a new one).
func (s *Service) contractSpec(in ContractInput) (spec, string, error) {
	key, err := validate.IdempotencyKey(in.IdempotencyKey)
	if err != nil {
		return spec{}, "", err
	}
	name, err := validate.OrganizationName(in.OrganizationName)
	if err != nil {
		return spec{}, "", err
	}
	plan, found := s.plans.Get(strings.TrimSpace(in.PlanID))
	if !found {
		return spec{}, "", errs.Invalid(fieldPlanID, "no such plan; the plans query lists the valid ids")
	}
	if in.SeatCap < 1 || in.SeatCap > MaxContractSeatCap {
		return spec{}, "", errs.Invalid(fieldSeatCap, fmt.Sprintf("use the contracted number of seats, 1 to %d (it may exceed the plan's %d)", MaxContractSeatCap, plan.SeatCap))
	}
	now := s.clock.Now()
	goLive := in.GoLiveDate.UTC().Truncate(time.Microsecond) // what Firestore keeps
	if !goLive.After(now) {
		return spec{}, "", errs.Invalid(fieldGoLiveDate, "must be in the future (the tenant is a trial until go-live); send a time after "+now.Format(time.RFC3339))
	}
	if goLive.After(now.Add(MaxGoLiveAhead)) {
		return spec{}, "", errs.Invalid(fieldGoLiveDate, "can be at most two years ahead; check the year")
	}
	sub := ""
	if in.Subdomain != "" {
		if sub, err = validate.Subdomain(in.Subdomain); err != nil {
			return spec{}, "", err
		}
	}
	ref, err := validate.ContractReference(in.ContractReference)
	if err != nil {
		return spec{}, "", err
	}
	email, err := validate.Email(in.AdminContact.Email)
	if err != nil {
		return spec{}, "", errs.Invalid(fieldContactEmail, "use the named admin's plain email address, such as name@example.com; they receive the owner invitation")
	}
	contactName, err := validate.ContactName(in.AdminContact.Name)
	if err != nil {
		return spec{}, "", err
	}
	if g := in.GraceDays; g != nil && (*g < 0 || *g > plans.MaxGraceDays) {
		return spec{}, "", errs.Invalid(fieldGraceDays, fmt.Sprintf("use the contract's days of writing after a failed payment, 0 to %d, or leave it out for the plan's %d", plans.MaxGraceDays, plan.GraceDays))
	}
	existing := ""
	if in.ExistingTenantID != "" {
		if existing, err = validate.ID(fieldExistingTenantID, strings.TrimSpace(in.ExistingTenantID)); err != nil {
			return spec{}, "", errs.Invalid(fieldExistingTenantID, "use the organization's id as the tenants query shows it, or leave it out to provision a new organization")
		}
	}
	return spec{
		operation:   "provisionContractTenant",
		key:         key,
		name:        name,
		subdomain:   sub,
		plan:        plan,
		seatCap:     in.SeatCap,
		trialEndsAt: goLive,
		source:      SourceSalesAssisted,
		contract: &ContractRecord{
			Contract: Contract{
				PlanID: plan.ID, SeatCap: in.SeatCap, GoLiveDate: goLive,
				AdminContact: Contact{Email: email, Name: contactName}, GraceDays: in.GraceDays,
			},
			Reference: ref,
		},
	}, existing, nil
}

// contractReason is the reason recorded for a contract's provisioning or conversion: the contract
// itself is the reason, and its reference is what sales and support search by.
func contractReason(reference string) string { return "signed contract " + reference }

// auditTenantFields are the tenant fields a contract sets, as the audit log records them, with
// the contract's reference (kept in the tenant's StaffRecord).
func auditTenantFields(t Tenant, contractReference string) map[string]any {
	m := map[string]any{
		"name": t.Name, "status": string(t.Status), "planId": t.PlanID, "seatCap": t.SeatCap,
		"trialEndsAt": t.TrialEndsAt, "source": string(t.Source),
	}
	if t.Subdomain != "" {
		m["subdomain"] = t.Subdomain
	}
	if c := t.Contract; c != nil {
		terms := map[string]any{
			"reference": contractReference, "planId": c.PlanID, "seatCap": c.SeatCap, "goLiveDate": c.GoLiveDate,
			"adminContactEmail": c.AdminContact.Email,
		}
		if c.GraceDays != nil {
			terms["graceDays"] = *c.GraceDays
		}
		m["contract"] = terms
	}
	return m
}

// ---------------------------------------------------------------------------------------------
// Converting an evaluation tenant in place
// ---------------------------------------------------------------------------------------------

// ConversionState is what the conversion transaction reads.
type ConversionState struct {
	Tenant Tenant
	// Contact is the named admin's membership, found by email; ContactFound is false when they
	// are not a member.
	Contact      Member
	ContactFound bool
	// Invitation is the named admin's invitation document in the tenant, if any (any status).
	Invitation      ExistingInvitation
	InvitationFound bool
	// Staff is the tenant's staff-only record (zero when it has none yet).
	Staff StaffRecord
	// BillingRecordFound says the tenant's billing record exists.
	BillingRecordFound bool
}

// ExistingInvitation is the part of an invitation document the conversion decides on.
type ExistingInvitation struct {
	Role      rules.Role
	Status    string // members.Status values: pending, accepted, revoked, expired
	ExpiresAt time.Time
}

// Conversion is what the conversion transaction writes, atomically with its reads.
type Conversion struct {
	Idempotency IdempotencyRecord // created (create-only: a repeat fails and is then answered as a replay)
	Change      StatusChange      // status, trialEndsAt, history, audit and outbox, as every transition writes them
	PlanID      string
	SeatCap     int
	// Contract's terms go on the tenant; its reference and who entered it, with SearchTokens,
	// into the tenant's StaffRecord.
	Contract ContractRecord
	// Subdomain claims a subdomain for a tenant that had none; nil otherwise.
	Subdomain    *SubdomainClaim
	SearchTokens []string
	// Invitation, when set, is written over the named admin's invitation document, with its token
	// index; its email is in Change.Outbox.
	Invitation         *OwnerInvitation
	PendingInvitations int
	PendingExpiryFloor time.Time // zero: unknown (the members domain then scans)
	// BillingPlanID, when set, is the billing record's new planId.
	BillingPlanID string
}

// Apply returns t as the conversion leaves it.
func (c Conversion) Apply(t Tenant) Tenant {
	t = c.Change.Apply(t)
	t.PlanID, t.SeatCap = c.PlanID, c.SeatCap
	terms := c.Contract.Contract
	t.Contract = &terms
	t.PendingInvitations, t.PendingExpiryFloor = c.PendingInvitations, c.PendingExpiryFloor
	if c.Subdomain != nil {
		t.Subdomain = c.Subdomain.Subdomain
	}
	return t
}

// convertibleStatuses are the statuses of an evaluation: a paying customer's terms change
// through billing, and a suspended or cancelled tenant is not negotiating.
var convertibleStatuses = []rules.Status{rules.StatusTrial, rules.StatusTrialExpired}

// convert applies a signed contract to an evaluation tenant in place, in one short transaction:
// the contract's plan, seat cap, go-live date (as trialEndsAt) and record; a trial_expired tenant
// back in trial through the lifecycle (history and audit entry); the subdomain claimed if the
// tenant had none; and an owner invitation to the named admin unless they are a member already.
// Members, their roles and the tenant's data are untouched, and so is its name (a rename is the
// customer's call; the contract's name is kept in the audit entry). The idempotency record is
// created in the same transaction, and the billing record's planId, when the record exists, is
// set to the contract's plan in it too.
//
// When the named admin is already a member, no invitation is sent: an owner stays owner, and any
// other member keeps their role (promoting them is for the current owner, with
// transferOwnership); the audit entry notes it. When they are not a member and accept the
// invitation, they become the owner and the previous owner an admin (see members.Accept).
func (s *Service) convert(ctx context.Context, p auth.Principal, tenantID string, sp spec) (ProvisionResult, error) {
	if err := auth.RequireFresh(ctx); err != nil {
		return ProvisionResult{}, err
	}
	params := sp.params()
	params["existingTenantId"] = tenantID
	paramsHash, err := hashParams(params)
	if err != nil {
		return ProvisionResult{}, err
	}
	recordID := IdempotencyRecordID(p.UID, sp.key)
	// A repeat is answered from the record before anything is decided: the tenant may have moved
	// on since (gone live, say), and the repeat must still get the first answer.
	if res, err := s.replayOr(ctx, recordID, paramsHash, errNoRecord); !errors.Is(err, errNoRecord) {
		return res, err
	}
	c := *sp.contract
	requestID := reqctx.RequestID(ctx)
	t, err := s.store.ConvertToContract(ctx, tenantID, c.AdminContact.Email, func(st ConversionState) (Conversion, error) {
		return s.decideConversion(st, p, recordID, paramsHash, sp, requestID)
	})
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return ProvisionResult{}, errs.Detail(errs.ErrNotFound,
			"no organization has the id %s; copy the id from the tenants query, or leave existingTenantId out to provision a new organization", tenantID)
	case errors.Is(err, ErrConflict):
		return s.resolveConflict(ctx, recordID, paramsHash, sp.subdomain, err)
	case err != nil:
		return ProvisionResult{}, fmt.Errorf("convert tenant %s to contract: %w", tenantID, err)
	}
	return ProvisionResult{Tenant: t}, nil
}

// decideConversion decides a conversion on the state read in its transaction; it only computes.
func (s *Service) decideConversion(st ConversionState, p auth.Principal, recordID, paramsHash string, sp spec, requestID string) (Conversion, error) {
	t := st.Tenant
	if err := checkConvertible(t, sp); err != nil {
		return Conversion{}, err
	}
	now := s.clock.Now()
	c := sp.contract.signed(p, now)
	conv := newConversion(st, c, sp, IdempotencyRecord{
		ID: recordID, UID: p.UID, Operation: sp.operation, ParamsHash: paramsHash,
		TenantID: t.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.IdempotencyRetention),
	})
	details := map[string]any{"contractOrganizationName": sp.name, "adminContact": c.AdminContact.Email}
	mail, err := inviteNamedAdmin(st, &conv, p, details, now)
	if err != nil {
		return Conversion{}, err
	}
	if need := t.SeatsUsed + conv.PendingInvitations; need > c.SeatCap {
		return Conversion{}, errs.Invalid(fieldSeatCap, fmt.Sprintf(
			"the organization has %d members and %d pending invitations (including the named admin's), so the seat cap must be at least %d; agree a larger seat cap, or have them remove members first",
			t.SeatsUsed, conv.PendingInvitations, need))
	}

	// The status part goes through the lifecycle like every change: trial_expired → trial, or a
	// trial's end moved, with its history entry and audit entry.
	ch, err := s.decideTransition(t, transitionRequest{
		to: rules.StatusTrial, trialEndsAt: c.GoLiveDate, actor: actorOf(p), cause: CauseStaff,
		reason: contractReason(c.Reference), auditAction: AuditConvertContract,
	}, requestID)
	if err != nil {
		return Conversion{}, err
	}
	if mail != nil {
		ch.Outbox = append(ch.Outbox, *mail)
	}
	conv.Change = ch
	// The audit entry records the whole contract change, not only the status part.
	ch.Audit.Before = auditTenantFields(t, st.Staff.ContractReference)
	ch.Audit.After = auditTenantFields(conv.Apply(t), c.Reference)
	for k, v := range details {
		ch.Audit.Details[k] = v
	}
	return conv, nil
}

// checkConvertible refuses to convert a tenant out of evaluation, or to give it a second
// subdomain.
func checkConvertible(t Tenant, sp spec) error {
	if !slices.Contains(convertibleStatuses, t.Status) {
		return errs.Detail(errs.ErrInvalidTransition,
			"only an organization in evaluation (TRIAL or TRIAL_EXPIRED) can be converted to a contract in place, and this one is %s; leave existingTenantId out to provision a new organization for the contract",
			enum(t.Status))
	}
	if sp.subdomain != "" && t.Subdomain != "" && sp.subdomain != t.Subdomain {
		return errs.Invalid(validate.FieldSubdomain, fmt.Sprintf(
			"the organization already uses the subdomain %s, which converting keeps; send that one or leave subdomain out", t.Subdomain))
	}
	return nil
}

// newConversion is the conversion of st's tenant to contract c, before its owner invitation and
// status change: the contract's plan and terms, the billing record's plan, the subdomain claimed
// for a tenant without one, and the staff search's tokens.
func newConversion(st ConversionState, c ContractRecord, sp spec, rec IdempotencyRecord) Conversion {
	t := st.Tenant
	conv := Conversion{
		Idempotency: rec, PlanID: c.PlanID, SeatCap: c.SeatCap, Contract: c,
		PendingInvitations: t.PendingInvitations, PendingExpiryFloor: t.PendingExpiryFloor,
	}
	if st.BillingRecordFound {
		// The billing record's plan follows the contract's (a tenant without one, still being
		// provisioned, gets it from provisioning).
		conv.BillingPlanID = c.PlanID
	}
	subdomain := t.Subdomain
	if sp.subdomain != "" && t.Subdomain == "" {
		conv.Subdomain = &SubdomainClaim{Subdomain: sp.subdomain, TenantID: t.ID, ClaimedAt: rec.CreatedAt}
		subdomain = sp.subdomain
	}
	conv.SearchTokens = SearchTokens(t.Name, subdomain, c.Reference)
	return conv
}

// inviteNamedAdmin adds the contract's owner invitation to conv, unless the named admin is a
// member already or holds a valid owner invitation, and returns its email (nil: none). details
// gets what the audit entry says about it.
func inviteNamedAdmin(st ConversionState, conv *Conversion, p auth.Principal, details map[string]any, now time.Time) (*OutboxEntry, error) {
	t, email := st.Tenant, conv.Contract.AdminContact.Email
	switch {
	case st.ContactFound:
		details["adminContactMember"] = string(st.Contact.Role)
		if st.Contact.Role != rules.RoleOwner {
			details["note"] = "the named admin is already a member with role " + string(st.Contact.Role) +
				"; no invitation was sent, and the owner can hand over ownership with transferOwnership"
		}
		return nil, nil
	case st.InvitationFound && st.Invitation.Status == "pending" && st.Invitation.Role == rules.RoleOwner && now.Before(st.Invitation.ExpiresAt):
		details["invitation"] = "kept: a valid owner invitation was pending"
		return nil, nil
	}
	inv, m, err := newOwnerInvitation(t.ID, t.Name, email, p.UID, p.Email, now)
	if err != nil {
		return nil, err
	}
	conv.Invitation = &inv
	details["invitationId"] = inv.ID
	// A pending invitation being replaced already holds its seat in the counter.
	if !(st.InvitationFound && st.Invitation.Status == "pending") {
		conv.PendingExpiryFloor = ExpiryFloorWith(conv.PendingExpiryFloor, conv.PendingInvitations, inv.ExpiresAt)
		conv.PendingInvitations++
	}
	return &m, nil
}
