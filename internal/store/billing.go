package store

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// colStripeEvents holds one document per Stripe event seen (stripeEvents/{eventId}), created in
// the same commit as the change the event made. No rule matches it: clients never see it.
const colStripeEvents = "stripeEvents"

// BillingStore implements billing.Store: billing/{tenantId}, stripeEvents/{eventId}, and the
// tenant status changes the webhook makes, through the same writer as the lifecycle.
type BillingStore struct {
	s *Store
}

// Billing returns the billing persistence on the same client. Its transactions queue per tenant
// with all of s's (see tenantLocks): Stripe delivers bursts of events for one subscription at
// once, and a tenant's members change meanwhile.
func (s *Store) Billing() *BillingStore { return &BillingStore{s: s} }

var _ billing.Store = (*BillingStore)(nil)

// billingRecordDoc is billing/{tenantId} in full. Provisioning creates it with the first four
// fields (billingDoc); the billing setup and the webhook add the rest.
type billingRecordDoc struct {
	TenantID          string               `firestore:"tenantId"`
	PlanID            string               `firestore:"planId"`
	Status            string               `firestore:"status"`
	CreatedAt         time.Time            `firestore:"createdAt"`
	CustomerID        string               `firestore:"stripeCustomerId,omitempty"`
	SubscriptionID    string               `firestore:"stripeSubscriptionId,omitempty"`
	SubscriptionSince time.Time            `firestore:"subscriptionSince,omitempty"`
	StripeStatus      string               `firestore:"stripeStatus,omitempty"`
	CurrentPeriodEnd  time.Time            `firestore:"currentPeriodEnd,omitempty"`
	TrialEnd          time.Time            `firestore:"trialEnd,omitempty"`
	CancelAtPeriodEnd bool                 `firestore:"cancelAtPeriodEnd,omitempty"`
	EventClock        map[string]time.Time `firestore:"eventClock,omitempty"`
	LastEventID       string               `firestore:"lastEventId,omitempty"`
	UpdatedAt         time.Time            `firestore:"updatedAt,omitempty"`
	SetupAt           time.Time            `firestore:"setupAt,omitempty"`
}

func toRecord(tenantID string, d billingRecordDoc) billing.Record {
	return billing.Record{
		TenantID: tenantID, PlanID: d.PlanID, Status: d.Status, CustomerID: d.CustomerID,
		SubscriptionID: d.SubscriptionID, SubscriptionSince: d.SubscriptionSince, StripeStatus: d.StripeStatus,
		CurrentPeriodEnd: d.CurrentPeriodEnd, TrialEnd: d.TrialEnd, CancelAtPeriodEnd: d.CancelAtPeriodEnd,
		EventClock: d.EventClock, LastEventID: d.LastEventID, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		SetupAt: d.SetupAt,
	}
}

// toDBRecordFields is what the webhook writes, merged into the document so that fields it does
// not know survive. Times that are unknown are left out rather than written as zero.
func toDBRecordFields(r billing.Record) map[string]any {
	m := map[string]any{
		"tenantId":          r.TenantID,
		"planId":            r.PlanID,
		"status":            r.Status,
		"stripeStatus":      r.StripeStatus,
		"cancelAtPeriodEnd": r.CancelAtPeriodEnd,
		"lastEventId":       r.LastEventID,
		"updatedAt":         r.UpdatedAt,
	}
	for k, v := range map[string]string{"stripeCustomerId": r.CustomerID, "stripeSubscriptionId": r.SubscriptionID} {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range map[string]time.Time{
		"subscriptionSince": r.SubscriptionSince, "currentPeriodEnd": r.CurrentPeriodEnd, "trialEnd": r.TrialEnd, "createdAt": r.CreatedAt,
		"setupAt": r.SetupAt,
	} {
		if !v.IsZero() {
			m[k] = v
		}
	}
	if len(r.EventClock) > 0 {
		clock := make(map[string]any, len(r.EventClock))
		for k, v := range r.EventClock {
			clock[k] = v
		}
		m["eventClock"] = clock
	}
	return m
}

// stripeEventDoc is stripeEvents/{eventId}.
type stripeEventDoc struct {
	Type           string    `firestore:"type"`
	Created        time.Time `firestore:"created"`
	APIVersion     string    `firestore:"apiVersion"`
	TenantID       string    `firestore:"tenantId,omitempty"`
	SubscriptionID string    `firestore:"subscriptionId,omitempty"`
	Outcome        string    `firestore:"outcome"`
	Detail         string    `firestore:"detail,omitempty"`
	ReceivedAt     time.Time `firestore:"receivedAt"`
	// ExpireAt is for a Firestore TTL policy: a record only has to outlive Stripe's retries.
	ExpireAt time.Time `firestore:"expireAt"`
}

func toDBStripeEvent(e billing.EventRecord) stripeEventDoc {
	return stripeEventDoc{
		Type: e.Type, Created: e.Created, APIVersion: e.APIVersion, TenantID: e.TenantID, SubscriptionID: e.SubscriptionID,
		Outcome: string(e.Outcome), Detail: e.Detail, ReceivedAt: e.ReceivedAt, ExpireAt: e.ExpireAt,
	}
}

func (b *BillingStore) ref(tenantID string) *firestore.DocumentRef {
	return b.s.fs.Collection(colBilling).Doc(tenantID)
}

// Record implements billing.Store.
func (b *BillingStore) Record(ctx context.Context, tenantID string) (billing.Record, error) {
	var d billingRecordDoc
	if err := get(ctx, b.ref(tenantID), &d); err != nil {
		return billing.Record{}, err
	}
	return toRecord(tenantID, d), nil
}

// SetupRequest implements billing.Store from outbox/billing.setup-{tenantId}.
func (b *BillingStore) SetupRequest(ctx context.Context, tenantID string) (billing.SetupRequest, error) {
	id := kinds.ID(kinds.BillingSetup{}, tenantID)
	var d outboxDoc
	if err := get(ctx, b.s.fs.Collection(colOutbox).Doc(id), &d); err != nil {
		return billing.SetupRequest{}, err
	}
	// Decoded as the setup handler decodes its delivery, so that a customer created from here
	// carries the same parameters under the same idempotency key.
	return billing.SetupRequest{BillingSetup: kinds.Decode[kinds.BillingSetup](d.Payload), EntryID: id, CreatedAt: d.CreatedAt}, nil
}

// UpdateRecord implements billing.Store, in a transaction queued behind this process's others on
// the tenant. It writes only the fields change changed, so that it never writes back what it read.
func (b *BillingStore) UpdateRecord(ctx context.Context, tenantID string, change func(billing.Record) (billing.Record, bool)) (billing.Record, error) {
	ref := b.ref(tenantID)
	var out billing.Record
	err := b.s.locks.runTransaction(ctx, b.s.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		var d billingRecordDoc
		if err := txGet(tx, ref, &d); err != nil {
			return err
		}
		before := toRecord(tenantID, d)
		after, changed := change(before)
		if !changed {
			out = before
			return nil
		}
		if err := tx.Set(ref, changedRecordFields(before, after), firestore.MergeAll); err != nil {
			return fmt.Errorf("write %s: %w", ref.Path, err)
		}
		out = after
		return nil
	})
	if err != nil {
		return billing.Record{}, err
	}
	return out, nil
}

// changedRecordFields are the fields of after that differ from before's.
func changedRecordFields(before, after billing.Record) map[string]any {
	was := toDBRecordFields(before)
	fields := toDBRecordFields(after)
	for k, v := range fields {
		if w, ok := was[k]; ok && reflect.DeepEqual(w, v) {
			delete(fields, k)
		}
	}
	return fields
}

// TenantByCustomer implements billing.Store (a single-field equality query: no composite index).
func (b *BillingStore) TenantByCustomer(ctx context.Context, customerID string) (string, error) {
	snaps, err := b.s.fs.Collection(colBilling).Where("stripeCustomerId", "==", customerID).Limit(1).Documents(ctx).GetAll()
	if err != nil {
		return "", fmt.Errorf("find the billing record of customer %s: %w", customerID, err)
	}
	if len(snaps) == 0 {
		return "", errs.ErrNotFound
	}
	return snaps[0].Ref.ID, nil
}

// RecordEvent implements billing.Store.
func (b *BillingStore) RecordEvent(ctx context.Context, ev billing.EventRecord) (bool, error) {
	_, err := b.s.fs.Collection(colStripeEvents).Doc(ev.ID).Create(ctx, toDBStripeEvent(ev))
	if status.Code(err) == codes.AlreadyExists {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("record Stripe event %s: %w", ev.ID, err)
	}
	return false, nil
}

// ApplyEvent implements billing.Store. The transaction reads three documents in one round trip
// and, for a new event, writes the event record (create-only), the billing record, the tenant's
// status change (writeStatusChange: status, history, audit, outbox), its plan change (planId,
// seatCap, history, audit) and the event's own outbox entries in one commit. Two deliveries of
// one event racing each other both read "absent"; the second commit then fails on the create (or,
// with the emulator's pessimistic locks, waits and re-reads), so one applies it and the other
// reports a duplicate.
func (b *BillingStore) ApplyEvent(ctx context.Context, tenantID string, ev billing.EventRecord, decide func(*tenancy.Tenant, *billing.Record) (billing.Decision, error)) (billing.Decision, bool, error) {
	refs := eventRefs{
		event: b.s.fs.Collection(colStripeEvents).Doc(ev.ID), tenant: b.s.fs.Collection(colTenants).Doc(tenantID), record: b.ref(tenantID),
	}
	var (
		out billing.Decision
		dup bool
	)
	err := b.s.locks.runTransaction(ctx, b.s.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		out, dup = billing.Decision{}, false
		t, rec, seen, err := refs.read(tx)
		if err != nil || seen {
			dup = seen
			return err
		}
		d, err := decide(t, rec)
		if err != nil {
			return err
		}
		if err := b.writeDecision(ctx, tx, refs, ev, d); err != nil {
			return err
		}
		out = d
		return nil
	})
	if status.Code(err) == codes.AlreadyExists {
		// Most likely a concurrent delivery of the same event committed first; only the event
		// record itself says so.
		if _, gerr := refs.event.Get(ctx); gerr == nil {
			return billing.Decision{}, true, nil
		}
	}
	if err != nil {
		return billing.Decision{}, false, err
	}
	return out, dup, nil
}

// eventRefs are the documents a Stripe event's transaction reads and writes.
type eventRefs struct{ event, tenant, record *firestore.DocumentRef }

// read reads the event's record, the tenant and its billing record: seen when the event was
// handled before, t or rec nil when the tenant or its billing record does not exist.
func (r eventRefs) read(tx *firestore.Transaction) (t *tenancy.Tenant, rec *billing.Record, seen bool, err error) {
	snaps, err := tx.GetAll([]*firestore.DocumentRef{r.event, r.tenant, r.record})
	if err != nil {
		return nil, nil, false, fmt.Errorf("read event, tenant and billing record: %w", err)
	}
	if snaps[0].Exists() {
		return nil, nil, true, nil
	}
	var td tenantDoc
	var bd billingRecordDoc
	tenantFound, err := decodeFound(snaps[1], &td)
	if err != nil {
		return nil, nil, false, err
	}
	recordFound, err := decodeFound(snaps[2], &bd)
	if err != nil {
		return nil, nil, false, err
	}
	if tenantFound {
		tt := toTenant(r.tenant.ID, td)
		t = &tt
	}
	if recordFound {
		rr := toRecord(r.tenant.ID, bd)
		rec = &rr
	}
	return t, rec, false, nil
}

// writeDecision adds what event ev's decision d writes to tx.
func (b *BillingStore) writeDecision(ctx context.Context, tx *firestore.Transaction, refs eventRefs, ev billing.EventRecord, d billing.Decision) error {
	ev.Outcome, ev.Detail = d.Outcome, d.Detail
	if err := tx.Create(refs.event, toDBStripeEvent(ev)); err != nil {
		return fmt.Errorf("record Stripe event %s: %w", ev.ID, err)
	}
	if d.Record != nil {
		if err := tx.Set(refs.record, toDBRecordFields(*d.Record), firestore.MergeAll); err != nil {
			return fmt.Errorf("write billing record %s: %w", refs.record.ID, err)
		}
	}
	if err := b.writeTenantChange(ctx, tx, refs.tenant, d); err != nil {
		return err
	}
	return createOutbox(ctx, tx, b.s.fs, d.Outbox...)
}

// writeTenantChange adds an event's changes to the tenant to tx: its status change, plan change and
// billingStatus. The tenant document is written once per commit: the plan's fields ride along
// with the status change when there is one.
func (b *BillingStore) writeTenantChange(ctx context.Context, tx *firestore.Transaction, tref *firestore.DocumentRef, d billing.Decision) error {
	var ups []firestore.Update
	if p := d.Plan; p != nil {
		ups = []firestore.Update{{Path: "planId", Value: p.PlanID}, {Path: "seatCap", Value: p.SeatCap}}
		if err := addHistory(tx, tref, p.History, &p.Audit); err != nil {
			return err
		}
	}
	if d.Change != nil {
		return b.s.writeStatusChange(ctx, tx, tref, *d.Change, nil, ups...)
	}
	if d.BillingStatus != "" {
		ups = append(ups, firestore.Update{Path: "billingStatus", Value: string(d.BillingStatus)})
	}
	if len(ups) == 0 {
		return nil
	}
	if err := tx.Update(tref, ups); err != nil {
		return fmt.Errorf("update tenant %s: %w", tref.ID, err)
	}
	return nil
}
