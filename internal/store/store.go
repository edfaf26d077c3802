package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// Store implements tenancy.Store on Firestore.
type Store struct {
	fs *firestore.Client
	// locks queues this process's transactions per tenant, for the Store and every part of it
	// (MembersStore, Billing): a process has one Store.
	locks *tenantLocks
}

// New wraps a Firestore client. Each Store has its own queue of transactions per tenant, as a
// replica does: make one per process.
func New(fs *firestore.Client) *Store { return &Store{fs: fs, locks: &tenantLocks{}} }

// Ping checks that Firestore answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.fs.Collection(colTenants).Doc("_readyz").Get(ctx)
	if err != nil && status.Code(err) != codes.NotFound {
		return err
	}
	return nil
}

var _ tenancy.Store = (*Store)(nil)

// CreateProvisioning commits every document of p (the tenant's staff record among them) in one
// batch of create-only writes (the user link is an array union): all land or none do. A batch
// needs no read and one round trip, the fastest correct form measured on Firestore (see
// DESIGN.md); a transaction would add a BeginTransaction call and lock waits under contention.
func (s *Store) CreateProvisioning(ctx context.Context, p tenancy.Provisioning) error {
	tenantRef := s.fs.Collection(colTenants).Doc(p.Tenant.ID)
	//lint:ignore SA1019 WriteBatch is the one-round-trip atomic commit of blind creates we want; the transaction API adds a round trip and its reads are not needed.
	b := s.fs.Batch()
	b.Create(s.fs.Collection(colIdempotency).Doc(p.Idempotency.ID), toDBIdempotency(p.Idempotency))
	b.Create(tenantRef, toDBTenant(p.Tenant))
	b.Create(staffRef(tenantRef), toDBStaff(p.Tenant, p.Staff))
	if p.Owner.UID != "" { // a contract tenant has no member until its named admin accepts
		b.Create(tenantRef.Collection(colMembers).Doc(p.Owner.UID), toDBMember(p.Owner))
		b.Set(s.fs.Collection(colUsers).Doc(p.Owner.UID), map[string]any{
			"email":     p.Owner.Email,
			"tenantIds": firestore.ArrayUnion(p.Tenant.ID),
			"updatedAt": p.Tenant.CreatedAt,
		}, firestore.MergeAll)
	}
	if inv := p.Invitation; inv != nil {
		b.Create(tenantRef.Collection(colInvitations).Doc(inv.ID), toDBOwnerInvitation(*inv))
		b.Create(s.fs.Collection(colInvitationToken).Doc(inv.TokenHash), tokenIndexDoc{TenantID: inv.TenantID, InvitationID: inv.ID, CreatedAt: inv.CreatedAt})
	}
	if p.Audit != nil {
		b.Create(tenantRef.Collection(colAudit).NewDoc(), toDBAudit(*p.Audit))
	}
	b.Create(s.fs.Collection(colBilling).Doc(p.Tenant.ID), toDBBilling(p.Billing))
	if p.Subdomain != nil {
		b.Create(s.fs.Collection(colSubdomains).Doc(p.Subdomain.Subdomain), subdomainDoc{TenantID: p.Subdomain.TenantID, ClaimedAt: p.Subdomain.ClaimedAt})
	}
	for _, e := range p.Outbox {
		b.Create(s.fs.Collection(colOutbox).Doc(e.ID), toDBOutbox(ctx, e))
	}
	if _, err := b.Commit(ctx); err != nil {
		if status.Code(err) == codes.AlreadyExists {
			return fmt.Errorf("%w: %v", tenancy.ErrConflict, err)
		}
		return fmt.Errorf("commit provisioning of tenant %s: %w", p.Tenant.ID, err)
	}
	return nil
}

// get reads one document into dst, translating NotFound.
func get(ctx context.Context, ref *firestore.DocumentRef, dst any) error {
	snap, err := ref.Get(ctx)
	return decodeRead(ref, snap, err, dst)
}

// txGet reads one document into dst inside tx, translating NotFound.
func txGet(tx *firestore.Transaction, ref *firestore.DocumentRef, dst any) error {
	snap, err := tx.Get(ref)
	return decodeRead(ref, snap, err, dst)
}

// decodeRead decodes the answer to a read of ref into dst, translating NotFound.
func decodeRead(ref *firestore.DocumentRef, snap *firestore.DocumentSnapshot, err error, dst any) error {
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return errs.ErrNotFound
		}
		return fmt.Errorf("read %s: %w", ref.Path, err)
	}
	if err := snap.DataTo(dst); err != nil {
		return fmt.Errorf("decode %s: %w", ref.Path, err)
	}
	return nil
}

// decodeFound decodes snap into dst when its document exists, and reports whether it does.
func decodeFound(snap *firestore.DocumentSnapshot, dst any) (bool, error) {
	if !snap.Exists() {
		return false, nil
	}
	if err := snap.DataTo(dst); err != nil {
		return false, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	return true, nil
}

// decodeWith is the decoder of documents of type D that to converts, given each one's id.
func decodeWith[D, T any](to func(id string, d D) T) func(*firestore.DocumentSnapshot) (T, error) {
	return func(snap *firestore.DocumentSnapshot) (T, error) {
		var d D
		if err := snap.DataTo(&d); err != nil {
			var zero T
			return zero, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		return to(snap.Ref.ID, d), nil
	}
}

// queryAll runs q and decodes every document it returns; what names the query in errors.
func queryAll[T any](ctx context.Context, decode func(*firestore.DocumentSnapshot) (T, error), q firestore.Query, what string) ([]T, error) {
	return decodeAll(q.Documents(ctx), decode, what)
}

// decodeAll decodes every document of a query's answer (tx.Documents(q) in a transaction).
func decodeAll[T any](it *firestore.DocumentIterator, decode func(*firestore.DocumentSnapshot) (T, error), what string) ([]T, error) {
	snaps, err := it.GetAll()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	out := make([]T, 0, len(snaps))
	for _, snap := range snaps {
		v, err := decode(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// count runs a count aggregation of q (billed per 1,000 index entries, not per document); what
// names the query in errors.
func count(ctx context.Context, q firestore.Query, what string) (int, error) {
	res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", what, err)
	}
	var out struct {
		N int64 `firestore:"n"`
	}
	if err := res.DataTo(&out); err != nil {
		return 0, fmt.Errorf("decode the count of %s: %w", what, err)
	}
	return int(out.N), nil
}

// IdempotencyRecord implements tenancy.Store.
func (s *Store) IdempotencyRecord(ctx context.Context, id string) (tenancy.IdempotencyRecord, error) {
	var d idempotencyDoc
	if err := get(ctx, s.fs.Collection(colIdempotency).Doc(id), &d); err != nil {
		return tenancy.IdempotencyRecord{}, err
	}
	return toIdempotency(id, d), nil
}

// SubdomainClaim implements tenancy.Store.
func (s *Store) SubdomainClaim(ctx context.Context, subdomain string) (tenancy.SubdomainClaim, error) {
	var d subdomainDoc
	if err := get(ctx, s.fs.Collection(colSubdomains).Doc(subdomain), &d); err != nil {
		return tenancy.SubdomainClaim{}, err
	}
	return tenancy.SubdomainClaim{Subdomain: subdomain, TenantID: d.TenantID, ClaimedAt: d.ClaimedAt}, nil
}

// Tenant implements tenancy.Store.
func (s *Store) Tenant(ctx context.Context, id string) (tenancy.Tenant, error) {
	var d tenantDoc
	if err := get(ctx, s.fs.Collection(colTenants).Doc(id), &d); err != nil {
		return tenancy.Tenant{}, err
	}
	return toTenant(id, d), nil
}

// TenantAndMember implements tenancy.Store with one GetAll round trip.
func (s *Store) TenantAndMember(ctx context.Context, tenantID, uid string) (tenancy.Tenant, tenancy.Member, bool, error) {
	tref := s.fs.Collection(colTenants).Doc(tenantID)
	mref := tref.Collection(colMembers).Doc(uid)
	snaps, err := s.fs.GetAll(ctx, []*firestore.DocumentRef{tref, mref})
	if err != nil {
		return tenancy.Tenant{}, tenancy.Member{}, false, fmt.Errorf("read tenant %s with member: %w", tenantID, err)
	}
	if !snaps[0].Exists() {
		return tenancy.Tenant{}, tenancy.Member{}, false, errs.ErrNotFound
	}
	var td tenantDoc
	if err := snaps[0].DataTo(&td); err != nil {
		return tenancy.Tenant{}, tenancy.Member{}, false, fmt.Errorf("decode tenant %s: %w", tenantID, err)
	}
	t := toTenant(tenantID, td)
	if !snaps[1].Exists() {
		return t, tenancy.Member{}, false, nil
	}
	var md memberDoc
	if err := snaps[1].DataTo(&md); err != nil {
		return tenancy.Tenant{}, tenancy.Member{}, false, fmt.Errorf("decode member %s of %s: %w", uid, tenantID, err)
	}
	return t, toMember(tenantID, uid, md), true, nil
}

// Members implements tenancy.Store.
func (s *Store) Members(ctx context.Context, tenantID string) ([]tenancy.Member, error) {
	q := s.fs.Collection(colTenants).Doc(tenantID).Collection(colMembers).OrderBy("joinedAt", firestore.Asc)
	toMemberOf := func(uid string, d memberDoc) tenancy.Member { return toMember(tenantID, uid, d) }
	return queryAll(ctx, decodeWith(toMemberOf), q, "members of "+tenantID)
}

// MembershipsOf implements tenancy.Store: the user document names the tenants, and one GetAll
// reads each tenant with the user's membership in it, in the user document's order.
func (s *Store) MembershipsOf(ctx context.Context, uid string) ([]tenancy.Membership, error) {
	var user struct {
		TenantIDs []string `firestore:"tenantIds"`
	}
	if err := get(ctx, s.fs.Collection(colUsers).Doc(uid), &user); err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	if len(user.TenantIDs) == 0 {
		return nil, nil
	}
	refs := make([]*firestore.DocumentRef, 0, 2*len(user.TenantIDs))
	for _, id := range user.TenantIDs {
		tref := s.fs.Collection(colTenants).Doc(id)
		refs = append(refs, tref, tref.Collection(colMembers).Doc(uid))
	}
	snaps, err := s.fs.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read memberships of %s: %w", uid, err)
	}
	var out []tenancy.Membership
	for i, id := range user.TenantIDs {
		ts, ms := snaps[2*i], snaps[2*i+1]
		if !ts.Exists() || !ms.Exists() {
			continue // the link outlived a removal; the membership document is the truth
		}
		var td tenantDoc
		var md memberDoc
		if err := ts.DataTo(&td); err != nil {
			return nil, fmt.Errorf("decode tenant %s: %w", id, err)
		}
		if err := ms.DataTo(&md); err != nil {
			return nil, fmt.Errorf("decode member %s of %s: %w", uid, id, err)
		}
		out = append(out, tenancy.Membership{Tenant: toTenant(id, td), Role: toMember(id, uid, md).Role})
	}
	return out, nil
}

// DeleteIdempotencyRecordsBefore implements tenancy.Store.
func (s *Store) DeleteIdempotencyRecordsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	snaps, err := s.fs.Collection(colIdempotency).Where("expiresAt", "<", t).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return 0, fmt.Errorf("list expired idempotency records: %w", err)
	}
	if len(snaps) == 0 {
		return 0, nil
	}
	bw := s.fs.BulkWriter(ctx)
	jobs := make([]*firestore.BulkWriterJob, 0, len(snaps))
	for _, snap := range snaps {
		j, err := bw.Delete(snap.Ref)
		if err != nil {
			return 0, fmt.Errorf("queue delete of %s: %w", snap.Ref.Path, err)
		}
		jobs = append(jobs, j)
	}
	bw.End()
	deleted := 0
	for _, j := range jobs {
		if _, err := j.Results(); err != nil {
			return deleted, fmt.Errorf("delete expired idempotency record: %w", err)
		}
		deleted++
	}
	return deleted, nil
}
