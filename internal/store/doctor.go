package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/doctor"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// DoctorStore implements doctor.Store: paged reads of every collection that holds an invariant,
// and the two repair transactions, queued per tenant with all of the Store's others.
//
// Every scan pages with a cursor on the last document read (ordered by document id, or by `at`
// for a history), so a scan of any size holds one page at a time. The queries need no composite
// index: one equality filter (and a document-id order) is served by the single-field indexes;
// status and role of a tenant's invitations are two equalities, which Firestore merges.
type DoctorStore struct{ *Store }

// Doctor returns the doctor's persistence on the same client.
func (s *Store) Doctor() *DoctorStore { return &DoctorStore{s} }

var _ doctor.Store = (*DoctorStore)(nil)

// getAllChunk bounds the references of one GetAll call.
const getAllChunk = 100

// eachPage runs q a page of size documents at a time, after the last document of the previous
// page, and calls f with each page decoded; what names the documents in errors.
func eachPage[T any](ctx context.Context, q firestore.Query, what string, size int, decode func(*firestore.DocumentSnapshot) (T, error), f func([]T) error) error {
	var last *firestore.DocumentSnapshot
	for {
		pq := q.Limit(size)
		if last != nil {
			pq = pq.StartAfter(last)
		}
		snaps, err := pq.Documents(ctx).GetAll()
		if err != nil {
			return fmt.Errorf("read a page of %s: %w", what, err)
		}
		if len(snaps) == 0 {
			return nil
		}
		page := make([]T, 0, len(snaps))
		for _, snap := range snaps {
			v, err := decode(snap)
			if err != nil {
				return err
			}
			page = append(page, v)
		}
		if err := f(page); err != nil {
			return err
		}
		if len(snaps) < size {
			return nil
		}
		last = snaps[len(snaps)-1]
	}
}

// getAll reads refs in chunks and calls f with each snapshot (missing ones too).
func (d *DoctorStore) getAll(ctx context.Context, refs []*firestore.DocumentRef, f func(*firestore.DocumentSnapshot) error) error {
	for chunk := range slices.Chunk(refs, getAllChunk) {
		snaps, err := d.fs.GetAll(ctx, chunk)
		if err != nil {
			return fmt.Errorf("read %d documents from %s: %w", len(chunk), chunk[0].Path, err)
		}
		for _, snap := range snaps {
			if err := f(snap); err != nil {
				return err
			}
		}
	}
	return nil
}

// scoped narrows q to the documents naming tenantID ("" leaves it whole).
func scoped(q firestore.Query, tenantID string) firestore.Query {
	if tenantID == "" {
		return q
	}
	return q.Where("tenantId", "==", tenantID)
}

func toDoctorTenant(snap *firestore.DocumentSnapshot) (doctor.Tenant, error) {
	var d tenantDoc
	if err := snap.DataTo(&d); err != nil {
		return doctor.Tenant{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	t := toTenant(snap.Ref.ID, d)
	return doctor.Tenant{
		ID: t.ID, Path: relPath(snap.Ref), Status: t.Status, Subdomain: t.Subdomain,
		SeatsUsed: t.SeatsUsed, PendingInvitations: t.PendingInvitations, Purging: !t.PurgeStartedAt.IsZero(),
	}, nil
}

// relPath is a document's path from the database root (tenants/t1/members/u1): the path the
// contract's Firestore layout speaks of.
func relPath(ref *firestore.DocumentRef) string {
	_, rel, _ := strings.Cut(ref.Path, "/documents/")
	return rel
}

// TenantPages implements doctor.Store.
func (d *DoctorStore) TenantPages(ctx context.Context, page int, f func([]doctor.Tenant) error) error {
	q := d.fs.Collection(colTenants).Select("status", "subdomain", "seatsUsed", "pendingInvitations").OrderBy(firestore.DocumentID, firestore.Asc)
	return eachPage(ctx, q, "tenants", page, toDoctorTenant, f)
}

// Tenants implements doctor.Store.
func (d *DoctorStore) Tenants(ctx context.Context, ids []string) (map[string]doctor.Tenant, error) {
	return readExisting(ctx, d, d.fs.Collection(colTenants), ids, toDoctorTenant)
}

// readExisting reads the documents of col named by ids and decodes the ones that exist, by id.
func readExisting[T any](ctx context.Context, d *DoctorStore, col *firestore.CollectionRef, ids []string, decode func(*firestore.DocumentSnapshot) (T, error)) (map[string]T, error) {
	refs := make([]*firestore.DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = col.Doc(id)
	}
	out := make(map[string]T, len(ids))
	err := d.getAll(ctx, refs, func(snap *firestore.DocumentSnapshot) error {
		if !snap.Exists() {
			return nil
		}
		v, err := decode(snap)
		out[snap.Ref.ID] = v
		return err
	})
	return out, err
}

// MemberPages implements doctor.Store.
func (d *DoctorStore) MemberPages(ctx context.Context, tenantID string, page int, f func([]doctor.Member) error) error {
	q := d.fs.Collection(colTenants).Doc(tenantID).Collection(colMembers).Select("role").OrderBy(firestore.DocumentID, firestore.Asc)
	return eachPage(ctx, q, "the members of "+tenantID, page, func(snap *firestore.DocumentSnapshot) (doctor.Member, error) {
		role, _ := snap.Data()["role"].(string)
		return doctor.Member{UID: snap.Ref.ID, Path: relPath(snap.Ref), Role: rules.Role(role)}, nil
	}, f)
}

// tenantIDsOf reads users/{uid}.tenantIds of a user document.
func tenantIDsOf(snap *firestore.DocumentSnapshot) []string {
	if !snap.Exists() {
		return nil
	}
	raw, _ := snap.Data()["tenantIds"].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// LinkedUIDs implements doctor.Store.
func (d *DoctorStore) LinkedUIDs(ctx context.Context, tenantID string, uids []string) (map[string]bool, error) {
	refs := make([]*firestore.DocumentRef, len(uids))
	for i, uid := range uids {
		refs[i] = d.fs.Collection(colUsers).Doc(uid)
	}
	out := make(map[string]bool, len(uids))
	err := d.getAll(ctx, refs, func(snap *firestore.DocumentSnapshot) error {
		out[snap.Ref.ID] = slices.Contains(tenantIDsOf(snap), tenantID)
		return nil
	})
	return out, err
}

// PendingInvitations implements doctor.Store with two count aggregations.
func (d *DoctorStore) PendingInvitations(ctx context.Context, tenantID string) (int, int, error) {
	q := d.fs.Collection(colTenants).Doc(tenantID).Collection(colInvitations).Where("status", "==", string(members.StatusPending))
	pending, err := count(ctx, q, "pending invitations of "+tenantID)
	if err != nil {
		return 0, 0, err
	}
	owner, err := count(ctx, q.Where("role", "==", string(rules.RoleOwner)), "pending owner invitations of "+tenantID)
	return pending, owner, err
}

// HistoryPages implements doctor.Store.
func (d *DoctorStore) HistoryPages(ctx context.Context, tenantID string, page int, f func([]doctor.HistoryEntry) error) error {
	q := d.fs.Collection(colTenants).Doc(tenantID).Collection(colHistory).Select("from", "to", "at").OrderBy("at", firestore.Asc)
	return eachPage(ctx, q, "the history of "+tenantID, page, func(snap *firestore.DocumentSnapshot) (doctor.HistoryEntry, error) {
		var h historyDoc
		if err := snap.DataTo(&h); err != nil {
			return doctor.HistoryEntry{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		return doctor.HistoryEntry{Path: relPath(snap.Ref), From: rules.Status(h.From), To: rules.Status(h.To)}, nil
	}, f)
}

// toRef decodes a document that names a tenant in its tenantId (createdAt: At).
func toRef(snap *firestore.DocumentSnapshot) (doctor.Ref, error) {
	var d struct {
		TenantID  string    `firestore:"tenantId"`
		CreatedAt time.Time `firestore:"createdAt"`
	}
	if err := snap.DataTo(&d); err != nil {
		return doctor.Ref{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	return doctor.Ref{Path: relPath(snap.Ref), Name: snap.Ref.ID, TenantID: d.TenantID, At: d.CreatedAt}, nil
}

// SubdomainClaims implements doctor.Store.
func (d *DoctorStore) SubdomainClaims(ctx context.Context, names []string) (map[string]doctor.Ref, error) {
	return readExisting(ctx, d, d.fs.Collection(colSubdomains), names, toRef)
}

// UserLinkPages implements doctor.Store: every user's tenantIds, or the users whose tenantIds
// contain tenantID.
func (d *DoctorStore) UserLinkPages(ctx context.Context, tenantID string, page int, f func([]doctor.Link) error) error {
	q := d.fs.Collection(colUsers).Select("tenantIds").OrderBy(firestore.DocumentID, firestore.Asc)
	if tenantID != "" {
		q = q.Where("tenantIds", "array-contains", tenantID)
	}
	return eachPage(ctx, q, "user links", page, func(snap *firestore.DocumentSnapshot) ([]doctor.Link, error) {
		var out []doctor.Link
		for _, id := range tenantIDsOf(snap) {
			if tenantID == "" || id == tenantID {
				out = append(out, doctor.Link{Path: relPath(snap.Ref), UID: snap.Ref.ID, TenantID: id})
			}
		}
		return out, nil
	}, func(users [][]doctor.Link) error { return f(slices.Concat(users...)) })
}

// Memberships implements doctor.Store.
func (d *DoctorStore) Memberships(ctx context.Context, links []doctor.Link) ([]bool, error) {
	refs := make([]*firestore.DocumentRef, len(links))
	for i, l := range links {
		refs[i] = d.fs.Collection(colTenants).Doc(l.TenantID).Collection(colMembers).Doc(l.UID)
	}
	out := make([]bool, 0, len(links))
	err := d.getAll(ctx, refs, func(snap *firestore.DocumentSnapshot) error {
		out = append(out, snap.Exists())
		return nil
	})
	return out, err
}

// refPages pages through collection col (scoped to tenantID) narrowed by where.
func (d *DoctorStore) refPages(ctx context.Context, col, tenantID string, page int, f func([]doctor.Ref) error, where ...func(firestore.Query) firestore.Query) error {
	q := scoped(d.fs.Collection(col).Select("tenantId", "createdAt").OrderBy(firestore.DocumentID, firestore.Asc), tenantID)
	for _, w := range where {
		q = w(q)
	}
	return eachPage(ctx, q, col, page, toRef, f)
}

// IdempotencyPages implements doctor.Store.
func (d *DoctorStore) IdempotencyPages(ctx context.Context, tenantID string, page int, f func([]doctor.Ref) error) error {
	return d.refPages(ctx, colIdempotency, tenantID, page, f)
}

// SubdomainClaimPages implements doctor.Store.
func (d *DoctorStore) SubdomainClaimPages(ctx context.Context, tenantID string, page int, f func([]doctor.Ref) error) error {
	return d.refPages(ctx, colSubdomains, tenantID, page, f)
}

// DomainClaimPages implements doctor.Store.
func (d *DoctorStore) DomainClaimPages(ctx context.Context, tenantID string, page int, f func([]doctor.Ref) error) error {
	return d.refPages(ctx, colDomainClaims, tenantID, page, f)
}

// PendingBillingPages implements doctor.Store.
func (d *DoctorStore) PendingBillingPages(ctx context.Context, tenantID string, page int, f func([]doctor.Ref) error) error {
	return d.refPages(ctx, colBilling, tenantID, page, f, func(q firestore.Query) firestore.Query {
		return q.Where("status", "==", tenancy.BillingPending)
	})
}

// OutboxPages implements doctor.Store: the pending and the dead entries, or every entry of tenantID.
func (d *DoctorStore) OutboxPages(ctx context.Context, tenantID string, page int, f func([]doctor.OutboxEntry) error) error {
	q := d.fs.Collection(colOutbox).Select("kind", "tenantId", "state", "attempts", "nextAttemptAt").OrderBy(firestore.DocumentID, firestore.Asc)
	decode := func(snap *firestore.DocumentSnapshot) (doctor.OutboxEntry, error) {
		var o outboxDoc
		if err := snap.DataTo(&o); err != nil {
			return doctor.OutboxEntry{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		return doctor.OutboxEntry{Path: relPath(snap.Ref), Kind: o.Kind, TenantID: o.TenantID, State: o.State,
			Attempts: o.Attempts, NextAttemptAt: o.NextAttemptAt}, nil
	}
	if tenantID != "" {
		return eachPage(ctx, scoped(q, tenantID), "outbox entries", page, decode, f)
	}
	for _, st := range []outbox.State{outbox.StatePending, outbox.StateDead} {
		if err := eachPage(ctx, q.Where("state", "==", string(st)), string(st)+" outbox entries", page, decode, f); err != nil {
			return err
		}
	}
	return nil
}

// RepairCounters implements doctor.Store. The transaction reads the tenant and every membership
// and pending invitation it counts (ids and expiries only, counted as they stream): a
// concurrent change of a counter writes the tenant document, so it makes this transaction retry
// on fresh reads rather than being overwritten.
func (d *DoctorStore) RepairCounters(ctx context.Context, tenantID string, decide func(doctor.CounterState) (doctor.CounterFix, error)) error {
	ref := d.fs.Collection(colTenants).Doc(tenantID)
	err := d.locks.runTransaction(ctx, d.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		st, err := d.readCounters(tx, ref)
		if err != nil {
			return err
		}
		fix, err := decide(st)
		if err != nil {
			return err
		}
		if err := tx.Update(ref, []firestore.Update{
			{Path: "seatsUsed", Value: fix.SeatsUsed},
			{Path: "pendingInvitations", Value: fix.PendingInvitations},
			pendingExpiryFloorUpdate(fix.PendingExpiryFloor),
		}); err != nil {
			return fmt.Errorf("update the counters of %s: %w", tenantID, err)
		}
		return createAudit(tx, ref, fix.Audit)
	}, firestore.MaxAttempts(txAttempts))
	if doctor.NothingToRepair(err) {
		return nil
	}
	return err
}

// readCounters reads, in tx, tenant ref's counters and the documents they count.
func (d *DoctorStore) readCounters(tx *firestore.Transaction, ref *firestore.DocumentRef) (doctor.CounterState, error) {
	snap, err := tx.Get(ref)
	if status.Code(err) == codes.NotFound {
		return doctor.CounterState{}, nil
	}
	if err != nil {
		return doctor.CounterState{}, fmt.Errorf("read %s: %w", ref.Path, err)
	}
	t, err := toDoctorTenant(snap)
	if err != nil {
		return doctor.CounterState{}, err
	}
	st := doctor.CounterState{Found: true, SeatsUsed: t.SeatsUsed, PendingInvitations: t.PendingInvitations}
	if st.Members, err = countIn(tx, ref.Collection(colMembers).Select(), func(*firestore.DocumentSnapshot) {}); err != nil {
		return doctor.CounterState{}, err
	}
	pending := ref.Collection(colInvitations).Where("status", "==", string(members.StatusPending)).Select("expiresAt")
	st.Pending, err = countIn(tx, pending, func(snap *firestore.DocumentSnapshot) {
		if at, ok := snap.Data()["expiresAt"].(time.Time); ok && (st.EarliestExpiry.IsZero() || at.Before(st.EarliestExpiry)) {
			st.EarliestExpiry = at
		}
	})
	return st, err
}

// countIn streams the documents of q in tx, calling each with every one, and counts them.
func countIn(tx *firestore.Transaction, q firestore.Query, each func(*firestore.DocumentSnapshot)) (int, error) {
	it := tx.Documents(q)
	defer it.Stop()
	n := 0
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("count in a transaction: %w", err)
		}
		each(snap)
		n++
	}
}

// RepairLink implements doctor.Store, in the tenant's queue: the transaction reads the tenant
// document, which every membership change writes.
func (d *DoctorStore) RepairLink(ctx context.Context, l doctor.Link, decide func(doctor.LinkState) (doctor.LinkFix, error)) error {
	tref := d.fs.Collection(colTenants).Doc(l.TenantID)
	uref := d.fs.Collection(colUsers).Doc(l.UID)
	err := d.locks.runTransaction(ctx, d.fs, l.TenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll([]*firestore.DocumentRef{tref, tref.Collection(colMembers).Doc(l.UID), uref})
		if err != nil {
			return fmt.Errorf("read the link of %s to %s: %w", l.UID, l.TenantID, err)
		}
		email, _ := snaps[1].Data()["email"].(string)
		fix, err := decide(doctor.LinkState{
			TenantFound: snaps[0].Exists(), MemberFound: snaps[1].Exists(), MemberEmail: email,
			UserFound: snaps[2].Exists(), Linked: slices.Contains(tenantIDsOf(snaps[2]), l.TenantID),
		})
		if err != nil {
			return err
		}
		var change any = firestore.ArrayRemove(l.TenantID)
		if fix.Link {
			change = firestore.ArrayUnion(l.TenantID)
		}
		fields := map[string]any{"tenantIds": change, "updatedAt": fix.At}
		if !snaps[2].Exists() {
			fields["email"] = fix.Email
		}
		if err := tx.Set(uref, fields, firestore.MergeAll); err != nil {
			return fmt.Errorf("write %s: %w", l.Path, err)
		}
		if fix.Audit == nil {
			return nil
		}
		return createAudit(tx, tref, *fix.Audit)
	}, firestore.MaxAttempts(txAttempts))
	if doctor.NothingToRepair(err) {
		return nil
	}
	return err
}
