package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// colAuditLog is the top-level audit log, for events whose tenant no longer exists.
const colAuditLog = "auditLog"

// maxSweepWrites keeps a sweep inside one transaction's write limit (500).
const maxSweepWrites = 450

var _ tenancy.SweepStore = (*Store)(nil)

// StaleProvisioning implements tenancy.SweepStore (index: tenants status ASC, createdAt ASC).
func (s *Store) StaleProvisioning(ctx context.Context, cutoff time.Time, limit int) ([]tenancy.Tenant, error) {
	snaps, err := s.fs.Collection(colTenants).
		Where("status", "==", string(rules.StatusProvisioning)).
		Where("createdAt", "<", cutoff).
		OrderBy("createdAt", firestore.Asc).
		Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list tenants in provisioning created before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	out := make([]tenancy.Tenant, 0, len(snaps))
	for _, snap := range snaps {
		var d tenantDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		out = append(out, toTenant(snap.Ref.ID, d))
	}
	return out, nil
}

type sweepAuditDoc struct {
	Action    string    `firestore:"action"`
	Actor     string    `firestore:"actor"`
	Reason    string    `firestore:"reason"`
	At        time.Time `firestore:"at"`
	TenantID  string    `firestore:"tenantId"`
	Details   any       `firestore:"details"`
	CreatedAt time.Time `firestore:"createdAt"`
}

// RemoveProvisioning implements tenancy.SweepStore. Every read happens in the transaction before
// any write, and the status check is among those reads, so a tenant that moves out of
// provisioning concurrently makes the transaction retry and then leave it alone.
func (s *Store) RemoveProvisioning(ctx context.Context, tenantID string, cutoff time.Time, rec tenancy.SweepRecord) (bool, error) {
	tref := s.fs.Collection(colTenants).Doc(tenantID)
	// Subcollection names cannot be listed inside a transaction. Every subcollection a tenant in
	// provisioning can have is known (members, history, audit, invitations); listing them first
	// also catches any other, and a document added between the listing and the commit can only be
	// in one of the known ones, which are read again inside the transaction.
	subs := map[string]bool{colMembers: true, "invitations": true}
	for _, c := range tenantSubcollections {
		subs[c] = true
	}
	it := tref.Collections(ctx)
	for {
		c, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("list subcollections of %s: %w", tref.Path, err)
		}
		subs[c.ID] = true
	}

	removed := false
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		removed = false
		snap, err := tx.Get(tref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", tref.Path, err)
		}
		var td tenantDoc
		if err := snap.DataTo(&td); err != nil {
			return fmt.Errorf("decode %s: %w", tref.Path, err)
		}
		if td.Status != string(rules.StatusProvisioning) || !td.CreatedAt.Before(cutoff) {
			return nil
		}

		var deletes []*firestore.DocumentRef
		var uids []string
		createdBy, _ := snap.Data()[legacyCreatedBy].(string) // a tenant older than its staff record
		for name := range subs {
			docs, err := tx.Documents(tref.Collection(name)).GetAll()
			if err != nil {
				return fmt.Errorf("read %s/%s: %w", tref.Path, name, err)
			}
			for _, d := range docs {
				deletes = append(deletes, d.Ref)
				if name == colMembers {
					uids = append(uids, d.Ref.ID)
				}
				if name == colPrivate && d.Ref.ID == staffDocID {
					if by, _ := d.Data()["createdBy"].(string); by != "" {
						createdBy = by
					}
				}
			}
		}
		var userRefs []*firestore.DocumentRef
		for _, uid := range uids {
			userRefs = append(userRefs, s.fs.Collection(colUsers).Doc(uid))
		}
		users, err := tx.GetAll(userRefs)
		if err != nil {
			return fmt.Errorf("read the users of %s: %w", tref.Path, err)
		}
		var claimRef *firestore.DocumentRef
		if td.Subdomain != nil && *td.Subdomain != "" {
			ref := s.fs.Collection(colSubdomains).Doc(*td.Subdomain)
			cs, err := tx.Get(ref)
			switch {
			case status.Code(err) == codes.NotFound:
			case err != nil:
				return fmt.Errorf("read %s: %w", ref.Path, err)
			default:
				var sd subdomainDoc
				if err := cs.DataTo(&sd); err == nil && sd.TenantID == tenantID {
					claimRef = ref
				}
			}
		}
		pending, err := tx.Documents(s.fs.Collection(colOutbox).Where("tenantId", "==", tenantID).Where("state", "==", OutboxPending)).GetAll()
		if err != nil {
			return fmt.Errorf("read the outbox entries of %s: %w", tenantID, err)
		}
		idem, err := tx.Documents(s.fs.Collection(colIdempotency).Where("tenantId", "==", tenantID)).GetAll()
		if err != nil {
			return fmt.Errorf("read the idempotency records of %s: %w", tenantID, err)
		}

		for _, d := range pending {
			deletes = append(deletes, d.Ref)
		}
		// With its idempotency record gone, a retry of the request that created the tenant
		// provisions afresh instead of replaying a tenant that no longer exists.
		for _, d := range idem {
			deletes = append(deletes, d.Ref)
		}
		deletes = append(deletes, s.fs.Collection(colBilling).Doc(tenantID))
		if claimRef != nil {
			deletes = append(deletes, claimRef)
		}
		if n := len(deletes) + len(users) + 2; n > maxSweepWrites {
			return fmt.Errorf("tenant %s has %d documents to remove, more than one transaction takes; remove it by hand", tenantID, n)
		}

		for _, ref := range deletes {
			if err := tx.Delete(ref); err != nil {
				return err
			}
		}
		for _, u := range users {
			if u.Exists() {
				if err := tx.Update(u.Ref, []firestore.Update{{Path: "tenantIds", Value: firestore.ArrayRemove(tenantID)}}); err != nil {
					return err
				}
			}
		}
		if err := tx.Delete(tref); err != nil {
			return err
		}
		removed = true
		return tx.Create(s.fs.Collection(colAuditLog).NewDoc(), sweepAuditDoc{
			Action: rec.Action, Actor: rec.Actor, Reason: rec.Reason, At: rec.At, TenantID: tenantID,
			CreatedAt: rec.At,
			Details: map[string]any{
				"name": rec.Name, "createdBy": createdBy, "tenantCreatedAt": rec.CreatedAt,
				"documentsRemoved": len(deletes) + 1, "members": uids,
			},
		})
	})
	if err != nil {
		return false, fmt.Errorf("remove tenant %s left in provisioning: %w", tenantID, err)
	}
	return removed, nil
}
