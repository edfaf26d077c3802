package doctor

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Tenant is what the doctor reads of a tenant document.
type Tenant struct {
	ID                 string
	Path               string
	Status             rules.Status
	Subdomain          string // "" when none
	SeatsUsed          int
	PendingInvitations int
	// Purging: the purge of this cancelled tenant has begun and is deleting its documents in
	// batches, so its members, counters and history are expected to disagree until it ends.
	Purging bool
}

// Member is one membership document, as far as the doctor looks.
type Member struct {
	UID  string
	Path string
	Role rules.Role
}

// HistoryEntry is one status change of a tenant's history.
type HistoryEntry struct {
	Path     string
	From, To rules.Status
}

// Link is one tenant id in users/{uid}.tenantIds.
type Link struct {
	Path     string // users/{uid}
	UID      string
	TenantID string
}

// Ref is a top-level document that names a tenant: an idempotency record or a billing record
// (At is its createdAt), a subdomain or domain claim (Name is the claimed name).
type Ref struct {
	Path     string
	Name     string
	TenantID string
	At       time.Time
}

// OutboxEntry is an outbox entry as the doctor looks at it: its kind and state, never its payload.
type OutboxEntry struct {
	Path          string
	Kind          string
	TenantID      string
	State         string // "pending", "done" or "dead"
	Attempts      int
	NextAttemptAt time.Time
}

// Store is the persistence the doctor needs. Scans come in pages of at most page documents, handed
// to f one page at a time; a tenantID of "" scans every document of the kind, otherwise only the
// ones that name that tenant.
type Store interface {
	// TenantPages pages through every tenant, in id order.
	TenantPages(ctx context.Context, page int, f func([]Tenant) error) error
	// Tenants reads the tenants of ids; the missing ones are left out of the map.
	Tenants(ctx context.Context, ids []string) (map[string]Tenant, error)
	// MemberPages pages through a tenant's memberships.
	MemberPages(ctx context.Context, tenantID string, page int, f func([]Member) error) error
	// LinkedUIDs reports which of uids have tenantID in their users/{uid}.tenantIds.
	LinkedUIDs(ctx context.Context, tenantID string, uids []string) (map[string]bool, error)
	// PendingInvitations counts the tenant's invitations whose stored status is pending, and
	// among them those for the owner role.
	PendingInvitations(ctx context.Context, tenantID string) (pending, owner int, err error)
	// HistoryPages pages through a tenant's history, oldest first.
	HistoryPages(ctx context.Context, tenantID string, page int, f func([]HistoryEntry) error) error
	// SubdomainClaims reads subdomains/{name} for names; the missing ones are left out.
	SubdomainClaims(ctx context.Context, names []string) (map[string]Ref, error)

	// UserLinkPages pages through users/{uid}.tenantIds: every link, or the links to tenantID.
	UserLinkPages(ctx context.Context, tenantID string, page int, f func([]Link) error) error
	// Memberships reports whether the membership of each link exists.
	Memberships(ctx context.Context, links []Link) ([]bool, error)
	// IdempotencyPages, SubdomainClaimPages, DomainClaimPages page through those collections.
	IdempotencyPages(ctx context.Context, tenantID string, page int, f func([]Ref) error) error
	SubdomainClaimPages(ctx context.Context, tenantID string, page int, f func([]Ref) error) error
	DomainClaimPages(ctx context.Context, tenantID string, page int, f func([]Ref) error) error
	// PendingBillingPages pages through the billing records whose status is still pending.
	PendingBillingPages(ctx context.Context, tenantID string, page int, f func([]Ref) error) error
	// OutboxPages pages through the outbox entries that may need attention: every pending and
	// dead one, or every entry of tenantID.
	OutboxPages(ctx context.Context, tenantID string, page int, f func([]OutboxEntry) error) error

	// RepairCounters reads, in one transaction queued with the tenant's others, the tenant and
	// the counts its counters keep (CounterState), and writes what decide returns. decide
	// returning an error for which NothingToRepair is true commits nothing and is no error.
	RepairCounters(ctx context.Context, tenantID string, decide func(CounterState) (CounterFix, error)) error
	// RepairLink reads, in one transaction, the tenant, the membership and the user document of
	// link, and writes what decide returns (NothingToRepair as for RepairCounters).
	RepairLink(ctx context.Context, link Link, decide func(LinkState) (LinkFix, error)) error
}

// CounterState is what a counter repair reads: the tenant's stored counters and the documents
// they count.
type CounterState struct {
	Found              bool // the tenant exists
	SeatsUsed          int
	PendingInvitations int
	Members            int       // membership documents
	Pending            int       // invitations whose stored status is pending
	EarliestExpiry     time.Time // of the pending invitations; zero when none
}

// CounterFix is what a counter repair writes: the tenant's counters (and the floor of its pending
// invitations' expiry, which says when the pending counter may be stale) with the audit entry.
type CounterFix struct {
	SeatsUsed          int
	PendingInvitations int
	PendingExpiryFloor time.Time // zero: none pending
	Audit              tenancy.AuditEntry
}

// LinkState is what a link repair reads.
type LinkState struct {
	TenantFound bool
	MemberFound bool
	MemberEmail string
	UserFound   bool
	Linked      bool // users/{uid}.tenantIds holds the tenant
}

// LinkFix is what a link repair writes: add the tenant to users/{uid}.tenantIds (creating the user
// document with Email when it is missing) or remove it, with an audit entry in the tenant's log
// when the tenant exists.
type LinkFix struct {
	Link   bool
	Unlink bool
	Email  string
	At     time.Time
	Audit  *tenancy.AuditEntry
}
