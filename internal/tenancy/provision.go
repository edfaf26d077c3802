package tenancy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// SelfServeInput is what the SPA's signup form sends.
type SelfServeInput struct {
	IdempotencyKey   string
	OrganizationName string
	PlanID           string // "" means the catalog's self-serve default
	Subdomain        string // "" means none
}

// ProvisionResult is the answer of a provisioning call.
type ProvisionResult struct {
	Tenant   Tenant
	Replayed bool // the answer comes from an earlier call with the same idempotency key
}

// spec is what the one provisioning function needs, whoever calls it. Callers fill it from
// their own inputs (self-serve defaults, or a sales contract's terms).
type spec struct {
	operation   string
	key         string
	name        string
	subdomain   string
	plan        plans.Plan
	seatCap     int
	trialEndsAt time.Time
	source      Source
	// contract, when set, provisions for a signed sales contract: the caller (staff) does not
	// become a member, the named admin gets an owner invitation that holds the one seat, and the
	// contract record and an audit entry are written with the tenant.
	contract *ContractRecord
}

// params is the normalized request whose hash decides whether a repeated key is a replay.
func (sp spec) params() map[string]any {
	m := map[string]any{
		"operation":   sp.operation,
		"name":        sp.name,
		"subdomain":   sp.subdomain,
		"planId":      sp.plan.ID,
		"seatCap":     sp.seatCap,
		"trialEndsAt": sp.trialEndsAt.UTC().Format(time.RFC3339Nano),
		"source":      string(sp.source),
	}
	// Only contract calls add keys, so a self-serve request hashes exactly as before and its
	// stored idempotency records keep answering replays.
	if c := sp.contract; c != nil {
		m["contractReference"] = c.Reference
		m["adminContactEmail"] = c.AdminContact.Email
		m["adminContactName"] = c.AdminContact.Name
		// Only when set, so contracts without one hash as before.
		if c.GraceDays != nil {
			m["graceDays"] = *c.GraceDays
		}
	}
	return m
}

// ProvisionSelfServe provisions a tenant for the signed-in caller, who becomes its owner.
func (s *Service) ProvisionSelfServe(ctx context.Context, in SelfServeInput) (ProvisionResult, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return ProvisionResult{}, errs.ErrUnauthenticated
	}
	key, err := validate.IdempotencyKey(in.IdempotencyKey)
	if err != nil {
		return ProvisionResult{}, err
	}
	name, err := validate.OrganizationName(in.OrganizationName)
	if err != nil {
		return ProvisionResult{}, err
	}
	sub := ""
	if in.Subdomain != "" {
		if sub, err = validate.Subdomain(in.Subdomain); err != nil {
			return ProvisionResult{}, err
		}
	}
	plan := s.plans.SelfServeDefault()
	if in.PlanID != "" {
		var found bool
		if plan, found = s.plans.Get(in.PlanID); !found {
			return ProvisionResult{}, errs.Invalid(fieldPlanID, "no such plan; the plans query lists the valid ids")
		}
		if !plan.SelfServe {
			return ProvisionResult{}, errs.Invalid(fieldPlanID, fmt.Sprintf(
				"the %s plan is sold by our sales team only: contact sales to sign up for it, or pick a plan the plans query marks selfServe", plan.Name))
		}
	}
	return s.provision(ctx, p, spec{
		operation: "provisionTenant",
		key:       key,
		name:      name,
		subdomain: sub,
		plan:      plan,
		seatCap:   plan.SeatCap,
		// The trial end is derived from the commit time, so it is not part of the request's
		// identity: a replay a minute later is still the same request.
		source: SourceSelfServe,
	})
}

// provision is the one provisioning function. It writes the tenant, owner membership, user link,
// billing record, subdomain claim, idempotency record and outbox entries in one create-only
// commit and reads nothing first: under contention a loser fails fast on the idempotency record
// and then reads the winner's result, instead of queueing on locks. For a sales contract
// (sp.contract) the same commit writes, instead of the caller's membership and welcome email, the
// named admin's owner invitation (with its token index and email), the contract record on the
// tenant and the audit entry of the staff action.
func (s *Service) provision(ctx context.Context, p auth.Principal, sp spec) (ProvisionResult, error) {
	if err := auth.RequireFresh(ctx); err != nil {
		return ProvisionResult{}, err
	}
	recordID := IdempotencyRecordID(p.UID, sp.key)
	paramsHash, err := hashParams(sp.params())
	if err != nil {
		return ProvisionResult{}, err
	}
	if s.limiter != nil && !s.limiter.AllowOnce(p.UID, recordID) {
		// The limiter is per replica and forgets; the idempotency record is the truth. A replay
		// of an earlier call is answered even when new calls are refused, so a client retrying
		// on another replica, or the next day, is never locked out of its own answer.
		return s.replayOr(ctx, recordID, paramsHash, errs.ErrRateLimited)
	}
	now := s.clock.Now()
	t, staff, contract := newTenant(p, sp, s.newID(), now)
	tenantID, trialEnds, billingEmail := t.ID, t.TrialEndsAt, p.Email
	if contract != nil {
		billingEmail = contract.AdminContact.Email
	}
	bundle := Provisioning{
		Idempotency: IdempotencyRecord{
			ID: recordID, UID: p.UID, Operation: sp.operation, ParamsHash: paramsHash,
			TenantID: tenantID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.IdempotencyRetention),
		},
		Tenant:  t,
		Staff:   staff,
		Billing: BillingRecord{TenantID: tenantID, PlanID: sp.plan.ID, Status: BillingPending, CreatedAt: now},
		Outbox: []OutboxEntry{NewOutboxEntry(tenantID, kinds.BillingSetup{
			PlanID: sp.plan.ID, StripePriceID: sp.plan.StripePriceID, Email: billingEmail, TrialEndsAt: trialEnds,
		}, tenantID, now)},
	}
	if contract == nil {
		bundle.Owner = Member{TenantID: tenantID, UID: p.UID, Email: p.Email, Role: rules.RoleOwner, JoinedAt: now}
		welcome := kinds.WelcomeEmail{To: []string{p.Email}, UID: p.UID, OrganizationName: sp.name}
		bundle.Outbox = append([]OutboxEntry{NewOutboxEntry(tenantID, welcome, tenantID, now)}, bundle.Outbox...)
	} else {
		// The invitation email is the named admin's welcome; the rep gets none.
		inv, mail, err := newOwnerInvitation(tenantID, sp.name, contract.AdminContact.Email, p.UID, p.Email, now)
		if err != nil {
			return ProvisionResult{}, err
		}
		t = t.withPendingInvitation(inv.ExpiresAt) // it holds the one seat until accepted
		bundle.Tenant, bundle.Invitation = t, &inv
		bundle.Outbox = append(bundle.Outbox, mail)
		bundle.Audit = &AuditEntry{
			Action: AuditProvisionContract, Actor: actorOf(p), Reason: contractReason(contract.Reference),
			RequestID: reqctx.RequestID(ctx), At: now, After: auditTenantFields(t, contract.Reference),
			Details: map[string]any{"invitationId": inv.ID, "adminContact": contract.AdminContact.Email},
		}
	}
	if sp.subdomain != "" {
		bundle.Subdomain = &SubdomainClaim{Subdomain: sp.subdomain, TenantID: tenantID, ClaimedAt: now}
	}
	bundle.Outbox = append(bundle.Outbox, s.provisionedEvents(bundle)...)

	err = s.store.CreateProvisioning(ctx, bundle)
	if err == nil {
		return ProvisionResult{Tenant: t}, nil
	}
	if !errors.Is(err, ErrConflict) {
		return ProvisionResult{}, fmt.Errorf("provision tenant: %w", err)
	}
	return s.resolveConflict(ctx, recordID, paramsHash, sp.subdomain, err)
}

// provisionedEvents are the events of provisioning b: the tenant, and its owner when the caller
// is the owner (a contract's admin joins later, by invitation).
func (s *Service) provisionedEvents(b Provisioning) []OutboxEntry {
	t, ev := b.Tenant, s.cfg.Events
	out := ev.Emit(t.ID, TenantProvisioned{
		TenantID: t.ID, Status: string(t.Status), Name: t.Name, Subdomain: t.Subdomain, PlanID: t.PlanID,
		Source: string(t.Source), OwnerUID: b.Owner.UID, TrialEndsAt: eventTime(t.TrialEndsAt), CreatedAt: eventTime(t.CreatedAt),
	}, t.CreatedAt)
	if b.Owner.UID != "" {
		out = append(out, ev.Emit(t.ID, MemberJoinedOf(t, b.Owner, JoinedByProvisioning), t.CreatedAt)...)
	}
	return out
}

// newTenant is the tenant a provisioning creates, with its staff record and, for a sales
// contract, the contract as entered (nil otherwise).
func newTenant(p auth.Principal, sp spec, id string, now time.Time) (Tenant, StaffRecord, *ContractRecord) {
	trialEnds := sp.trialEndsAt
	if trialEnds.IsZero() {
		trialEnds = now.AddDate(0, 0, sp.plan.TrialDays)
	}
	t := Tenant{
		ID: id, Name: sp.name, Subdomain: sp.subdomain, Status: rules.StatusTrial,
		PlanID: sp.plan.ID, SeatCap: sp.seatCap, SeatsUsed: 1, // the owner
		TrialEndsAt: trialEnds, Source: sp.source, CreatedAt: now, StatusChangedAt: now,
	}
	staff := StaffRecord{CreatedBy: p.UID, SearchTokens: SearchTokens(sp.name, sp.subdomain)}
	if sp.contract == nil {
		return t, staff, nil
	}
	// The caller is a sales rep: the tenant starts with no member (provision adds the named
	// admin's owner invitation).
	c := sp.contract.signed(p, now)
	t.Contract = &c.Contract
	t.SeatsUsed = 0
	staff.SearchTokens = SearchTokens(sp.name, sp.subdomain, c.Reference)
	staff.ContractReference, staff.ContractBy = c.Reference, c.ProvisionedBy
	return t, staff, &c
}

// replayOr answers a replay from the idempotency record, or returns otherwise.
func (s *Service) replayOr(ctx context.Context, recordID, paramsHash string, otherwise error) (ProvisionResult, error) {
	rec, err := s.store.IdempotencyRecord(ctx, recordID)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return ProvisionResult{}, otherwise
	case err != nil:
		return ProvisionResult{}, fmt.Errorf("replay provisioning: read idempotency record: %w", err)
	case rec.ParamsHash != paramsHash:
		return ProvisionResult{}, errs.ErrIdempotencyKeyReused
	}
	t, err := s.store.Tenant(ctx, rec.TenantID)
	if err != nil {
		return ProvisionResult{}, fmt.Errorf("replay provisioning: read tenant %s: %w", rec.TenantID, err)
	}
	return ProvisionResult{Tenant: t, Replayed: true}, nil
}

// resolveConflict explains a failed create-only commit. The commit is atomic, so whatever made
// it fail was fully written by someone else before we read it.
func (s *Service) resolveConflict(ctx context.Context, recordID, paramsHash, subdomain string, commitErr error) (ProvisionResult, error) {
	res, err := s.replayOr(ctx, recordID, paramsHash, errNoRecord)
	if !errors.Is(err, errNoRecord) {
		return res, err
	}
	if subdomain != "" {
		if _, err := s.store.SubdomainClaim(ctx, subdomain); err == nil {
			return ProvisionResult{}, errs.ErrSubdomainTaken
		} else if !errors.Is(err, errs.ErrNotFound) {
			return ProvisionResult{}, fmt.Errorf("provision tenant: read subdomain claim: %w", err)
		}
	}
	// Neither the key nor the subdomain explains it: an id collision or a document left by hand.
	return ProvisionResult{}, fmt.Errorf("provision tenant: unexplained conflict: %w", commitErr)
}

// errNoRecord says that no idempotency record explains a conflict.
var errNoRecord = errors.New("no idempotency record")

// IdempotencyRecordID scopes a client's key to the caller, so two users' identical keys never
// meet, and bounds the document id's length and alphabet.
func IdempotencyRecordID(uid, key string) string {
	sum := sha256.Sum256([]byte(uid + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

func hashParams(params map[string]any) (string, error) {
	// encoding/json sorts map keys, so equal parameters always hash alike.
	b, err := json.Marshal(params)
	if err != nil {
		return "", fmt.Errorf("hash provisioning parameters: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
