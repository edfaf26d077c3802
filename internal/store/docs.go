// Package store is Tenantry's Firestore persistence. It owns the document layout (see the
// contract's Firestore table), converts between documents and domain types (toDB…/to…), and
// translates Firestore errors into the domain's: NotFound into errs.ErrNotFound, AlreadyExists
// into tenancy.ErrConflict.
package store

import (
	"context"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Collection names. tenants/{id}/<anything else> is the application's own data.
const (
	colTenants     = "tenants"
	colMembers     = "members"
	colUsers       = "users"
	colBilling     = "billing"
	colSubdomains  = "subdomains"
	colIdempotency = "idempotencyRecords"
	colOutbox      = "outbox"
	colHistory     = "history" // tenants/{id}/history: one entry per status change, trial extension or plan change
	colAudit       = "audit"   // tenants/{id}/audit: tenancy.AuditEntry, one per status, member, plan or staff change
	colPrivate     = "private" // tenants/{id}/private/staff: the tenant's staff-only record
	staffDocID     = "staff"
)

// tenantSubcollections are server-owned collections under tenants/{id}; firestore.rules must
// keep them out of the application data it opens to clients (TestTenantSubcollectionsAreServerOwned).
var tenantSubcollections = []string{colMembers, colHistory, colAudit, colPrivate, colExports}

type tenantDoc struct {
	Name               string    `firestore:"name"`
	Subdomain          *string   `firestore:"subdomain"`
	Status             string    `firestore:"status"`
	PlanID             string    `firestore:"planId"`
	SeatCap            int       `firestore:"seatCap"`
	SeatsUsed          int       `firestore:"seatsUsed"`
	PendingInvitations int       `firestore:"pendingInvitations"`
	TrialEndsAt        time.Time `firestore:"trialEndsAt"`
	// GraceEndsAt is rules.FieldGraceEndsAt, which firestore.rules compares with request.time;
	// absent when the tenant has no past-due grace.
	GraceEndsAt     *time.Time `firestore:"graceEndsAt,omitempty"`
	Source          string     `firestore:"source"`
	CreatedAt       time.Time  `firestore:"createdAt"`
	StatusChangedAt time.Time  `firestore:"statusChangedAt"`
	// StatusCause and BillingStatus are tenancy.Tenant's; absent on a tenant never moved.
	StatusCause   string `firestore:"statusCause,omitempty"`
	BillingStatus string `firestore:"billingStatus,omitempty"`
	// Contract holds a signed contract's terms (provisionContractTenant, contract.go); the
	// lifecycle only needs to know whether it is there.
	Contract *contractDoc `firestore:"contract,omitempty"`
	// PendingExpiryFloor is tenancy.Tenant's, kept by whatever adds or closes pending
	// invitations (the members domain, a contract's owner invitation); absent: unknown.
	PendingExpiryFloor *time.Time `firestore:"pendingExpiryFloor,omitempty"`
	// PurgeStartedAt is tenancy.Tenant's, written by StartPurge (purge.go).
	PurgeStartedAt *time.Time `firestore:"purgeStartedAt,omitempty"`
	// OwnerlessSince is set when the owner's account was deleted (package members, ForgetUser).
	OwnerlessSince *time.Time `firestore:"ownerlessSince,omitempty"`
}

func toDBTenant(t tenancy.Tenant) tenantDoc {
	d := tenantDoc{
		Name: t.Name, Status: string(t.Status), PlanID: t.PlanID, SeatCap: t.SeatCap,
		SeatsUsed: t.SeatsUsed, PendingInvitations: t.PendingInvitations, TrialEndsAt: t.TrialEndsAt,
		Source: string(t.Source), CreatedAt: t.CreatedAt, StatusChangedAt: t.StatusChangedAt,
	}
	if t.Subdomain != "" {
		d.Subdomain = &t.Subdomain
	}
	if t.Contract != nil {
		c := toDBContract(*t.Contract)
		d.Contract = &c
	}
	if !t.PendingExpiryFloor.IsZero() {
		d.PendingExpiryFloor = &t.PendingExpiryFloor
	}
	if !t.OwnerlessSince.IsZero() {
		d.OwnerlessSince = &t.OwnerlessSince
	}
	if !t.GraceEndsAt.IsZero() {
		d.GraceEndsAt = &t.GraceEndsAt
	}
	return d
}

// pendingExpiryFloorUpdate writes a tenant's PendingExpiryFloor; unknown (zero) removes it.
func pendingExpiryFloorUpdate(floor time.Time) firestore.Update {
	if floor.IsZero() {
		return firestore.Update{Path: "pendingExpiryFloor", Value: firestore.Delete}
	}
	return firestore.Update{Path: "pendingExpiryFloor", Value: floor}
}

func toTenant(id string, d tenantDoc) tenancy.Tenant {
	t := tenancy.Tenant{
		ID: id, Name: d.Name, Status: rules.Status(d.Status), PlanID: d.PlanID, SeatCap: d.SeatCap,
		SeatsUsed: d.SeatsUsed, PendingInvitations: d.PendingInvitations, TrialEndsAt: d.TrialEndsAt,
		Source: tenancy.Source(d.Source), CreatedAt: d.CreatedAt, StatusChangedAt: d.StatusChangedAt,
		StatusCause: tenancy.Cause(d.StatusCause), BillingStatus: rules.Status(d.BillingStatus),
	}
	if d.Subdomain != nil {
		t.Subdomain = *d.Subdomain
	}
	if d.PendingExpiryFloor != nil {
		t.PendingExpiryFloor = *d.PendingExpiryFloor
	}
	t.PurgeStartedAt = timeOf(d.PurgeStartedAt)
	if d.OwnerlessSince != nil {
		t.OwnerlessSince = *d.OwnerlessSince
	}
	if d.GraceEndsAt != nil {
		t.GraceEndsAt = *d.GraceEndsAt
	}
	if d.Contract != nil {
		c := toContract(*d.Contract)
		t.Contract = &c
	}
	return t
}

// staffDoc is tenants/{id}/private/staff, the tenant's tenancy.StaffRecord. Every member can read
// the tenant document, so what only staff may see lives here: "private" is a server-owned name
// (rules.ServerOwnedCollections), so no client rule reaches it. The staff search queries these
// documents (a collection group), so they also carry copies of the tenant's fields it filters and
// orders by: createdAt and source, which never change, and status, which every status change
// writes here too (writeStatusChange).
type staffDoc struct {
	CreatedBy    string            `firestore:"createdBy,omitempty"`
	SearchTokens []string          `firestore:"searchTokens,omitempty"`
	Contract     *contractEntryDoc `firestore:"contract,omitempty"`
	Status       string            `firestore:"status,omitempty"`
	Source       string            `firestore:"source,omitempty"`
	CreatedAt    *time.Time        `firestore:"createdAt,omitempty"`
}

// contractEntryDoc is how staff entered a contract: staffDoc.contract.
type contractEntryDoc struct {
	Reference     string           `firestore:"reference"`
	ProvisionedBy contractActorDoc `firestore:"provisionedBy"`
}

// Fields older versions kept on the tenant document. They belong to the staff record now;
// conversion drops searchTokens, and reindex-search moves all of them (ReindexSearchTokens).
const (
	legacyCreatedBy     = "createdBy"
	legacySearchTokens  = "searchTokens"
	legacyContractRef   = "contract.reference"
	legacyContractActor = "contract.provisionedBy"
)

func staffRef(tenant *firestore.DocumentRef) *firestore.DocumentRef {
	return tenant.Collection(colPrivate).Doc(staffDocID)
}

func toDBStaff(t tenancy.Tenant, r tenancy.StaffRecord) staffDoc {
	d := staffDoc{
		CreatedBy: r.CreatedBy, SearchTokens: r.SearchTokens,
		Status: string(t.Status), Source: string(t.Source), CreatedAt: &t.CreatedAt,
	}
	if r.ContractReference != "" {
		d.Contract = &contractEntryDoc{Reference: r.ContractReference, ProvisionedBy: toDBContractActor(r.ContractBy)}
	}
	return d
}

// staffCopies are the tenant's fields the staff record copies, for a merge into it; status is
// writeStatusChange's.
func staffCopies(t tenancy.Tenant) map[string]any {
	m := map[string]any{"status": string(t.Status), "source": string(t.Source)}
	if !t.CreatedAt.IsZero() {
		m["createdAt"] = t.CreatedAt
	}
	return m
}

func toStaffRecord(d staffDoc) tenancy.StaffRecord {
	r := tenancy.StaffRecord{CreatedBy: d.CreatedBy, SearchTokens: d.SearchTokens}
	if d.Contract != nil {
		r.ContractReference, r.ContractBy = d.Contract.Reference, toContractActor(d.Contract.ProvisionedBy)
	}
	return r
}

// memberDoc is tenants/{t}/members/{uid}. The rules read role and appRoles (absent: none).
type memberDoc struct {
	Role     string    `firestore:"role"`
	Email    string    `firestore:"email"`
	JoinedAt time.Time `firestore:"joinedAt"`
	AppRoles []string  `firestore:"appRoles,omitempty"`
}

func toDBMember(m tenancy.Member) memberDoc {
	return memberDoc{Role: string(m.Role), Email: m.Email, JoinedAt: m.JoinedAt, AppRoles: m.AppRoles}
}

func toMember(tenantID, uid string, d memberDoc) tenancy.Member {
	return tenancy.Member{
		TenantID: tenantID, UID: uid, Email: d.Email, Role: rules.Role(d.Role), JoinedAt: d.JoinedAt, AppRoles: d.AppRoles,
	}
}

type billingDoc struct {
	TenantID  string    `firestore:"tenantId"`
	PlanID    string    `firestore:"planId"`
	Status    string    `firestore:"status"`
	CreatedAt time.Time `firestore:"createdAt"`
}

func toDBBilling(b tenancy.BillingRecord) billingDoc {
	return billingDoc{TenantID: b.TenantID, PlanID: b.PlanID, Status: b.Status, CreatedAt: b.CreatedAt}
}

type subdomainDoc struct {
	TenantID  string    `firestore:"tenantId"`
	ClaimedAt time.Time `firestore:"claimedAt"`
}

type idempotencyDoc struct {
	UID        string    `firestore:"uid"`
	Operation  string    `firestore:"operation"`
	ParamsHash string    `firestore:"paramsHash"`
	TenantID   string    `firestore:"tenantId"`
	CreatedAt  time.Time `firestore:"createdAt"`
	ExpiresAt  time.Time `firestore:"expiresAt"`
}

func toDBIdempotency(r tenancy.IdempotencyRecord) idempotencyDoc {
	return idempotencyDoc{UID: r.UID, Operation: r.Operation, ParamsHash: r.ParamsHash, TenantID: r.TenantID, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

func toIdempotency(id string, d idempotencyDoc) tenancy.IdempotencyRecord {
	return tenancy.IdempotencyRecord{ID: id, UID: d.UID, Operation: d.Operation, ParamsHash: d.ParamsHash, TenantID: d.TenantID, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt}
}

// Outbox states (see package outbox).
const (
	OutboxPending = "pending"
)

// outboxDoc is outbox/{id}. Provisioning (and later state changes) create it pending; the
// dispatcher (package outbox, OutboxStore below) adds the lease and the outcome fields, which are
// omitted while unset so that a fresh entry carries no zero timestamps.
type outboxDoc struct {
	Kind          string         `firestore:"kind"`
	TenantID      string         `firestore:"tenantId"`
	Payload       map[string]any `firestore:"payload"`
	State         string         `firestore:"state"`
	Attempts      int            `firestore:"attempts"`
	CreatedAt     time.Time      `firestore:"createdAt"`
	NextAttemptAt time.Time      `firestore:"nextAttemptAt"`

	LeaseOwner     string    `firestore:"leaseOwner,omitempty"`
	LeaseExpiresAt time.Time `firestore:"leaseExpiresAt,omitempty"`
	LastError      string    `firestore:"lastError,omitempty"`
	LastErrorAt    time.Time `firestore:"lastErrorAt,omitempty"`
	DoneAt         time.Time `firestore:"doneAt,omitempty"`
	DeadAt         time.Time `firestore:"deadAt,omitempty"`
	// ExpireAt is set on done entries; a Firestore TTL policy on this field deletes them.
	ExpireAt time.Time `firestore:"expireAt,omitempty"`
	// RequestID and TraceParent name the request that wrote the entry, for traces.
	RequestID   string `firestore:"requestId,omitempty"`
	TraceParent string `firestore:"traceparent,omitempty"`
}

// toDBOutbox is e as written in ctx: it keeps the request's id and span, so that the entry's
// handling is linked to the request in traces.
func toDBOutbox(ctx context.Context, e tenancy.OutboxEntry) outboxDoc {
	return outboxDoc{Kind: e.Kind, TenantID: e.TenantID, Payload: e.Payload, State: OutboxPending, CreatedAt: e.CreatedAt, NextAttemptAt: e.NextAttemptAt,
		RequestID: reqctx.RequestID(ctx), TraceParent: outbox.TraceParent(ctx)}
}
