package tenancy

import (
	"context"
	"time"
)

// Store is the persistence the tenant domain needs. Implementations translate their own
// not-found into errs.ErrNotFound and create-only conflicts into ErrConflict.
type Store interface {
	// CreateProvisioning writes every document of p in one atomic commit with create-only
	// semantics, or nothing at all (ErrConflict when any of them already exists).
	CreateProvisioning(ctx context.Context, p Provisioning) error
	IdempotencyRecord(ctx context.Context, id string) (IdempotencyRecord, error)
	SubdomainClaim(ctx context.Context, subdomain string) (SubdomainClaim, error)
	Tenant(ctx context.Context, id string) (Tenant, error)
	// TenantAndMember reads both in one round trip; found is false when uid is not a member.
	TenantAndMember(ctx context.Context, tenantID, uid string) (t Tenant, m Member, found bool, err error)
	Members(ctx context.Context, tenantID string) ([]Member, error)
	// MembershipsOf lists the tenants uid belongs to, with the role in each.
	MembershipsOf(ctx context.Context, uid string) ([]Membership, error)
	// DeleteIdempotencyRecordsBefore removes up to limit records that expired before t and says
	// how many it removed.
	DeleteIdempotencyRecordsBefore(ctx context.Context, t time.Time, limit int) (int, error)

	// ChangeStatus runs one short transaction: it reads the tenant, asks decide what to write,
	// and writes that change (tenant fields, history entry, audit entry, outbox entries)
	// atomically with the read; it returns the tenant as changed. decide may run more than once
	// (the transaction retries on contention), so it only computes. An error from decide aborts
	// with nothing written and is returned as is; a missing tenant is errs.ErrNotFound.
	ChangeStatus(ctx context.Context, tenantID string, decide func(Tenant) (StatusChange, error)) (Tenant, error)
	// DueTrials lists up to limit tenants in trial whose trialEndsAt is at or before cutoff,
	// ordered by trialEndsAt then id, starting after the cursor.
	DueTrials(ctx context.Context, cutoff time.Time, after TrialCursor, limit int) ([]DueTrial, error)
	// StatusHistory lists up to limit history entries of a tenant, newest first.
	StatusHistory(ctx context.Context, tenantID string, limit int) ([]HistoryEntry, error)

	StaffStore // the contract conversion and the staff queries (staff.go)
	PurgeStore // the purge of cancelled tenants past their retention (purge.go)
}
