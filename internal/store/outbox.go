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
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// OutboxStore implements outbox.Store on the `outbox` collection.
//
// Claims and settlements are single-document writes with an update-time precondition (the
// revision the entry was read at) rather than read-then-write transactions: a transaction's read
// takes a lock, and two dispatchers reading the same due entry then block each other until the
// lock times out (about 3 s on the emulator; Firestore's server SDKs lock pessimistically too).
// The precondition gives the same exclusivity, a compare-and-set, in one round trip without
// locks: the loser gets FailedPrecondition at once and moves on to the next entry.
//
// Queries and the composite indexes they need (firestore.indexes.json):
//   - due:      state ==, kind in, nextAttemptAt <=, order by nextAttemptAt   (state, kind, nextAttemptAt)
//   - unknown:  state ==, createdAt in (after, before], order by createdAt    (state, createdAt)
//   - dead:     state ==, order by deadAt desc                                (state, deadAt desc)
//   - counts:   state == (count aggregation)                                  single-field index
type OutboxStore struct{ fs *firestore.Client }

// Outbox returns the outbox persistence on the same client.
func (s *Store) Outbox() *OutboxStore { return &OutboxStore{fs: s.fs} }

// NewOutboxStore wraps a Firestore client.
func NewOutboxStore(fs *firestore.Client) *OutboxStore { return &OutboxStore{fs: fs} }

var _ outbox.Store = (*OutboxStore)(nil)

func (o *OutboxStore) col() *firestore.CollectionRef { return o.fs.Collection(colOutbox) }

// Due implements outbox.Store. Firestore's `in` takes at most 30 values; the kinds registered in
// one process are far fewer (TestEveryOutboxKindHasOneHandler lists them).
func (o *OutboxStore) Due(ctx context.Context, kinds []string, now time.Time, limit int) ([]outbox.Entry, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	q := o.col().Where("state", "==", string(outbox.StatePending)).
		Where("kind", "in", kinds).
		Where("nextAttemptAt", "<=", now).
		OrderBy("nextAttemptAt", firestore.Asc).
		Limit(limit)
	return queryAll(ctx, toOutboxEntry, q, "due outbox entries")
}

// PendingCreatedBetween implements outbox.Store.
func (o *OutboxStore) PendingCreatedBetween(ctx context.Context, after, before time.Time, limit int) ([]outbox.Entry, error) {
	q := o.col().Where("state", "==", string(outbox.StatePending)).
		Where("createdAt", ">", after).
		Where("createdAt", "<=", before).
		OrderBy("createdAt", firestore.Asc).
		Limit(limit)
	return queryAll(ctx, toOutboxEntry, q, "old pending outbox entries")
}

// Dead implements outbox.Store.
func (o *OutboxStore) Dead(ctx context.Context, limit int) ([]outbox.Entry, error) {
	q := o.col().Where("state", "==", string(outbox.StateDead)).OrderBy("deadAt", firestore.Desc).Limit(limit)
	return queryAll(ctx, toOutboxEntry, q, "dead outbox entries")
}

// Get implements outbox.Store.
func (o *OutboxStore) Get(ctx context.Context, id string) (outbox.Entry, error) {
	snap, err := o.col().Doc(id).Get(ctx)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return outbox.Entry{}, errs.ErrNotFound
		}
		return outbox.Entry{}, fmt.Errorf("read outbox/%s: %w", id, err)
	}
	return toOutboxEntry(snap)
}

// Count implements outbox.Store with a count aggregation (billed per 1,000 index entries, not per
// document).
func (o *OutboxStore) Count(ctx context.Context, s outbox.State) (int, error) {
	return count(ctx, o.col().Where("state", "==", string(s)), string(s)+" outbox entries")
}

// Claim implements outbox.Store.
func (o *OutboxStore) Claim(ctx context.Context, e outbox.Entry, owner string, now, until time.Time) (outbox.Entry, bool, error) {
	wr, err := o.col().Doc(e.ID).Update(ctx, []firestore.Update{
		{Path: "attempts", Value: e.Attempts + 1},
		{Path: "leaseOwner", Value: owner},
		{Path: "leaseExpiresAt", Value: until},
		{Path: "nextAttemptAt", Value: until},
		{Path: "claimedAt", Value: now},
	}, firestore.LastUpdateTime(e.Version))
	if err != nil {
		if lostRace(err) {
			return outbox.Entry{}, false, nil
		}
		return outbox.Entry{}, false, fmt.Errorf("claim outbox/%s: %w", e.ID, err)
	}
	e.Attempts++
	e.LeaseOwner, e.LeaseExpiresAt, e.NextAttemptAt = owner, until, until
	e.Version = wr.UpdateTime
	return e, true, nil
}

// Settle implements outbox.Store.
func (o *OutboxStore) Settle(ctx context.Context, e outbox.Entry, s outbox.Settlement) (bool, error) {
	ups := []firestore.Update{
		{Path: "state", Value: string(s.State)},
		{Path: "leaseOwner", Value: firestore.Delete},
		{Path: "leaseExpiresAt", Value: firestore.Delete},
	}
	if s.State == outbox.StateDone || s.State == outbox.StateDead {
		// A settled entry never needs its secret again (an invitation token is stored only as a
		// hash once its email is out); a dead invitation is fixed by resending it, which issues a
		// new token.
		ups = append(ups, firestore.Update{FieldPath: firestore.FieldPath{"payload", outbox.SecretField}, Value: firestore.Delete})
	}
	switch s.State {
	case outbox.StateDone:
		ups = append(ups, firestore.Update{Path: "doneAt", Value: s.At})
		if !s.ExpireAt.IsZero() {
			ups = append(ups, firestore.Update{Path: "expireAt", Value: s.ExpireAt})
		}
	case outbox.StatePending:
		ups = append(ups,
			firestore.Update{Path: "nextAttemptAt", Value: s.NextAttemptAt},
			firestore.Update{Path: "lastError", Value: s.LastError},
			firestore.Update{Path: "lastErrorAt", Value: s.At})
	case outbox.StateDead:
		ups = append(ups,
			firestore.Update{Path: "deadAt", Value: s.At},
			firestore.Update{Path: "lastError", Value: s.LastError},
			firestore.Update{Path: "lastErrorAt", Value: s.At})
	default:
		return false, fmt.Errorf("settle outbox/%s: unknown state %q", e.ID, s.State)
	}
	if _, err := o.col().Doc(e.ID).Update(ctx, ups, firestore.LastUpdateTime(e.Version)); err != nil {
		if lostRace(err) {
			return false, nil
		}
		return false, fmt.Errorf("settle outbox/%s as %s: %w", e.ID, s.State, err)
	}
	return true, nil
}

// Revive implements outbox.Store.
func (o *OutboxStore) Revive(ctx context.Context, e outbox.Entry, now time.Time) (bool, error) {
	_, err := o.col().Doc(e.ID).Update(ctx, []firestore.Update{
		{Path: "state", Value: string(outbox.StatePending)},
		{Path: "attempts", Value: 0},
		{Path: "nextAttemptAt", Value: now},
		{Path: "revivedAt", Value: now},
		{Path: "deadAt", Value: firestore.Delete},
		{Path: "leaseOwner", Value: firestore.Delete},
		{Path: "leaseExpiresAt", Value: firestore.Delete},
	}, firestore.LastUpdateTime(e.Version))
	if err != nil {
		if lostRace(err) {
			return false, nil
		}
		return false, fmt.Errorf("revive outbox/%s: %w", e.ID, err)
	}
	return true, nil
}

// lostRace reports a failed precondition: the entry changed (or vanished) since it was read.
func lostRace(err error) bool {
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.NotFound, codes.Aborted:
		return true
	}
	return false
}

func toOutboxEntry(snap *firestore.DocumentSnapshot) (outbox.Entry, error) {
	var d outboxDoc
	if err := snap.DataTo(&d); err != nil {
		return outbox.Entry{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	if snap.UpdateTime.IsZero() {
		return outbox.Entry{}, errors.New("decode " + snap.Ref.Path + ": no update time")
	}
	return outbox.Entry{
		ID: snap.Ref.ID, Kind: d.Kind, TenantID: d.TenantID, Payload: d.Payload, State: outbox.State(d.State),
		Attempts: d.Attempts, CreatedAt: d.CreatedAt, NextAttemptAt: d.NextAttemptAt,
		LeaseOwner: d.LeaseOwner, LeaseExpiresAt: d.LeaseExpiresAt, LastError: d.LastError,
		LastErrorAt: d.LastErrorAt, DoneAt: d.DoneAt, DeadAt: d.DeadAt, Version: snap.UpdateTime,
		RequestID: d.RequestID, TraceParent: d.TraceParent,
	}, nil
}

// Enqueue creates one pending entry due at now. Production entries are written by the commit
// that promises them (CreateProvisioning); Enqueue serves tools, tests and benchmarks.
func (o *OutboxStore) Enqueue(ctx context.Context, id, kind, tenantID string, payload map[string]any, now time.Time) error {
	_, err := o.col().Doc(id).Create(ctx, outboxDoc{
		Kind: kind, TenantID: tenantID, Payload: payload, State: OutboxPending, CreatedAt: now, NextAttemptAt: now,
	})
	if err != nil {
		if status.Code(err) == codes.AlreadyExists {
			return fmt.Errorf("create outbox/%s: %w: %v", id, tenancy.ErrConflict, err)
		}
		return fmt.Errorf("create outbox/%s: %w", id, err)
	}
	return nil
}
