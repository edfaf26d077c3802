// Package tenancy is the tenant domain: the one provisioning function every caller goes through,
// and the tenant-scoped reads. It knows nothing of GraphQL, HTTP or Firestore; the store it is
// given (see Store) does the persistence, and errors are the sentinels of package errs.
package tenancy

import (
	"errors"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/rules"
)

// Source says who provisioned a tenant.
type Source string

// Provisioning sources.
const (
	SourceSelfServe     Source = "self_serve"
	SourceSalesAssisted Source = "sales_assisted"
)

// Tenant is an organization.
type Tenant struct {
	ID                 string
	Name               string
	Subdomain          string // "" when none was claimed
	Status             rules.Status
	PlanID             string
	SeatCap            int
	SeatsUsed          int // active members
	PendingInvitations int // pending, unexpired invitations
	TrialEndsAt        time.Time
	// GraceEndsAt is when a past_due tenant's grace ends (writes stay open until then); zero
	// when it has none. The lifecycle sets it on the move into past_due, from GraceDays, and
	// clears it on the move out (a suspension keeps it, so lifting one does not restart it).
	GraceEndsAt     time.Time
	Source          Source
	CreatedAt       time.Time
	StatusChangedAt time.Time
	// Contract is the signed contract's terms; nil for a tenant without one. The sales flow writes
	// it when a contract is signed (provisionContractTenant), and a signed contract turns an
	// ending trial into active.
	Contract *Contract
	// StatusCause says who put the tenant in its status, so that one cause cannot undo another:
	// billing events never lift a staff suspension (see HeldByStaff).
	StatusCause Cause
	// BillingStatus is the status billing (the Stripe events) last asked for, also while a staff
	// suspension holds the tenant elsewhere; "" until billing has spoken. Lifting the suspension
	// restores it (see RestoredStatus).
	BillingStatus rules.Status
	// PendingExpiryFloor is at or before the expiry of every pending invitation (zero: unknown).
	// Until it passes, no pending invitation can have expired and PendingInvitations is exact.
	PendingExpiryFloor time.Time
	// PurgeStartedAt is set when the purge of a cancelled tenant past its retention began; from
	// then on nothing brings it back (see retention.go). Zero otherwise.
	PurgeStartedAt time.Time
	// OwnerlessSince is when the owner's account was deleted, leaving the tenant without an
	// owner until staff appoint one; zero while it has an owner.
	OwnerlessSince time.Time
}

// PendingMayHaveExpired reports whether, at now, one of t's pending invitations may be past its
// expiry: t has some, and its PendingExpiryFloor is unknown or has passed. While it reports false,
// PendingInvitations is exact without looking at the invitations.
func (t Tenant) PendingMayHaveExpired(now time.Time) bool {
	return t.PendingInvitations > 0 && (t.PendingExpiryFloor.IsZero() || !now.Before(t.PendingExpiryFloor))
}

// withPendingInvitation is t with one more pending invitation, expiring at expiresAt.
func (t Tenant) withPendingInvitation(expiresAt time.Time) Tenant {
	t.PendingExpiryFloor = ExpiryFloorWith(t.PendingExpiryFloor, t.PendingInvitations, expiresAt)
	t.PendingInvitations++
	return t
}

// Cause is who put a tenant in its status.
type Cause string

// Causes. A tenant provisioned and never moved has "" (signup).
const (
	CauseSignup     Cause = ""
	CauseBilling    Cause = "billing"     // a Stripe event
	CauseStaff      Cause = "staff"       // setTenantStatus, extendTrial, a contract conversion
	CauseTrialClock Cause = "trial_clock" // expire-trials recording the trial's end
)

// HeldByStaff reports whether t is in a staff suspension, which only staff lift: billing events
// are recorded (BillingStatus) but move nothing.
func (t Tenant) HeldByStaff() bool {
	return t.Status == rules.StatusSuspended && t.StatusCause == CauseStaff
}

// RestoredStatus is where lifting a staff suspension takes t at now: the status billing last
// asked for, or, where billing has said nothing that settles it (no word yet, or a trialing
// subscription), the trial clock's: trial while it runs; once it has ended, active with a
// signed contract and trial_expired without.
func (t Tenant) RestoredStatus(now time.Time) rules.Status {
	switch t.BillingStatus {
	case rules.StatusActive, rules.StatusPastDue, rules.StatusSuspended, rules.StatusCancelled:
		return t.BillingStatus
	}
	switch {
	case t.TrialEndsAt.After(now):
		return rules.StatusTrial
	case t.Contract != nil:
		return rules.StatusActive
	}
	return rules.StatusTrialExpired
}

// Contract is the terms of a signed sales contract, kept at tenants/{id}.contract (on the tenant
// document, so the lifecycle and billing see them with the tenant: expire-trials activates a
// tenant that has one, and its plan and seat cap are the floor of the billed ones). Every member
// can read the tenant document, so it holds only what the customer agreed to; how staff entered
// the contract is in the tenant's StaffRecord.
type Contract struct {
	PlanID  string
	SeatCap int
	// GraceDays, when set, is the contract's past-due grace in days, instead of the plan's.
	GraceDays    *int
	GoLiveDate   time.Time // also the tenant's trialEndsAt until go-live
	SignedAt     time.Time // when the signed contract was entered into Tenantry
	AdminContact Contact
}

// ContractRecord is a signed contract as staff see it: its terms, and how they entered it.
type ContractRecord struct {
	Contract
	Reference     string        // the CRM's reference
	ProvisionedBy ContractActor // the sales rep (or super admin) who entered it
}

// signed is c as entered by staff member p at at.
func (c ContractRecord) signed(p auth.Principal, at time.Time) ContractRecord {
	c.SignedAt = at
	c.ProvisionedBy = ContractActor{UID: p.UID, Email: p.Email, PlatformRole: string(p.PlatformRole)}
	return c
}

// StaffRecord is what only platform staff see of a tenant. Every member, viewers included, can
// read the tenant document in Firestore, so the store keeps this apart, where no client rule
// reaches (tenants/{id}/private/staff), and the API serves it to staff only.
type StaffRecord struct {
	CreatedBy    string   // uid of the caller who provisioned the tenant (a sales rep, for a contract)
	SearchTokens []string // what staff search matches (see SearchTokens)
	// ContractReference and ContractBy are set with a signed contract (see ContractRecord).
	ContractReference string
	ContractBy        ContractActor
}

// Contact is a contract's named admin: they receive the owner invitation.
type Contact struct {
	Email string
	Name  string // "" when not given
}

// ContractActor is the staff member who entered a contract.
type ContractActor struct {
	UID          string
	Email        string
	PlatformRole string
}

// Member is a user's membership in a tenant.
type Member struct {
	TenantID string
	UID      string
	Email    string
	Role     rules.Role
	JoinedAt time.Time
	// AppRoles are the application's roles (tenantry.app.yaml) the member holds besides Role,
	// sorted and without duplicates; they only open application data, through the rules.
	AppRoles []string
}

// BillingRecord is the tenant's billing state; a later step fills in the Stripe ids.
type BillingRecord struct {
	TenantID  string
	PlanID    string
	Status    string // "pending" until the billing-setup outbox entry has run
	CreatedAt time.Time
}

// BillingPending is the status of a billing record whose Stripe setup has not run yet.
const BillingPending = "pending"

// OutboxEntry is a side effect promised in the same commit as the change that caused it and
// performed afterwards by the dispatcher. Build it with NewOutboxEntry.
type OutboxEntry struct {
	ID            string // stable: the dispatcher uses it as the external idempotency key
	Kind          string
	TenantID      string
	Payload       map[string]any
	CreatedAt     time.Time
	NextAttemptAt time.Time
}

// NewOutboxEntry is the entry that performs p for tenantID, due at now. key names the occurrence
// it is for, which makes its id (kinds.ID): an entry written again for the same occurrence (a
// retried transaction, a replayed event) is the same entry.
func NewOutboxEntry(tenantID string, p kinds.Payload, key string, now time.Time) OutboxEntry {
	return OutboxEntry{
		ID: kinds.ID(p, key), Kind: p.Kind(), TenantID: tenantID, Payload: kinds.Encode(p, tenantID),
		CreatedAt: now, NextAttemptAt: now,
	}
}

// IdempotencyRecord remembers what a creating call produced, scoped to the caller and the key.
type IdempotencyRecord struct {
	ID         string // hash of caller and key
	UID        string
	Operation  string
	ParamsHash string
	TenantID   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// SubdomainClaim reserves a subdomain for one tenant.
type SubdomainClaim struct {
	Subdomain string
	TenantID  string
	ClaimedAt time.Time
}

// Provisioning is everything one provisioning call commits atomically.
type Provisioning struct {
	Idempotency IdempotencyRecord
	Tenant      Tenant
	// Owner is the caller's owner membership (with the users/{uid} link). For a contract tenant
	// it is the zero Member (UID ""): the caller is a sales rep, and the owner is whoever
	// accepts Invitation.
	Owner     Member
	Billing   BillingRecord
	Subdomain *SubdomainClaim // nil when no subdomain was asked for
	Outbox    []OutboxEntry
	// Invitation is a contract tenant's owner invitation to the named admin (its email is in
	// Outbox); nil for self-serve.
	Invitation *OwnerInvitation
	// Audit records a staff caller's action (contract provisioning); nil for self-serve.
	Audit *AuditEntry
	// Staff is the tenant's staff-only record, written with it.
	Staff StaffRecord
}

// Membership is a member's view of one tenant.
type Membership struct {
	Tenant Tenant
	Role   rules.Role
}

// ErrConflict is what a Store returns when a create-only write met an existing document. It is
// not a contract error: the domain decides what the conflict means.
var ErrConflict = errors.New("tenancy: a document to create already exists")

// State is what access to t depends on, for rules.Check through rules.TenantState.Effective.
func (t Tenant) State() rules.TenantState {
	return rules.TenantState{
		Status: t.Status,
		Times:  map[string]time.Time{rules.FieldTrialEndsAt: t.TrialEndsAt, rules.FieldGraceEndsAt: t.GraceEndsAt},
		Has:    map[string]bool{rules.FieldContract: t.Contract != nil},
	}
}

// AccessStatus is the status whose access applies to t at now: a trial whose end has passed is
// read-only at once, as in firestore.rules, before expire-trials records the change.
func (t Tenant) AccessStatus(now time.Time) rules.Status { return t.State().Effective(now) }
