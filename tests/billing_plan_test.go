package tests

// The tenant's plan follows its Stripe subscription's price (customer.subscription.created and
// .updated, after Checkout or a plan change in the billing portal), in the webhook's transaction;
// and converting an evaluation tenant to a contract moves its billing record's plan too.

import (
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/testenv"
)

// priceEvent is a subscription event of the tenant's subscription whose first item has priceID.
func (b billingTenant) priceEvent(typ, status, priceID string, at time.Time) []byte {
	return testenv.StripeEvent(testenv.UniqueID("evt_"), typ, at,
		testenv.WithPrice(testenv.StripeSubscription(b.sub, b.cus, b.id, status), priceID))
}

// planOf is tenants/{id}'s planId and seatCap, and billing/{id}'s planId.
func planOf(t testing.TB, tenantID string) (planID string, seatCap int64, billingPlanID string) {
	t.Helper()
	d := mustDoc(t, "tenants/"+tenantID)
	planID, _ = d["planId"].(string)
	seatCap, _ = d["seatCap"].(int64)
	billingPlanID, _ = mustDoc(t, "billing/"+tenantID)["planId"].(string)
	return planID, seatCap, billingPlanID
}

func TestSubscriptionPriceMovesTheTenantsPlan(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	s.mustDeliver(t, bt.priceEvent(billing.EventSubscriptionCreated, "trialing", "price_tenantry_trial", clk.tick()), billing.OutcomeNoChange)
	if p, c, bp := planOf(t, bt.id); p != "trial" || c != 5 || bp != "trial" {
		t.Fatalf("before the upgrade: tenant plan %s seatCap %d, billing plan %s; want trial, 5, trial", p, c, bp)
	}

	old := clk.tick()
	up := bt.priceEvent(billing.EventSubscriptionUpdated, "trialing", "price_tenantry_pro", clk.tick())
	s.mustDeliver(t, up, billing.OutcomeApplied)
	if p, c, bp := planOf(t, bt.id); p != "pro" || c != 50 || bp != "pro" {
		t.Fatalf("after the upgrade: tenant plan %s seatCap %d, billing plan %s; want pro, 50, pro", p, c, bp)
	}
	if got := tenantStatus(t, bt.id); got != "trial" {
		t.Errorf("status %s, want trial (the subscription is still trialing)", got)
	}
	// GraphQL shows it, and the owner can invite beyond the trial's 5 seats.
	if g := tenantAs(t, s, bt.owner.IDToken, bt.id); g.Plan.ID != "pro" || g.SeatCap != 50 {
		t.Errorf("Tenant over GraphQL: plan %s seatCap %d, want pro and 50", g.Plan.ID, g.SeatCap)
	}
	for range 6 {
		s.mustInvite(t, bt.owner.IDToken, bt.id, freshEmail("pro"), "MEMBER")
	}
	// Recorded like a lifecycle change: history and audit by the webhook, request id = event id.
	id := eventID(t, up)
	a := auditOf(t, bt.id, "tenant.plan_change")
	before, _ := a["before"].(map[string]any)
	after, _ := a["after"].(map[string]any)
	if a["actorSystem"] != billing.WebhookActor || a["requestId"] != id || before["planId"] != "trial" || before["seatCap"] != int64(5) ||
		after["planId"] != "pro" || after["seatCap"] != int64(50) {
		t.Errorf("plan_change audit entry: %s", jsonString(a))
	}
	var h map[string]any
	for _, e := range historyOf(t, bt.id) {
		if e["requestId"] == id {
			h = e
		}
	}
	if h == nil || h["planId"] != "pro" || h["previousPlanId"] != "trial" || h["seatCap"] != int64(50) || h["previousSeatCap"] != int64(5) ||
		h["from"] != "trial" || h["to"] != "trial" || h["actorSystem"] != billing.WebhookActor {
		t.Errorf("plan change history entry: %s", jsonString(h))
	}

	// A late event with the old price is stale and does not revert the plan.
	s.mustDeliver(t, bt.priceEvent(billing.EventSubscriptionUpdated, "trialing", "price_tenantry_trial", old), billing.OutcomeStale)
	if p, c, bp := planOf(t, bt.id); p != "pro" || c != 50 || bp != "pro" {
		t.Errorf("after a stale event with the old price: tenant plan %s seatCap %d, billing plan %s; want pro, 50, pro", p, c, bp)
	}
	// Paying moves the status; the same price is no second plan change.
	s.mustDeliver(t, bt.priceEvent(billing.EventSubscriptionUpdated, "active", "price_tenantry_pro", clk.tick()), billing.OutcomeApplied)
	if got := tenantStatus(t, bt.id); got != "active" {
		t.Errorf("status %s, want active", got)
	}
	if n := countWhere(t, "tenants/"+bt.id+"/audit", "action", "tenant.plan_change"); n != 1 {
		t.Errorf("%d plan_change audit entries, want 1", n)
	}
}

func TestUnknownSubscriptionPriceChangesNoPlan(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	ev := bt.priceEvent(billing.EventSubscriptionUpdated, "trialing", "price_not_in_the_catalog", clk.tick())
	s.mustDeliver(t, ev, billing.OutcomeNoChange)
	if p, c, bp := planOf(t, bt.id); p != "trial" || c != 5 || bp != "trial" {
		t.Errorf("after an unknown price: tenant plan %s seatCap %d, billing plan %s; want trial, 5, trial", p, c, bp)
	}
	if n := countWhere(t, "tenants/"+bt.id+"/audit", "action", "tenant.plan_change"); n != 0 {
		t.Errorf("%d plan_change audit entries, want none", n)
	}
}

func TestContractTenantKeepsItsContractedSeatCapOnAPlanChange(t *testing.T) {
	t.Parallel()
	s := shared(t)
	clk := newEventClock()
	bt := contractBillingTenant(t, s, "Seats Co", "starter", 75)
	s.mustDeliver(t, bt.priceEvent(billing.EventSubscriptionUpdated, "trialing", "price_tenantry_pro", clk.tick()), billing.OutcomeApplied)
	if pl, c, _ := planOf(t, bt.id); pl != "pro" || c != 75 {
		t.Errorf("contract tenant after pro: plan %s seatCap %d, want pro with the contracted 75", pl, c)
	}
	// A newer event carrying a price below the contracted plan (the trial subscription a
	// converted evaluation keeps) leaves the plan alone.
	s.mustDeliver(t, bt.priceEvent(billing.EventSubscriptionUpdated, "active", "price_tenantry_trial", clk.tick()), billing.OutcomeApplied)
	if pl, c, _ := planOf(t, bt.id); pl != "pro" || c != 75 {
		t.Errorf("contract tenant after a trial-priced update: plan %s seatCap %d, want pro with 75 kept", pl, c)
	}
}

func TestConvertingAnEvaluationMovesTheBillingPlan(t *testing.T) {
	t.Parallel()
	s := shared(t)
	rep := staffUser(t, "sales")
	owner, id := ownerAndTenant(t, s)
	if _, _, bp := planOf(t, id); bp != "trial" {
		t.Fatalf("billing plan before the conversion: %s, want trial", bp)
	}
	in := contractInputs(uniqueKey(), "Convert Co", owner.Email, "", testenv.UniqueID("OPP-"), "enterprise", 600, goLive(30))
	in["existingTenantId"] = id
	s.mustProvisionContract(t, rep.IDToken, in)
	if p, c, bp := planOf(t, id); p != "enterprise" || c != 600 || bp != "enterprise" {
		t.Errorf("after the conversion: tenant plan %s seatCap %d, billing plan %s; want enterprise, 600, enterprise", p, c, bp)
	}
}
