package billing

// The event decision is pure (it only computes on what the transaction read), so it is tested
// here without Firestore, with the real lifecycle decision and plan catalog. tests/billing_test.go
// runs the same paths end to end against the emulator.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

func newDecider(t *testing.T) (*Service, *clock.Manual) {
	t.Helper()
	catalog, err := plans.Default()
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	// The lifecycle's decision needs no store; only its transaction would.
	lc := tenancy.NewService(nil, catalog, clk, nil, tenancy.Config{})
	s, err := NewService(Deps{Lifecycle: lc, Plans: catalog, Clock: clk}, Config{AppURL: "http://localhost:5173"})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestEveryMappedEventType(t *testing.T) {
	for _, c := range []struct {
		typ, subStatus string
		to             rules.Status
		trialEnding    bool
	}{
		{EventSubscriptionCreated, SubTrialing, rules.StatusTrial, false},
		{EventSubscriptionUpdated, SubTrialing, rules.StatusTrial, false},
		{EventSubscriptionUpdated, SubActive, rules.StatusActive, false},
		{EventSubscriptionUpdated, SubPastDue, rules.StatusPastDue, false},
		{EventSubscriptionUpdated, SubUnpaid, rules.StatusSuspended, false},
		{EventSubscriptionUpdated, SubCanceled, rules.StatusCancelled, false},
		{EventSubscriptionUpdated, SubIncomplete, "", false},
		{EventSubscriptionUpdated, SubPaused, "", false},
		{EventSubscriptionDeleted, SubCanceled, rules.StatusCancelled, false},
		{EventInvoicePaid, "", rules.StatusActive, false},
		{EventInvoicePaymentFailed, "", rules.StatusPastDue, false},
		{EventTrialWillEnd, SubTrialing, "", true},
	} {
		eff, known := effectOf(Event{Type: c.typ, SubscriptionStatus: c.subStatus})
		if !known || eff.to != c.to || eff.trialEnding != c.trialEnding {
			t.Errorf("%s (%s): %+v known=%v, want to=%q trialEnding=%v", c.typ, c.subStatus, eff, known, c.to, c.trialEnding)
		}
	}
	for _, typ := range []string{"charge.succeeded", "invoice.created", "customer.created", ""} {
		if _, known := effectOf(Event{Type: typ}); known {
			t.Errorf("%q is mapped; only the documented types are", typ)
		}
	}
}

func tenantIn(status rules.Status) *tenancy.Tenant {
	return &tenancy.Tenant{ID: "T1", Status: status, PlanID: "trial", TrialEndsAt: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)}
}

func decideFor(t *testing.T, s *Service, e Event, tn *tenancy.Tenant, rec *Record) Decision {
	t.Helper()
	eff, known := effectOf(e)
	if !known {
		t.Fatalf("%s is not mapped", e.Type)
	}
	d, err := s.decide(context.Background(), e, eff, tn, rec)
	if err != nil {
		t.Fatalf("decide %s: %v", e.Type, err)
	}
	return d
}

func TestDecide(t *testing.T) {
	s, clk := newDecider(t)
	t0 := clk.Now().Add(-time.Hour)
	ev := func(id, typ, sub, status string, at time.Time) Event {
		return Event{ID: id, Type: typ, Created: at, SubscriptionID: sub, CustomerID: "cus_1", TenantID: "T1", SubscriptionStatus: status, InvoiceID: "in_" + id, AmountDue: 4900, Currency: "usd"}
	}

	t.Run("the first event adopts its subscription and moves the tenant", func(t *testing.T) {
		d := decideFor(t, s, ev("e1", EventInvoicePaymentFailed, "sub_1", "", t0), tenantIn(rules.StatusActive), nil)
		if d.Outcome != OutcomeApplied || d.Change == nil || d.Change.Status != rules.StatusPastDue {
			t.Fatalf("%+v", d)
		}
		if d.Record.SubscriptionID != "sub_1" || d.Record.CustomerID != "cus_1" || d.Record.StripeStatus != SubPastDue ||
			!d.Record.EventClock["sub_1"].Equal(t0) || d.Record.Status != RecordReady {
			t.Errorf("record %+v", d.Record)
		}
		h := d.Change.History
		if h.Actor.System != WebhookActor || h.From != rules.StatusActive || h.To != rules.StatusPastDue || !strings.Contains(h.Reason, "e1") {
			t.Errorf("history %+v", h)
		}
		if d.Change.Audit == nil || d.Change.Audit.Actor.System != WebhookActor {
			t.Errorf("audit %+v", d.Change.Audit)
		}
		var mail *tenancy.OutboxEntry
		for i, o := range d.Change.Outbox {
			if o.Kind == (kinds.PaymentFailedEmail{}).Kind() {
				mail = &d.Change.Outbox[i]
			}
		}
		if mail == nil || mail.Payload["amountDue"] != int64(4900) || mail.Payload["currency"] != "usd" {
			t.Errorf("payment-failed email entry: %+v", d.Change.Outbox)
		}
	})

	rec := &Record{TenantID: "T1", PlanID: "trial", SubscriptionID: "sub_1", SubscriptionSince: t0, EventClock: map[string]time.Time{"sub_1": t0}}

	t.Run("an older event is stale and leaves the record alone", func(t *testing.T) {
		d := decideFor(t, s, ev("e0", EventInvoicePaid, "sub_1", "", t0.Add(-time.Second)), tenantIn(rules.StatusPastDue), rec)
		if d.Outcome != OutcomeStale || d.Change != nil || d.Record != nil {
			t.Errorf("%+v", d)
		}
	})
	t.Run("an event of the same second is applied", func(t *testing.T) {
		d := decideFor(t, s, ev("e2", EventInvoicePaid, "sub_1", "", t0), tenantIn(rules.StatusPastDue), rec)
		if d.Outcome != OutcomeApplied || d.Change.Status != rules.StatusActive {
			t.Errorf("%+v", d)
		}
		if len(rec.EventClock) != 1 || !rec.EventClock["sub_1"].Equal(t0) {
			t.Errorf("decide changed the record it was given: %+v", rec)
		}
	})
	t.Run("the same status is no change, but recorded", func(t *testing.T) {
		d := decideFor(t, s, ev("e3", EventSubscriptionUpdated, "sub_1", SubActive, t0.Add(time.Minute)), tenantIn(rules.StatusActive), rec)
		if d.Outcome != OutcomeNoChange || d.Change != nil || d.Record == nil || d.Record.LastEventID != "e3" {
			t.Errorf("%+v", d)
		}
	})
	t.Run("a move the table refuses is acknowledged with the reason", func(t *testing.T) {
		d := decideFor(t, s, ev("e4", EventInvoicePaymentFailed, "sub_1", "", t0.Add(time.Minute)), tenantIn(rules.StatusTrialExpired), rec)
		if d.Outcome != OutcomeRefused || d.Change != nil || !strings.Contains(d.Detail, "TRIAL_EXPIRED") || d.Record == nil {
			t.Errorf("%+v", d)
		}
	})
	t.Run("another subscription's update moves nothing", func(t *testing.T) {
		d := decideFor(t, s, ev("e5", EventSubscriptionUpdated, "sub_2", SubUnpaid, t0.Add(time.Minute)), tenantIn(rules.StatusActive), rec)
		if d.Outcome != OutcomeOtherSubscription || d.Change != nil || d.Record.SubscriptionID != "sub_1" {
			t.Errorf("%+v", d)
		}
	})
	t.Run("a newer subscription supersedes the current one", func(t *testing.T) {
		e := ev("e6", EventSubscriptionCreated, "sub_2", SubActive, t0.Add(time.Minute))
		e.PlanID = "pro"
		d := decideFor(t, s, e, tenantIn(rules.StatusTrialExpired), rec)
		if d.Outcome != OutcomeApplied || d.Change.Status != rules.StatusActive || d.Record.SubscriptionID != "sub_2" || d.Record.PlanID != "pro" {
			t.Fatalf("%+v", d)
		}
		if len(d.Outbox) != 1 || d.Outbox[0].Kind != (kinds.CancelSuperseded{}).Kind() || d.Outbox[0].Payload["subscriptionId"] != "sub_1" {
			t.Errorf("outbox %+v", d.Outbox)
		}
	})
	t.Run("trial_will_end queues the email only in trial", func(t *testing.T) {
		e := ev("e7", EventTrialWillEnd, "sub_1", SubTrialing, t0.Add(time.Minute))
		d := decideFor(t, s, e, tenantIn(rules.StatusTrial), rec)
		if d.Outcome != OutcomeApplied || len(d.Outbox) != 1 || d.Outbox[0].Kind != (kinds.TrialEndingEmail{}).Kind() || d.Change != nil {
			t.Errorf("in trial: %+v", d)
		}
		d = decideFor(t, s, e, tenantIn(rules.StatusActive), rec)
		if d.Outcome != OutcomeNoChange || len(d.Outbox) != 0 {
			t.Errorf("active: %+v", d)
		}
	})
	t.Run("an invoice without a subscription is ignored", func(t *testing.T) {
		d := decideFor(t, s, ev("e8", EventInvoicePaid, "", "", t0.Add(time.Minute)), tenantIn(rules.StatusPastDue), rec)
		if d.Outcome != OutcomeIgnored || d.Change != nil || d.Record != nil {
			t.Errorf("%+v", d)
		}
	})
	t.Run("a missing tenant is unmatched", func(t *testing.T) {
		d := decideFor(t, s, ev("e9", EventInvoicePaid, "sub_1", "", t0.Add(time.Minute)), nil, nil)
		if d.Outcome != OutcomeUnmatched || d.Record != nil {
			t.Errorf("%+v", d)
		}
	})
}

func TestDecidePlanFollowsThePrice(t *testing.T) {
	s, clk := newDecider(t)
	t0 := clk.Now().Add(-time.Hour)
	rec := &Record{TenantID: "T1", PlanID: "trial", SubscriptionID: "sub_1", SubscriptionSince: t0, EventClock: map[string]time.Time{"sub_1": t0}}
	ev := func(id, sub, status, price string, at time.Time) Event {
		return Event{ID: id, Type: EventSubscriptionUpdated, Created: at, SubscriptionID: sub, CustomerID: "cus_1", TenantID: "T1", SubscriptionStatus: status, PriceID: price}
	}
	trialTenant := func() *tenancy.Tenant {
		tn := tenantIn(rules.StatusTrial)
		tn.SeatCap, tn.SeatsUsed = 5, 1
		return tn
	}

	t.Run("a new price moves the plan and the seat cap, audited by the webhook", func(t *testing.T) {
		d := decideFor(t, s, ev("e1", "sub_1", SubTrialing, "price_tenantry_pro", t0.Add(time.Minute)), trialTenant(), rec)
		if d.Outcome != OutcomeApplied || d.Change != nil || d.Plan == nil || d.Plan.PlanID != "pro" || d.Plan.SeatCap != 50 || d.Plan.SeatCapHeld {
			t.Fatalf("%+v plan %+v", d, d.Plan)
		}
		if d.Record.PlanID != "pro" {
			t.Errorf("billing record plan %q, want pro", d.Record.PlanID)
		}
		h, a := d.Plan.History, d.Plan.Audit
		if h.From != rules.StatusTrial || h.To != rules.StatusTrial || h.PreviousPlanID != "trial" || h.PlanID != "pro" ||
			h.PreviousSeatCap != 5 || h.SeatCap != 50 || h.Actor.System != WebhookActor || h.RequestID != "e1" {
			t.Errorf("history %+v", h)
		}
		if a.Action != tenancy.AuditPlanChange || a.Actor.System != WebhookActor || a.RequestID != "e1" ||
			a.Before["planId"] != "trial" || a.Before["seatCap"] != 5 || a.After["planId"] != "pro" || a.After["seatCap"] != 50 {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("with a status change too, the plan's history names the new status", func(t *testing.T) {
		d := decideFor(t, s, ev("e2", "sub_1", SubActive, "price_tenantry_pro", t0.Add(time.Minute)), trialTenant(), rec)
		if d.Outcome != OutcomeApplied || d.Change == nil || d.Change.Status != rules.StatusActive || d.Plan == nil ||
			d.Plan.History.From != rules.StatusActive || d.Plan.History.To != rules.StatusActive {
			t.Fatalf("%+v plan %+v", d, d.Plan)
		}
	})
	t.Run("an unknown price changes nothing on the tenant", func(t *testing.T) {
		d := decideFor(t, s, ev("e3", "sub_1", SubTrialing, "price_someone_elses", t0.Add(time.Minute)), trialTenant(), rec)
		if d.Outcome != OutcomeNoChange || d.Plan != nil || d.UnknownPriceID != "price_someone_elses" || d.Record.PlanID != "trial" {
			t.Errorf("%+v", d)
		}
	})
	t.Run("the tenant's own plan's price is no plan change", func(t *testing.T) {
		d := decideFor(t, s, ev("e4", "sub_1", SubTrialing, "price_tenantry_trial", t0.Add(time.Minute)), trialTenant(), rec)
		if d.Outcome != OutcomeNoChange || d.Plan != nil {
			t.Errorf("%+v", d)
		}
	})
	t.Run("a stale event's price is not applied", func(t *testing.T) {
		d := decideFor(t, s, ev("e5", "sub_1", SubTrialing, "price_tenantry_pro", t0.Add(-time.Second)), trialTenant(), rec)
		if d.Outcome != OutcomeStale || d.Plan != nil {
			t.Errorf("%+v", d)
		}
	})
	t.Run("another subscription's price is not applied", func(t *testing.T) {
		d := decideFor(t, s, ev("e6", "sub_2", SubActive, "price_tenantry_pro", t0.Add(time.Minute)), trialTenant(), rec)
		if d.Outcome != OutcomeOtherSubscription || d.Plan != nil {
			t.Errorf("%+v", d)
		}
	})
	t.Run("a contract keeps its higher seat cap", func(t *testing.T) {
		tn := trialTenant()
		tn.PlanID, tn.SeatCap = "starter", 75
		tn.Contract = &tenancy.Contract{PlanID: "starter", SeatCap: 75}
		d := decideFor(t, s, ev("e7", "sub_1", SubActive, "price_tenantry_pro", t0.Add(time.Minute)), tn, rec)
		if d.Plan == nil || d.Plan.PlanID != "pro" || d.Plan.SeatCap != 75 {
			t.Errorf("plan %+v, want pro with the contracted 75 seats", d.Plan)
		}
	})
	t.Run("a leftover price below the contract's plan changes nothing", func(t *testing.T) {
		// A converted evaluation still has its trial subscription; Stripe's routine update at the
		// trial's end carries the trial price.
		tn := trialTenant()
		tn.PlanID, tn.SeatCap = "pro", 40
		tn.Contract = &tenancy.Contract{PlanID: "pro", SeatCap: 40}
		d := decideFor(t, s, ev("e7b", "sub_1", SubActive, "price_tenantry_trial", t0.Add(time.Minute)), tn, rec)
		if d.Plan != nil || d.BelowContractPlanID != "trial" {
			t.Errorf("plan %+v, below-contract %q; want the contract's pro plan kept", d.Plan, d.BelowContractPlanID)
		}
	})
	t.Run("a smaller plan never takes seats in use", func(t *testing.T) {
		tn := tenantIn(rules.StatusActive)
		tn.PlanID, tn.SeatCap, tn.SeatsUsed, tn.PendingInvitations = "pro", 50, 9, 3
		d := decideFor(t, s, ev("e8", "sub_1", SubActive, "price_tenantry_starter", t0.Add(time.Minute)), tn, rec)
		if d.Plan == nil || d.Plan.PlanID != "starter" || d.Plan.SeatCap != 12 || !d.Plan.SeatCapHeld || d.Plan.PlanSeatCap != 10 {
			t.Errorf("plan %+v, want starter with the seat cap held at the 12 seats in use", d.Plan)
		}
	})
	t.Run("a cancelled tenant's plan stays", func(t *testing.T) {
		d := decideFor(t, s, ev("e9", "sub_1", SubActive, "price_tenantry_pro", t0.Add(time.Minute)), tenantIn(rules.StatusCancelled), rec)
		if d.Plan != nil {
			t.Errorf("plan %+v", d.Plan)
		}
	})
}
