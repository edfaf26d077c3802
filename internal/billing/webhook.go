package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// Event types Tenantry acts on; every other type is acknowledged and ignored.
const (
	EventSubscriptionCreated  = "customer.subscription.created"
	EventSubscriptionUpdated  = "customer.subscription.updated"
	EventSubscriptionDeleted  = "customer.subscription.deleted"
	EventTrialWillEnd         = "customer.subscription.trial_will_end"
	EventInvoicePaid          = "invoice.paid"
	EventInvoicePaymentFailed = "invoice.payment_failed"
)

// Event is a verified Stripe webhook event, flattened to what Tenantry reads. Its object is a
// subscription (customer.subscription.*) or an invoice (invoice.*).
type Event struct {
	ID         string
	Type       string
	Created    time.Time // the event's own creation time, Stripe's order of events
	APIVersion string
	Livemode   bool

	SubscriptionID string // the subscription, or the invoice's subscription ("" for a one-off invoice)
	CustomerID     string
	// TenantID is metadata.tenant_id of the subscription, or subscription_details.metadata of
	// the invoice; "" when absent (the customer id then finds the tenant).
	TenantID string
	PlanID   string // metadata.plan_id, set on subscriptions Tenantry creates
	// PriceID is the price of the subscription's first item (subscription events only): what the
	// customer pays for now, also after a plan change in Checkout or the billing portal, which
	// leaves metadata.plan_id as it was.
	PriceID string
	// Quantity is that item's quantity: the seats bought, for a per-seat price (0 when absent).
	Quantity int64

	// Subscription events only.
	SubscriptionStatus string
	CurrentPeriodEnd   time.Time
	TrialEnd           time.Time
	CancelAtPeriodEnd  bool

	// Invoice events only.
	InvoiceID string
	AmountDue int64 // minor units
	Currency  string
}

// IsSubscriptionEvent reports whether the event's object is a subscription.
func (e Event) IsSubscriptionEvent() bool {
	switch e.Type {
	case EventSubscriptionCreated, EventSubscriptionUpdated, EventSubscriptionDeleted, EventTrialWillEnd:
		return true
	}
	return false
}

// Outcome is what an event did; it is kept on stripeEvents/{id} for operators.
type Outcome string

// Outcomes.
const (
	OutcomeApplied           Outcome = "applied"            // the tenant moved, or an email was queued
	OutcomeNoChange          Outcome = "no_change"          // recorded; the tenant was already where the event points
	OutcomeStale             Outcome = "stale"              // older than an event already applied for its subscription
	OutcomeRefused           Outcome = "refused"            // the lifecycle table does not allow the move
	OutcomeOtherSubscription Outcome = "other_subscription" // about a subscription that is not the tenant's current one
	OutcomeOtherCustomer     Outcome = "other_customer"     // about a customer that is not the tenant's customer on record
	OutcomeHeldByStaff       Outcome = "held_by_staff"      // recorded; a staff suspension holds the tenant, billing moves nothing
	OutcomeUnmatched         Outcome = "unmatched"          // no tenant matches it
	OutcomeIgnored           Outcome = "ignored"            // a type Tenantry does not act on, or no subscription
	OutcomeDuplicate         Outcome = "duplicate"          // seen before; the first delivery's record stands
)

// Verifier checks a webhook delivery's signature and parses it (package stripeapi). Errors wrap
// ErrInvalidEvent.
type Verifier interface {
	Verify(payload []byte, signatureHeader string) (Event, error)
}

// WebhookActor names the Stripe webhook in history and audit entries.
const WebhookActor = "stripe-webhook"

// Result is what one delivery did.
type Result struct {
	EventID  string
	Type     string
	Outcome  Outcome
	TenantID string
	From, To rules.Status // the tenant's move, when Outcome is applied
	Detail   string
}

// HandleWebhook verifies a delivery and applies its event (see HandleEvent). An error wrapping
// ErrInvalidEvent means the delivery must be refused (400); any other error is ours, and Stripe
// should deliver again later (500).
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signatureHeader string) (Result, error) {
	if s.verifier == nil {
		return Result{}, errors.New("billing: STRIPE_WEBHOOK_SECRET is not set, so webhook events cannot be verified")
	}
	e, err := s.verifier.Verify(payload, signatureHeader)
	if err != nil {
		return Result{}, err
	}
	return s.HandleEvent(ctx, e)
}

// effect is what an event type asks of the tenant, whatever its current state.
type effect struct {
	to           rules.Status // "": no status change
	stripeStatus string       // the subscription status an invoice event implies
	trialEnding  bool         // queue the trial-ending email
}

// effectOf maps an event to its effect; known is false for types Tenantry does not act on.
func effectOf(e Event) (eff effect, known bool) {
	switch e.Type {
	case EventSubscriptionCreated, EventSubscriptionUpdated:
		return effect{to: statusFor(e.SubscriptionStatus)}, true
	case EventSubscriptionDeleted:
		return effect{to: rules.StatusCancelled}, true
	case EventInvoicePaid:
		return effect{to: rules.StatusActive, stripeStatus: SubActive}, true
	case EventInvoicePaymentFailed:
		return effect{to: rules.StatusPastDue, stripeStatus: SubPastDue}, true
	case EventTrialWillEnd:
		return effect{trialEnding: true}, true
	}
	return effect{}, false
}

// statusFor maps a subscription status to the tenant status it means; "" for statuses that move
// no tenant (incomplete, incomplete_expired, paused: the trial and its expiry are Tenantry's own,
// see the README).
func statusFor(subStatus string) rules.Status {
	switch subStatus {
	case SubTrialing:
		return rules.StatusTrial
	case SubActive:
		return rules.StatusActive
	case SubPastDue:
		return rules.StatusPastDue
	case SubUnpaid:
		return rules.StatusSuspended
	case SubCanceled:
		return rules.StatusCancelled
	}
	return ""
}

// alive reports whether a subscription in this status may become a tenant's current one.
func alive(subStatus string) bool {
	switch subStatus {
	case SubTrialing, SubActive, SubPastDue:
		return true
	}
	return false
}

// HandleEvent applies one verified event, at most once, in one transaction with its record.
//
//   - Unknown types are acknowledged and ignored (not recorded).
//   - The tenant is metadata.tenant_id on the subscription (or the invoice's
//     subscription_details), else the tenant whose billing record holds the customer id.
//   - stripeEvents/{id} is created in the same commit as the change, so a repeated delivery
//     finds it and changes nothing (OutcomeDuplicate), and a crash can never record an event
//     without applying it.
//   - An event older than the newest one applied for its subscription changes nothing
//     (OutcomeStale) but is recorded as seen.
//   - Status changes go through the lifecycle's decision (history, audit entry with actor
//     stripe-webhook, request id = event id, outbox). A move the table refuses is logged and
//     acknowledged (OutcomeRefused): retrying could never make it allowed.
//
// An error means nothing was written; Stripe should deliver the event again.
func (s *Service) HandleEvent(ctx context.Context, e Event) (Result, error) {
	res := Result{EventID: e.ID, Type: e.Type}
	log := s.log.With("stripeEvent", e.ID, "type", e.Type)
	if e.APIVersion != APIVersion {
		log.WarnContext(ctx, "Stripe event rendered in another API version than the webhook endpoint's pin; processed as far as it parses",
			"apiVersion", e.APIVersion, "pinned", APIVersion)
	}
	eff, known := effectOf(e)
	if !known {
		res.Outcome = OutcomeIgnored
		log.DebugContext(ctx, "Stripe event of a type Tenantry does not act on; acknowledged")
		return res, nil
	}
	// History and audit entries quote the event id as their request id: that is what an operator
	// looks up in Stripe's dashboard.
	ctx = reqctx.WithRequestID(ctx, e.ID)
	tenantID, err := s.tenantOf(ctx, e)
	if err != nil {
		return res, err
	}
	res.TenantID = tenantID
	now := s.clock.Now()
	er := EventRecord{
		ID: e.ID, Type: e.Type, Created: e.Created, APIVersion: e.APIVersion, TenantID: tenantID,
		SubscriptionID: e.SubscriptionID, ReceivedAt: now, ExpireAt: now.Add(s.cfg.EventRetention),
	}
	if tenantID == "" {
		er.Outcome, er.Detail = OutcomeUnmatched, "no tenant_id metadata and no billing record with this customer"
		dup, err := s.store.RecordEvent(ctx, er)
		if err != nil {
			return res, fmt.Errorf("record Stripe event %s: %w", e.ID, err)
		}
		res.Outcome, res.Detail = er.Outcome, er.Detail
		if dup {
			res.Outcome = OutcomeDuplicate
		}
		log.WarnContext(ctx, "Stripe event matches no tenant; acknowledged", "customer", e.CustomerID, "subscription", e.SubscriptionID)
		return res, nil
	}
	d, dup, err := s.store.ApplyEvent(ctx, tenantID, er, func(t *tenancy.Tenant, rec *Record) (Decision, error) {
		return s.decide(ctx, e, eff, t, rec)
	})
	if err != nil {
		return res, fmt.Errorf("apply Stripe event %s to tenant %s: %w", e.ID, tenantID, err)
	}
	if dup {
		res.Outcome = OutcomeDuplicate
		log.DebugContext(ctx, "Stripe event delivered again; already handled", "tenant", tenantID)
		return res, nil
	}
	res.Outcome, res.Detail = d.Outcome, d.Detail
	if d.Change != nil {
		res.From, res.To = d.Prior, d.Change.Status
	}
	switch d.Outcome {
	case OutcomeRefused:
		log.WarnContext(ctx, "Stripe event asks for a status change the lifecycle does not allow; acknowledged without change",
			"tenant", tenantID, "detail", d.Detail)
	case OutcomeApplied:
		log.InfoContext(ctx, "Stripe event applied", "tenant", tenantID, "from", string(res.From), "to", string(res.To))
	default:
		log.DebugContext(ctx, "Stripe event recorded", "tenant", tenantID, "outcome", string(d.Outcome), "detail", d.Detail)
	}
	logPlan(ctx, log, e, tenantID, d)
	return res, nil
}

// logPlan tells operators what an event did to the tenant's plan, or why it did nothing.
func logPlan(ctx context.Context, log *slog.Logger, e Event, tenantID string, d Decision) {
	if d.BelowContractPlanID != "" {
		log.InfoContext(ctx, "Stripe subscription's price is below the tenant's contracted plan; the contract's plan and seat cap stay",
			"tenant", tenantID, "subscription", e.SubscriptionID, "pricePlan", d.BelowContractPlanID)
	}
	if d.UnknownPriceID != "" {
		log.WarnContext(ctx, "Stripe subscription's price matches no plan in the catalog; the tenant's plan and seat cap are unchanged",
			"tenant", tenantID, "subscription", e.SubscriptionID, "price", d.UnknownPriceID)
	}
	if p := d.Plan; p != nil {
		log.InfoContext(ctx, "tenant's plan follows its Stripe subscription", "tenant", tenantID,
			"fromPlan", p.History.PreviousPlanID, "toPlan", p.PlanID, "fromSeatCap", p.History.PreviousSeatCap, "toSeatCap", p.SeatCap)
		if p.SeatCapHeld {
			log.WarnContext(ctx, "the new plan's seat cap is below the seats in use; the seat cap stays at the seats in use, and new invitations are refused until members leave",
				"tenant", tenantID, "plan", p.PlanID, "planSeatCap", p.PlanSeatCap, "seatCap", p.SeatCap)
		}
		if p.SeatCap < p.SeatsInUse {
			log.WarnContext(ctx, "fewer seats bought than in use; nobody is removed, and new invitations are refused until seats are bought or members leave",
				"tenant", tenantID, "plan", p.PlanID, "seatCap", p.SeatCap, "seatsInUse", p.SeatsInUse)
		}
	}
}

// tenantOf finds the event's tenant: metadata first, then the customer's billing record. "" when
// neither names one.
func (s *Service) tenantOf(ctx context.Context, e Event) (string, error) {
	if e.TenantID != "" {
		if id, err := validate.ID("tenant_id", e.TenantID); err == nil {
			return id, nil
		}
		// Not an id Tenantry would have written; fall back on the customer.
	}
	if e.CustomerID == "" {
		return "", nil
	}
	id, err := s.store.TenantByCustomer(ctx, e.CustomerID)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("find the tenant of Stripe customer %s: %w", e.CustomerID, err)
	}
	return id, nil
}

// decide is what event e does to tenant t with billing record rec, as read inside the
// transaction. It only computes: the transaction may run it again.
func (s *Service) decide(ctx context.Context, e Event, eff effect, t *tenancy.Tenant, cur *Record) (Decision, error) {
	if t == nil {
		return Decision{Outcome: OutcomeUnmatched, Detail: "the tenant named by the event does not exist"}, nil
	}
	now := s.clock.Now()
	d := Decision{Prior: t.Status}
	rec, outcome, detail := eventRecord(e, t, cur, now)
	if outcome != "" {
		d.Outcome, d.Detail = outcome, detail
		return d, nil
	}
	d.Record = &rec
	sub := e.SubscriptionID

	switch {
	case rec.SubscriptionID == "":
		// The webhook beat the setup handler to it (Stripe sends created at once).
		s.adopt(&rec, e)
	case rec.SubscriptionID != sub:
		// A new subscription (bought through Checkout) replaces the current one; anything else
		// about another subscription (the superseded one being cancelled, say) moves nothing.
		if e.Type != EventSubscriptionCreated || !alive(e.SubscriptionStatus) || e.Created.Before(rec.SubscriptionSince) {
			d.Outcome = OutcomeOtherSubscription
			d.Detail = fmt.Sprintf("the tenant's current subscription is %s", rec.SubscriptionID)
			return d, nil
		}
		cancel := kinds.CancelSuperseded{SubscriptionID: rec.SubscriptionID, SupersededBy: sub}
		d.Outbox = append(d.Outbox, tenancy.NewOutboxEntry(t.ID, cancel, e.ID, now))
		s.adopt(&rec, e)
	}
	rec.followStripeStatus(e, eff)
	if e.Type == EventSubscriptionCreated || e.Type == EventSubscriptionUpdated {
		// The event is about the tenant's current subscription (checked above): its price says
		// which plan the customer pays for.
		s.decidePlan(e, t, &rec, &d, now)
	}

	d, err := s.decideStatus(ctx, e, eff, t, d, now)
	if err != nil {
		return Decision{}, err
	}
	notePlan(&d, t)
	return d, nil
}

// eventRecord is the billing record (cur, or a new one for t) once event e is applied to it at
// now: its event clock, last event and customer. A non-empty outcome says the event changes
// nothing, and why: it belongs to no subscription, is about another customer, or is older than
// one applied already.
func eventRecord(e Event, t *tenancy.Tenant, cur *Record, now time.Time) (rec Record, outcome Outcome, detail string) {
	rec = Record{TenantID: t.ID, PlanID: t.PlanID, Status: RecordPending, CreatedAt: now}
	if cur != nil {
		rec = *cur
	}
	sub := e.SubscriptionID
	if sub == "" {
		return Record{}, OutcomeIgnored, "the invoice belongs to no subscription"
	}
	if rec.CustomerID != "" && e.CustomerID != rec.CustomerID {
		// Once the tenant has a customer, only that customer's events speak for it, whatever
		// metadata.tenant_id says: another customer's subscription must never replace its own.
		return Record{}, OutcomeOtherCustomer, fmt.Sprintf("the event is about customer %q; the tenant's customer is %s", e.CustomerID, rec.CustomerID)
	}
	if last, ok := rec.EventClock[sub]; ok && e.Created.Before(last) {
		return Record{}, OutcomeStale, fmt.Sprintf("created %s, before the event applied for %s at %s",
			e.Created.UTC().Format(time.RFC3339), sub, last.UTC().Format(time.RFC3339))
	}
	// Copy before writing: rec shares the map with the caller's read, and decide may run again.
	rec.EventClock = maps.Clone(rec.EventClock)
	if rec.EventClock == nil {
		rec.EventClock = map[string]time.Time{}
	}
	rec.EventClock[sub] = e.Created
	rec.LastEventID = e.ID
	rec.UpdatedAt = now
	if rec.CustomerID == "" {
		rec.CustomerID = e.CustomerID
	}
	return rec, "", ""
}

// followStripeStatus records what e says of the current subscription's state.
func (r *Record) followStripeStatus(e Event, eff effect) {
	if !e.IsSubscriptionEvent() {
		if eff.stripeStatus != "" {
			r.StripeStatus = eff.stripeStatus
		}
		return
	}
	r.StripeStatus = e.SubscriptionStatus
	if e.Type == EventSubscriptionDeleted {
		r.StripeStatus = SubCanceled
	}
	r.CurrentPeriodEnd, r.TrialEnd, r.CancelAtPeriodEnd = e.CurrentPeriodEnd, e.TrialEnd, e.CancelAtPeriodEnd
}

// notePlan completes a decision that changes t's plan: its history entry names the status the
// tenant is in once the event is applied, its detail says what changed, and a plan change alone
// is an applied event.
func notePlan(d *Decision, t *tenancy.Tenant) {
	p := d.Plan
	if p == nil {
		return
	}
	st := t.Status
	if d.Change != nil {
		st = d.Change.Status
	}
	p.History.From, p.History.To = st, st
	note := fmt.Sprintf("plan %s → %s, seat cap %d → %d", p.History.PreviousPlanID, p.PlanID, p.History.PreviousSeatCap, p.SeatCap)
	if d.Detail != "" {
		note = d.Detail + "; " + note
	}
	d.Detail = note
	if d.Outcome == OutcomeNoChange {
		d.Outcome = OutcomeApplied
	}
}

// decidePlan makes the tenant follow the plan of its current subscription's price: when the
// price maps to a catalog plan other than the tenant's, or to a per-seat plan with another number
// of seats bought, d.Plan sets that plan and its seat cap (see seatCapFor), with a history and an
// audit entry by the webhook. The billing record's planId follows the price too. An unknown price
// changes nothing and is reported in d.UnknownPriceID. It only computes.
func (s *Service) decidePlan(e Event, t *tenancy.Tenant, rec *Record, d *Decision, now time.Time) {
	if e.PriceID == "" || e.SubscriptionStatus == SubCanceled || e.SubscriptionStatus == SubIncompleteExpired ||
		t.Status == rules.StatusCancelled {
		return
	}
	plan, ok := s.plans.ByStripePrice(e.PriceID)
	if !ok {
		d.UnknownPriceID = e.PriceID
		return
	}
	rec.PlanID = plan.ID
	seats := plan.PerSeat && e.Quantity > 0
	if plan.ID == t.PlanID && !seats {
		return
	}
	if plan.ID != t.PlanID && t.Contract != nil && s.plans.Rank(plan.ID) < s.plans.Rank(t.Contract.PlanID) {
		// A converted evaluation keeps its old (trial) subscription until billing is moved to the
		// contract, and Stripe's routine updates carry that price: the signed contract, not a
		// leftover price, sets the floor. Upgrades bought above it still apply.
		d.BelowContractPlanID = plan.ID
		return
	}
	seatCap, held := seatCapFor(plan, e.Quantity, t)
	if plan.ID == t.PlanID && seatCap == t.SeatCap {
		return // the same seats again (a routine update, or a redelivery's twin)
	}
	d.Plan = planChange(e, t, plan, seatCap, held, now)
}

// seatCapFor is the seat cap plan gives t. For a per-seat price it is the seats bought (the
// item's quantity), even below the seats in use: nobody is removed, and invitations are refused
// until seats are bought or members leave. Otherwise it is the plan's, and a smaller plan never
// takes away seats that members and pending invitations hold (held: the cap stays at what they
// use). A contract's seat cap is the floor of both.
func seatCapFor(plan plans.Plan, quantity int64, t *tenancy.Tenant) (seatCap int, held bool) {
	perSeat := plan.PerSeat && quantity > 0
	seatCap = plan.SeatCap
	if perSeat {
		seatCap = int(min(quantity, tenancy.MaxContractSeatCap))
	}
	if t.Contract != nil && t.Contract.SeatCap > seatCap {
		seatCap = t.Contract.SeatCap
	}
	if perSeat || seatCap >= t.SeatCap {
		return seatCap, false
	}
	if floor := min(t.SeatsUsed+t.PendingInvitations, t.SeatCap); seatCap < floor {
		return floor, true
	}
	return seatCap, false
}

// planChange is the decision's move of t to plan with seatCap, recorded by the webhook.
func planChange(e Event, t *tenancy.Tenant, plan plans.Plan, seatCap int, held bool, now time.Time) *PlanChange {
	actor := tenancy.Actor{System: WebhookActor}
	reason := fmt.Sprintf("Stripe event %s (%s): the subscription's price %s is plan %s", e.Type, e.ID, e.PriceID, plan.ID)
	details := map[string]any{"subscriptionId": e.SubscriptionID, "stripePriceId": e.PriceID, "planSeatCap": plan.SeatCap}
	if plan.PerSeat && e.Quantity > 0 {
		reason += fmt.Sprintf(", %d seats bought", e.Quantity)
		details["quantity"] = e.Quantity
	}
	if t.Contract != nil {
		details["contractSeatCap"] = t.Contract.SeatCap
	}
	if held {
		details["seatCapHeldAtSeatsInUse"] = true
	}
	inUse := t.SeatsUsed + t.PendingInvitations
	if seatCap < inUse {
		details["seatsInUse"] = inUse
	}
	return &PlanChange{
		PlanID: plan.ID, SeatCap: seatCap, PlanSeatCap: plan.SeatCap, SeatCapHeld: held, SeatsInUse: inUse,
		History: tenancy.HistoryEntry{
			From: t.Status, To: t.Status, Actor: actor, Reason: reason, RequestID: e.ID, At: now,
			PlanID: plan.ID, PreviousPlanID: t.PlanID, SeatCap: seatCap, PreviousSeatCap: t.SeatCap,
		},
		Audit: tenancy.AuditEntry{
			Action: tenancy.AuditPlanChange, Actor: actor, Reason: reason, RequestID: e.ID, At: now, Details: details,
			Before: map[string]any{"planId": t.PlanID, "seatCap": t.SeatCap},
			After:  map[string]any{"planId": plan.ID, "seatCap": seatCap},
		},
	}
}

// decideStatus is the part of decide that moves the tenant's status (or queues the trial-ending
// email), on the decision d prepared so far.
func (s *Service) decideStatus(ctx context.Context, e Event, eff effect, t *tenancy.Tenant, d Decision, now time.Time) (Decision, error) {
	if eff.trialEnding {
		if t.Status != rules.StatusTrial {
			d.Outcome, d.Detail = OutcomeNoChange, "the tenant is not in trial; no trial-ending email"
			return d, nil
		}
		end := e.TrialEnd
		if end.IsZero() {
			end = t.TrialEndsAt
		}
		d.Outbox = append(d.Outbox, tenancy.NewOutboxEntry(t.ID, kinds.TrialEndingEmail{TrialEndsAt: end}, t.ID+"-"+e.ID, now))
		d.Outcome = OutcomeApplied
		return d, nil
	}
	if eff.to != t.BillingStatus {
		d.BillingStatus = eff.to
	}
	switch {
	case eff.to == "":
		d.Outcome, d.Detail = OutcomeNoChange, fmt.Sprintf("subscription status %q moves no tenant", e.SubscriptionStatus)
		return d, nil
	case t.HeldByStaff():
		// Billing moves only what billing caused: a staff suspension stays until staff lift it,
		// and the lift then restores what billing asks for now (BillingStatus).
		d.Outcome = OutcomeHeldByStaff
		d.Detail = fmt.Sprintf("suspended by staff; billing's %s is kept for when the suspension is lifted", eff.to)
		return d, nil
	case eff.to == t.Status:
		d.Outcome = OutcomeNoChange
		return d, nil
	}
	reason := fmt.Sprintf("Stripe event %s (%s)", e.Type, e.ID)
	ch, err := s.lifecycle.DecideTransition(ctx, *t, eff.to, tenancy.Actor{System: WebhookActor}, tenancy.CauseBilling, reason)
	if errors.Is(err, errs.ErrInvalidTransition) {
		d.Outcome, d.Detail = OutcomeRefused, err.Error()
		return d, nil
	}
	if err != nil {
		return Decision{}, err
	}
	if eff.to == rules.StatusPastDue {
		// Once per move into past_due: the subscription update and the invoice failure that
		// Stripe sends for one failed payment do not make two emails.
		var mail kinds.PaymentFailedEmail
		if e.InvoiceID != "" {
			mail = kinds.PaymentFailedEmail{InvoiceID: e.InvoiceID, AmountDue: &kinds.Money{Minor: e.AmountDue, Currency: e.Currency}}
		}
		ch.Outbox = append(ch.Outbox, tenancy.NewOutboxEntry(t.ID, mail, t.ID+"-"+e.ID, now))
	}
	ch.BillingStatus = eff.to
	d.Change = &ch
	d.Outcome = OutcomeApplied
	return d, nil
}

// adopt makes e's subscription the tenant's current one. The record is then set up, whoever
// created the subscription (the setup handler, whose answer may arrive after Stripe's event, or
// Checkout).
func (s *Service) adopt(rec *Record, e Event) {
	rec.SubscriptionID = e.SubscriptionID
	rec.SubscriptionSince = e.Created
	rec.Status = RecordReady
	if rec.CustomerID == "" {
		rec.CustomerID = e.CustomerID
	}
	if _, ok := s.plans.Get(e.PlanID); ok {
		rec.PlanID = e.PlanID
	}
}
