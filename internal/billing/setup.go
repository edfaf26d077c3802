package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
)

// Register adds the billing handlers to d. Without Stripe they are only made known, so their
// entries stay pending (neither claimed nor dead-lettered) until a dispatcher with Stripe runs.
func (s *Service) Register(d *outbox.Dispatcher) {
	if !s.Enabled() {
		d.Know(Kinds...)
		return
	}
	kinds.Handle(d, s.setup)
	kinds.Handle(d, s.cancelSuperseded)
	kinds.Handle(d, s.cancelOnCancellation)
}

// trialLead is how far ahead a trial's end must be to be sent as trial_end. Stripe refuses a
// trial_end in the past, and the decision must not flip between attempts of one entry (the
// subscription's idempotency key must always carry the same parameters), so it is taken against
// the entry's creation time, not the clock.
const trialLead = time.Hour

// Setup performs a billing.setup entry (the outbox handler of kinds.BillingSetup): a Stripe
// customer, then a subscription for the plan's price with the tenant's trial, each with an
// Idempotency-Key derived from the entry id, and the ids on billing/{tenantId}. A retry after a
// crash between the two calls reuses the customer saved after the first (or, if the crash came
// before that save, Stripe answers the same key with the same customer). Provisioning never waits
// for any of it.
func (s *Service) Setup(ctx context.Context, d outbox.Delivery) error {
	return kinds.Typed(s.setup)(ctx, d)
}

func (s *Service) setup(ctx context.Context, d outbox.Delivery, p kinds.BillingSetup) error {
	tenantID := d.Entry.TenantID
	switch {
	case tenantID == "":
		return outbox.Permanentf("entry has no tenantId")
	case p.StripePriceID == "":
		return outbox.Permanentf("payload has no stripePriceId")
	}
	req := SetupRequest{BillingSetup: p, EntryID: d.IdempotencyKey, CreatedAt: d.Entry.CreatedAt}
	rec, err := s.store.Record(ctx, tenantID)
	if errors.Is(err, errs.ErrNotFound) {
		// Provisioning commits the billing record with this entry: it is gone only if someone
		// removed the tenant by hand, and then there is nothing to set up.
		return outbox.Permanentf("billing record of tenant %s does not exist", tenantID)
	}
	if err != nil {
		return fmt.Errorf("read billing record of %s: %w", tenantID, err)
	}
	if rec.SubscriptionID != "" {
		return nil // done by an earlier attempt, or adopted from a webhook event first
	}
	customerID, err := s.customer(ctx, tenantID, rec, req)
	if err != nil {
		return retryable(err)
	}
	trialEnd := req.TrialEndsAt
	if !trialEnd.After(req.CreatedAt.Add(trialLead)) {
		trialEnd = time.Time{} // the trial is over (or nearly): start billing now
	}
	sub, err := s.stripe.CreateSubscription(ctx, SubscriptionParams{
		CustomerID: customerID, PriceID: req.StripePriceID, TenantID: tenantID, PlanID: req.PlanID,
		TrialEnd: trialEnd, IdempotencyKey: req.EntryID + "-subscription",
	})
	if err != nil {
		return retryable(fmt.Errorf("create the Stripe subscription of tenant %s: %w", tenantID, err))
	}
	now := s.clock.Now()
	if _, err := s.store.UpdateRecord(ctx, tenantID, func(r Record) (Record, bool) { return r.withSubscription(sub, now), true }); err != nil {
		return fmt.Errorf("save the Stripe subscription of tenant %s: %w", tenantID, err)
	}
	return nil
}

// customer returns the tenant's Stripe customer, creating it with the setup entry's idempotency
// key when the record has none yet. The setup handler and the sessions both go through it, with
// the same key and the same parameters, so at most one customer ever exists per tenant.
func (s *Service) customer(ctx context.Context, tenantID string, rec Record, req SetupRequest) (string, error) {
	if rec.CustomerID != "" {
		return rec.CustomerID, nil
	}
	c, err := s.stripe.CreateCustomer(ctx, CustomerParams{
		TenantID: tenantID, Email: req.Email, IdempotencyKey: req.EntryID + "-customer",
	})
	if err != nil {
		return "", fmt.Errorf("create the Stripe customer of tenant %s: %w", tenantID, err)
	}
	now := s.clock.Now()
	saved, err := s.store.UpdateRecord(ctx, tenantID, func(r Record) (Record, bool) { return r.withCustomer(c.ID, now) })
	if err != nil {
		return "", fmt.Errorf("save the Stripe customer of tenant %s: %w", tenantID, err)
	}
	return saved.CustomerID, nil
}

// cancelSuperseded cancels a subscription that a newer one replaced.
func (s *Service) cancelSuperseded(ctx context.Context, d outbox.Delivery, p kinds.CancelSuperseded) error {
	id := p.SubscriptionID
	if id == "" {
		return outbox.Permanentf("payload has no subscriptionId")
	}
	if err := s.stripe.CancelSubscription(ctx, id, d.IdempotencyKey); err != nil {
		return retryable(fmt.Errorf("cancel superseded Stripe subscription %s: %w", id, err))
	}
	return nil
}

// cancelOnCancellation cancels the subscription of a tenant that staff cancelled. While billing
// setup has not run it waits (the outbox retries): setup would otherwise create a subscription
// after this entry found none to cancel.
func (s *Service) cancelOnCancellation(ctx context.Context, d outbox.Delivery, _ kinds.CancelSubscription) error {
	tenantID := d.Entry.TenantID
	rec, err := s.store.Record(ctx, tenantID)
	if errors.Is(err, errs.ErrNotFound) {
		return nil // purged, or never set up: nothing is billed
	}
	if err != nil {
		return fmt.Errorf("read billing record of %s: %w", tenantID, err)
	}
	if rec.Status == RecordPending {
		return fmt.Errorf("tenant %s was cancelled before its billing setup ran: waiting for the setup to cancel what it creates", tenantID)
	}
	if rec.SubscriptionID == "" || rec.StripeStatus == "canceled" {
		return nil
	}
	if err := s.stripe.CancelSubscription(ctx, rec.SubscriptionID, d.IdempotencyKey); err != nil {
		return retryable(fmt.Errorf("cancel Stripe subscription %s of cancelled tenant %s: %w", rec.SubscriptionID, tenantID, err))
	}
	return nil
}

// retryable lets the outbox retry everything but what Stripe refused as invalid.
func retryable(err error) error {
	if errors.Is(err, ErrRejected) {
		return outbox.Permanent(err)
	}
	return err
}
