// Package tenancy is the tenant domain: the one provisioning function every caller goes through,
// and the tenant-scoped reads. It knows nothing of GraphQL, HTTP or Firestore; the store it is
// given (see Store) does the persistence, and errors are the sentinels of package errs.
package tenancy

import (
	"errors"
	"time"

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
	Source             Source
	CreatedAt          time.Time
	CreatedBy          string // uid of the caller who provisioned it
	StatusChangedAt    time.Time
	// ContractSigned is true when tenants/{id}.contract exists: the sales flow (issue 6) writes it
	// when a contract is signed, and a signed contract turns an ending trial into active.
	ContractSigned bool
}

// Member is a user's membership in a tenant.
type Member struct {
	TenantID string
	UID      string
	Email    string
	Role     rules.Role
	JoinedAt time.Time
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

// Outbox entry kinds written by the domain.
const (
	OutboxWelcomeEmail = "email.welcome"
	OutboxBillingSetup = "billing.setup"
	// OutboxTrialExpiredEmail is the conversion email, emitted by every move to trial_expired;
	// payload {"tenantId", "trialEndedAt"}; the email handler looks up the owner itself.
	OutboxTrialExpiredEmail = "email.trial_expired"
)

// OutboxEntry is a side effect promised in the same commit as the change that caused it and
// performed afterwards by the dispatcher.
type OutboxEntry struct {
	ID            string // stable: the dispatcher uses it as the external idempotency key
	Kind          string
	TenantID      string
	Payload       map[string]any
	CreatedAt     time.Time
	NextAttemptAt time.Time
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
	Owner       Member
	Billing     BillingRecord
	Subdomain   *SubdomainClaim // nil when no subdomain was asked for
	Outbox      []OutboxEntry
}

// Membership is a member's view of one tenant.
type Membership struct {
	Tenant Tenant
	Role   rules.Role
}

// ErrConflict is what a Store returns when a create-only write met an existing document. It is
// not a contract error: the domain decides what the conflict means.
var ErrConflict = errors.New("tenancy: a document to create already exists")
