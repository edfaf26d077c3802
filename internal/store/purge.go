package store

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/fstree"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// colPurgedTenants holds purgedTenants/{tenantId}: the tombstone of a purged tenant
// (tenancy.Tombstone), with the purge's state and what it deleted. No rule matches it.
//
// Query and its index: tenants where status == "cancelled" and statusChangedAt <= t, a composite
// index (status, statusChangedAt) in firestore.indexes.json.
const colPurgedTenants = "purgedTenants"

// Tombstone states.
const (
	purgeStatePurging = "purging"
	purgeStatePurged  = "purged"
)

type tombstoneDoc struct {
	State                string         `firestore:"state"`
	PlanID               string         `firestore:"planId"`
	Source               string         `firestore:"source"`
	CreatedAt            time.Time      `firestore:"createdAt"`
	CancelledAt          time.Time      `firestore:"cancelledAt"`
	PurgeStartedAt       time.Time      `firestore:"purgeStartedAt"`
	PurgedAt             *time.Time     `firestore:"purgedAt,omitempty"`
	ActorSystem          string         `firestore:"actorSystem"`
	RequestID            string         `firestore:"requestId"`
	StripeCustomerID     string         `firestore:"stripeCustomerId,omitempty"`
	StripeSubscriptionID string         `firestore:"stripeSubscriptionId,omitempty"`
	StripeStatus         string         `firestore:"stripeStatus,omitempty"`
	Counts               map[string]int `firestore:"counts"`
}

var _ tenancy.PurgeStore = (*Store)(nil)

// DuePurges implements tenancy.PurgeStore.
func (s *Store) DuePurges(ctx context.Context, cancelledBefore time.Time, limit int) ([]string, error) {
	var ids []string
	started, err := s.fs.Collection(colPurgedTenants).Where("state", "==", purgeStatePurging).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list purges under way: %w", err)
	}
	for _, snap := range started {
		ids = append(ids, snap.Ref.ID)
	}
	due, err := s.fs.Collection(colTenants).Where("status", "==", string(rules.StatusCancelled)).
		Where("statusChangedAt", "<=", cancelledBefore).OrderBy("statusChangedAt", firestore.Asc).
		Select().Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list cancelled tenants past their retention: %w", err)
	}
	for _, snap := range due {
		ids = append(ids, snap.Ref.ID)
	}
	return ids, nil
}

// StartPurge implements tenancy.PurgeStore.
func (s *Store) StartPurge(ctx context.Context, tenantID string, decide func(tenancy.Tenant) (tenancy.Tombstone, error)) error {
	ref := s.fs.Collection(colTenants).Doc(tenantID)
	stoneRef := s.fs.Collection(colPurgedTenants).Doc(tenantID)
	return s.locks.runTransaction(ctx, s.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll([]*firestore.DocumentRef{ref, stoneRef, s.fs.Collection(colBilling).Doc(tenantID)})
		if err != nil {
			return fmt.Errorf("read tenant %s for its purge: %w", tenantID, err)
		}
		var stone tombstoneDoc
		hasStone, err := decodeFound(snaps[1], &stone)
		if err != nil {
			return err
		}
		var d tenantDoc
		found, err := decodeFound(snaps[0], &d)
		switch {
		case err != nil:
			return err
		case !found && hasStone && stone.State == purgeStatePurging:
			return nil // the tenant document went last time; the rest continues
		case !found:
			return errs.ErrNotFound
		}
		t := toTenant(tenantID, d)
		ts, err := decide(t)
		if err != nil || !t.PurgeStartedAt.IsZero() {
			return err
		}
		var bill billingRecordDoc
		if _, err := decodeFound(snaps[2], &bill); err != nil {
			return err
		}
		if err := tx.Set(stoneRef, toDBTombstone(ts, bill)); err != nil {
			return err
		}
		return tx.Update(ref, []firestore.Update{{Path: "purgeStartedAt", Value: ts.PurgeStartedAt}})
	})
}

func toDBTombstone(ts tenancy.Tombstone, bill billingRecordDoc) tombstoneDoc {
	return tombstoneDoc{
		State: purgeStatePurging, PlanID: ts.PlanID, Source: string(ts.Source), CreatedAt: ts.CreatedAt,
		CancelledAt: ts.CancelledAt, PurgeStartedAt: ts.PurgeStartedAt, ActorSystem: ts.Actor.System, RequestID: ts.RequestID,
		StripeCustomerID: bill.CustomerID, StripeSubscriptionID: bill.SubscriptionID, StripeStatus: bill.StripeStatus,
		Counts: map[string]int{},
	}
}

// linkedCollections are the top-level collections whose documents name a tenant in tenantId and
// go with it: the claims it held (so others may take them), its secrets' hashes and its
// personal data elsewhere (invitation tokens, join requests, outbox payloads).
var linkedCollections = []string{
	colSubdomains, colDomainClaims, colIdempotency, colServiceTokens, colInvitationToken, colJoinRequests, colOutbox,
}

// PurgeBatch implements tenancy.PurgeStore. Each step finds the next documents to delete by a
// query, never by a cursor kept in memory, so a run that stopped anywhere resumes where it was.
func (s *Store) PurgeBatch(ctx context.Context, tenantID string, size int, now time.Time, last []tenancy.OutboxEntry) (int, bool, error) {
	for _, col := range linkedCollections {
		refs, err := refsOf(ctx, s.fs.Collection(col).Where("tenantId", "==", tenantID).Select().Limit(size))
		if n, err := s.deleteCounted(ctx, tenantID, col, refs, err); n > 0 || err != nil {
			return n, false, err
		}
	}
	if n, err := s.unlinkUsers(ctx, tenantID, size); n > 0 || err != nil {
		return n, false, err
	}
	refs, err := existing(ctx, s.fs, []*firestore.DocumentRef{s.fs.Collection(colBilling).Doc(tenantID)})
	if n, err := s.deleteCounted(ctx, tenantID, colBilling, refs, err); n > 0 || err != nil {
		return n, false, err
	}
	var tree []*firestore.DocumentRef
	if err := collectTree(ctx, s.fs.Collection(colTenants).Doc(tenantID), size, &tree); err != nil {
		return 0, false, fmt.Errorf("list the documents of tenant %s: %w", tenantID, err)
	}
	refs, err = existing(ctx, s.fs, tree)
	if n, err := s.deleteCounted(ctx, tenantID, "documents", refs, err); n > 0 || err != nil {
		return n, false, err
	}
	return s.finishPurge(ctx, tenantID, now, last)
}

// finishPurge deletes the tenant document, last, marks the tombstone purged and creates the
// entries of last. A commit that fails writes none of it, and one that succeeds leaves no
// tombstone purging, so no run comes back to create them again.
func (s *Store) finishPurge(ctx context.Context, tenantID string, now time.Time, last []tenancy.OutboxEntry) (int, bool, error) {
	tenant := s.fs.Collection(colTenants).Doc(tenantID)
	n := 0
	if _, err := tenant.Get(ctx); err == nil {
		n = 1
	} else if status.Code(err) != codes.NotFound {
		return 0, false, fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	//lint:ignore SA1019 a batch of blind writes is one round trip; the purge reads nothing it must keep consistent.
	b := s.fs.Batch()
	b.Delete(tenant)
	b.Update(s.fs.Collection(colPurgedTenants).Doc(tenantID), []firestore.Update{
		{Path: "state", Value: purgeStatePurged}, {Path: "purgedAt", Value: now},
		{Path: "counts.documents", Value: firestore.Increment(n)},
	})
	for _, e := range last {
		b.Create(s.fs.Collection(colOutbox).Doc(e.ID), toDBOutbox(ctx, e))
	}
	if _, err := b.Commit(ctx); err != nil {
		return 0, false, fmt.Errorf("finish the purge of tenant %s: %w", tenantID, err)
	}
	return n, true, nil
}

// deleteCounted deletes refs and adds their number to the tombstone's count under key, in one
// commit; listErr is the error of listing them.
func (s *Store) deleteCounted(ctx context.Context, tenantID, key string, refs []*firestore.DocumentRef, listErr error) (int, error) {
	if listErr != nil || len(refs) == 0 {
		return 0, listErr
	}
	//lint:ignore SA1019 a batch of blind deletes is one round trip; deleting twice is harmless.
	b := s.fs.Batch()
	for _, r := range refs {
		b.Delete(r)
	}
	b.Update(s.fs.Collection(colPurgedTenants).Doc(tenantID), []firestore.Update{{Path: "counts." + key, Value: firestore.Increment(len(refs))}})
	if _, err := b.Commit(ctx); err != nil {
		return 0, fmt.Errorf("delete %d documents (%s) of tenant %s: %w", len(refs), key, tenantID, err)
	}
	return len(refs), nil
}

// unlinkUsers removes the tenant from users/{uid}.tenantIds, for up to size users.
func (s *Store) unlinkUsers(ctx context.Context, tenantID string, size int) (int, error) {
	refs, err := refsOf(ctx, s.fs.Collection(colUsers).Where("tenantIds", "array-contains", tenantID).Select().Limit(size))
	if err != nil || len(refs) == 0 {
		return 0, err
	}
	//lint:ignore SA1019 a batch of blind updates is one round trip; removing twice is harmless.
	b := s.fs.Batch()
	for _, r := range refs {
		b.Update(r, []firestore.Update{{Path: "tenantIds", Value: firestore.ArrayRemove(tenantID)}})
	}
	b.Update(s.fs.Collection(colPurgedTenants).Doc(tenantID), []firestore.Update{{Path: "counts.userLinks", Value: firestore.Increment(len(refs))}})
	if _, err := b.Commit(ctx); err != nil {
		return 0, fmt.Errorf("unlink %d users from tenant %s: %w", len(refs), tenantID, err)
	}
	return len(refs), nil
}

// refsOf runs q and returns the documents' references.
func refsOf(ctx context.Context, q firestore.Query) ([]*firestore.DocumentRef, error) {
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return nil, err
	}
	refs := make([]*firestore.DocumentRef, len(snaps))
	for i, snap := range snaps {
		refs[i] = snap.Ref
	}
	return refs, nil
}

// existing keeps the refs whose document exists, so that counts are of documents deleted: the
// tree's listing also names missing documents that only hold subcollections.
func existing(ctx context.Context, fs *firestore.Client, refs []*firestore.DocumentRef) ([]*firestore.DocumentRef, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	snaps, err := fs.GetAll(ctx, refs)
	if err != nil {
		return nil, err
	}
	var out []*firestore.DocumentRef
	for _, snap := range snaps {
		if snap.Exists() {
			out = append(out, snap.Ref)
		}
	}
	return out, nil
}

// collectTree appends to out, children before their parents, up to size documents under doc at
// any depth (not doc itself), missing documents that only hold subcollections included (see
// package fstree), so a subcollection under a document that was deleted, or never written, is
// still reached.
func collectTree(ctx context.Context, doc *firestore.DocumentRef, size int, out *[]*firestore.DocumentRef) error {
	return fstree.Walk(ctx, doc, fstree.Options{Chunk: size}, func(_ []string, refs []*firestore.DocumentRef) error {
		*out = append(*out, refs[:min(len(refs), size-len(*out))]...)
		if len(*out) >= size {
			return fstree.ErrStop
		}
		return nil
	})
}
