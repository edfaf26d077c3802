package store

import (
	"context"
	"fmt"
	"maps"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// historyDoc is tenants/{id}/history/{auto}.
type historyDoc struct {
	From                string     `firestore:"from"`
	To                  string     `firestore:"to"`
	ActorUID            string     `firestore:"actorUid,omitempty"`
	ActorPlatformRole   string     `firestore:"actorPlatformRole,omitempty"`
	ActorSystem         string     `firestore:"actorSystem,omitempty"`
	Reason              string     `firestore:"reason"`
	RequestID           string     `firestore:"requestId,omitempty"`
	At                  time.Time  `firestore:"at"`
	TrialEndsAt         *time.Time `firestore:"trialEndsAt,omitempty"`
	PreviousTrialEndsAt *time.Time `firestore:"previousTrialEndsAt,omitempty"`
	PlanID              string     `firestore:"planId,omitempty"`
	PreviousPlanID      string     `firestore:"previousPlanId,omitempty"`
	SeatCap             int        `firestore:"seatCap,omitempty"`
	PreviousSeatCap     int        `firestore:"previousSeatCap,omitempty"`
}

func toDBHistory(h tenancy.HistoryEntry) historyDoc {
	d := historyDoc{
		From: string(h.From), To: string(h.To), ActorUID: h.Actor.UID, ActorPlatformRole: string(h.Actor.PlatformRole),
		ActorSystem: h.Actor.System, Reason: h.Reason, RequestID: h.RequestID, At: h.At,
		PlanID: h.PlanID, PreviousPlanID: h.PreviousPlanID, SeatCap: h.SeatCap, PreviousSeatCap: h.PreviousSeatCap,
	}
	if !h.TrialEndsAt.IsZero() {
		d.TrialEndsAt = &h.TrialEndsAt
		d.PreviousTrialEndsAt = &h.PreviousTrialEndsAt
	}
	return d
}

func toHistory(id string, d historyDoc) tenancy.HistoryEntry {
	h := tenancy.HistoryEntry{
		ID: id, From: rules.Status(d.From), To: rules.Status(d.To),
		Actor:  tenancy.Actor{UID: d.ActorUID, PlatformRole: auth.PlatformRole(d.ActorPlatformRole), System: d.ActorSystem},
		Reason: d.Reason, RequestID: d.RequestID, At: d.At,
		PlanID: d.PlanID, PreviousPlanID: d.PreviousPlanID, SeatCap: d.SeatCap, PreviousSeatCap: d.PreviousSeatCap,
	}
	if d.TrialEndsAt != nil {
		h.TrialEndsAt = *d.TrialEndsAt
	}
	if d.PreviousTrialEndsAt != nil {
		h.PreviousTrialEndsAt = *d.PreviousTrialEndsAt
	}
	return h
}

// auditDoc is tenants/{id}/audit/{auto}.
type auditDoc struct {
	Action            string         `firestore:"action"`
	ActorUID          string         `firestore:"actorUid,omitempty"`
	ActorPlatformRole string         `firestore:"actorPlatformRole,omitempty"`
	ActorSystem       string         `firestore:"actorSystem,omitempty"`
	Reason            string         `firestore:"reason"`
	RequestID         string         `firestore:"requestId,omitempty"`
	At                time.Time      `firestore:"at"`
	Details           map[string]any `firestore:"details,omitempty"`
	Before            map[string]any `firestore:"before,omitempty"`
	After             map[string]any `firestore:"after,omitempty"`
}

func toDBAudit(a tenancy.AuditEntry) auditDoc {
	return auditDoc{
		Action: a.Action, ActorUID: a.Actor.UID, ActorPlatformRole: string(a.Actor.PlatformRole), ActorSystem: a.Actor.System,
		Reason: a.Reason, RequestID: a.RequestID, At: a.At, Details: a.Details, Before: a.Before, After: a.After,
	}
}

func toAudit(id string, d auditDoc) tenancy.AuditEntry {
	return tenancy.AuditEntry{
		ID: id, Action: d.Action, Reason: d.Reason, RequestID: d.RequestID, At: d.At,
		Actor:   tenancy.Actor{UID: d.ActorUID, PlatformRole: auth.PlatformRole(d.ActorPlatformRole), System: d.ActorSystem},
		Details: d.Details, Before: d.Before, After: d.After,
	}
}

// ChangeStatus implements tenancy.Store. The transaction reads one document and writes three or
// four, so it holds the tenant's lock for about one round trip; everything that must agree with
// the status (other transitions, API writes checking it in their own transactions) queues on
// that lock instead of acting on a stale read.
func (s *Store) ChangeStatus(ctx context.Context, tenantID string, decide func(tenancy.Tenant) (tenancy.StatusChange, error)) (tenancy.Tenant, error) {
	ref := s.fs.Collection(colTenants).Doc(tenantID)
	var out tenancy.Tenant
	err := s.locks.runTransaction(ctx, s.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		var d tenantDoc
		if err := txGet(tx, ref, &d); err != nil {
			return err
		}
		t := toTenant(tenantID, d)
		ch, err := decide(t)
		if err != nil {
			return err
		}
		if err := s.writeStatusChange(ctx, tx, ref, ch, nil); err != nil {
			return err
		}
		out = ch.Apply(t)
		return nil
	})
	if err != nil {
		return tenancy.Tenant{}, err
	}
	return out, nil
}

// writeStatusChange adds to tx everything one status change writes: the tenant's status fields,
// the status's copy in the staff record (which the staff search filters by), the history entry,
// the audit entry and the outbox entries. ChangeStatus, the contract conversion and the Stripe
// webhook's transaction (billing.go) all write through it, so a change looks the same whoever
// caused it. staff and extra are further fields of the staff record and of the tenant to write in
// the same commit (which writes a document once): the contract conversion's.
func (s *Store) writeStatusChange(ctx context.Context, tx *firestore.Transaction, ref *firestore.DocumentRef, ch tenancy.StatusChange, staff map[string]any, extra ...firestore.Update) error {
	tenantID := ref.ID
	updates := append([]firestore.Update{
		{Path: "status", Value: string(ch.Status)},
		{Path: "statusChangedAt", Value: ch.At},
		{Path: "statusCause", Value: string(ch.Cause)},
	}, extra...)
	if ch.BillingStatus != "" {
		updates = append(updates, firestore.Update{Path: "billingStatus", Value: string(ch.BillingStatus)})
	}
	if !ch.TrialEndsAt.IsZero() {
		updates = append(updates, firestore.Update{Path: "trialEndsAt", Value: ch.TrialEndsAt})
	}
	switch {
	case !ch.GraceEndsAt.IsZero():
		updates = append(updates, firestore.Update{Path: rules.FieldGraceEndsAt, Value: ch.GraceEndsAt})
	case ch.ClearGrace:
		updates = append(updates, firestore.Update{Path: rules.FieldGraceEndsAt, Value: firestore.Delete})
	}
	if err := tx.Update(ref, updates); err != nil {
		return fmt.Errorf("update tenant %s: %w", tenantID, err)
	}
	staffFields := map[string]any{}
	maps.Copy(staffFields, staff)
	staffFields["status"] = string(ch.Status)
	if err := tx.Set(staffRef(ref), staffFields, firestore.MergeAll); err != nil {
		return fmt.Errorf("update the staff record of %s: %w", tenantID, err)
	}
	if err := addHistory(tx, ref, ch.History, ch.Audit); err != nil {
		return err
	}
	return createOutbox(ctx, tx, s.fs, ch.Outbox...)
}

// addHistory adds a history entry of tenant ref to tx, with its audit entry when there is one.
func addHistory(tx *firestore.Transaction, ref *firestore.DocumentRef, h tenancy.HistoryEntry, a *tenancy.AuditEntry) error {
	if err := tx.Create(ref.Collection(colHistory).NewDoc(), toDBHistory(h)); err != nil {
		return fmt.Errorf("write history of %s: %w", ref.ID, err)
	}
	if a == nil {
		return nil
	}
	return createAudit(tx, ref, *a)
}

// createAudit adds entries to tenant ref's audit log in tx.
func createAudit(tx *firestore.Transaction, ref *firestore.DocumentRef, entries ...tenancy.AuditEntry) error {
	for _, a := range entries {
		if err := tx.Create(ref.Collection(colAudit).NewDoc(), toDBAudit(a)); err != nil {
			return fmt.Errorf("write audit entry of %s: %w", ref.ID, err)
		}
	}
	return nil
}

// createOutbox adds entries to tx, pending (create-only: an entry's id is its idempotency key).
func createOutbox(ctx context.Context, tx *firestore.Transaction, fs *firestore.Client, entries ...tenancy.OutboxEntry) error {
	for _, e := range entries {
		if err := tx.Create(fs.Collection(colOutbox).Doc(e.ID), toDBOutbox(ctx, e)); err != nil {
			return fmt.Errorf("write outbox entry %s: %w", e.ID, err)
		}
	}
	return nil
}

// DueTrials implements tenancy.Store. It needs the composite index (status ASC, trialEndsAt ASC)
// declared in firestore.indexes.json, and reads only trialEndsAt.
func (s *Store) DueTrials(ctx context.Context, cutoff time.Time, after tenancy.TrialCursor, limit int) ([]tenancy.DueTrial, error) {
	q := s.fs.Collection(colTenants).
		Where("status", "==", string(rules.StatusTrial)).
		Where("trialEndsAt", "<=", cutoff).
		OrderBy("trialEndsAt", firestore.Asc).
		OrderBy(firestore.DocumentID, firestore.Asc).
		Select("trialEndsAt")
	if after.TenantID != "" {
		q = q.StartAfter(after.TrialEndsAt, after.TenantID)
	}
	snaps, err := q.Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list due trials: %w", err)
	}
	out := make([]tenancy.DueTrial, 0, len(snaps))
	for _, snap := range snaps {
		var d struct {
			TrialEndsAt time.Time `firestore:"trialEndsAt"`
		}
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		out = append(out, tenancy.DueTrial{TenantID: snap.Ref.ID, TrialEndsAt: d.TrialEndsAt})
	}
	return out, nil
}

// StatusHistory implements tenancy.Store.
func (s *Store) StatusHistory(ctx context.Context, tenantID string, limit int) ([]tenancy.HistoryEntry, error) {
	q := s.fs.Collection(colTenants).Doc(tenantID).Collection(colHistory).OrderBy("at", firestore.Desc).Limit(limit)
	return queryAll(ctx, decodeWith(toHistory), q, "history of "+tenantID)
}
