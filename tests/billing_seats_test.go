package tests

// Seat quantities: on a per-seat plan (team), the subscription item's quantity (the seats bought
// in the billing portal) sets the tenant's seat cap, with a contract's seat cap as the floor.
// Fewer seats than in use remove nobody and refuse new invitations, saying why.

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/testenv"
)

const teamPrice = "price_tenantry_team" // the per-seat plan's price

// seatsEvent is a subscription event of the tenant's subscription on the per-seat price with
// quantity seats bought, about customer cus.
func (b billingTenant) seatsEvent(typ, status, cus string, quantity int, at time.Time) []byte {
	return testenv.StripeEvent(testenv.UniqueID("evt_"), typ, at,
		testenv.WithPriceQuantity(testenv.StripeSubscription(b.sub, cus, b.id, status), teamPrice, quantity))
}

func seatCapOf(t testing.TB, tenantID string) int64 {
	t.Helper()
	_, c, _ := planOf(t, tenantID)
	return c
}

func TestSeatQuantitySetsTheSeatCap(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 12, clk.tick()), billing.OutcomeApplied)
	if p, c, bp := planOf(t, bt.id); p != "team" || c != 12 || bp != "team" {
		t.Fatalf("after buying 12 seats: plan %s seatCap %d, billing plan %s; want team, 12, team", p, c, bp)
	}
	if g := tenantAs(t, s, bt.owner.IDToken, bt.id); g.SeatCap != 12 {
		t.Errorf("Tenant.seatCap over GraphQL = %d, want 12", g.SeatCap)
	}
	a := auditOf(t, bt.id, "tenant.plan_change")
	if details, _ := a["details"].(map[string]any); details["quantity"] != int64(12) || !strings.Contains(a["reason"].(string), "12 seats bought") {
		t.Errorf("plan_change audit entry should record the 12 seats bought: %s", jsonString(a))
	}
	// The same seats again (a routine update) changes nothing more.
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 12, clk.tick()), billing.OutcomeNoChange)
	if n := countWhere(t, "tenants/"+bt.id+"/audit", "action", "tenant.plan_change"); n != 1 {
		t.Errorf("%d plan_change audit entries, want 1", n)
	}
	// Another customer's event about this tenant changes nothing; a staff suspension still holds.
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "active", testenv.UniqueID("cus_"), 40, clk.tick()), billing.OutcomeOtherCustomer)
	if c := seatCapOf(t, bt.id); c != 12 {
		t.Errorf("seatCap after another customer's event = %d, want 12", c)
	}
	support := staffUser(t, "support")
	if got, code := setStatusAs(t, s, support.IDToken, bt.id, "SUSPENDED"); got != "SUSPENDED" {
		t.Fatalf("staff suspension: %s %s", got, code)
	}
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 9, clk.tick()), billing.OutcomeHeldByStaff)
	if st := tenantStatus(t, bt.id); st != "suspended" {
		t.Errorf("status after a seats event during a staff suspension = %s, want suspended", st)
	}
}

func TestFewerSeatsThanMembersBlocksInvitationsAndRemovesNoOne(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	for range 4 { // with the owner, 5 members: the trial plan's 5 seats
		join(t, s, bt.owner.IDToken, bt.id, "MEMBER")
	}
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 3, clk.tick()), billing.OutcomeApplied)
	d := mustDoc(t, "tenants/"+bt.id)
	if d["seatCap"] != int64(3) || d["seatsUsed"] != int64(5) {
		t.Fatalf("after cutting to 3 seats: seatCap %v seatsUsed %v; want 3 and 5", d["seatCap"], d["seatsUsed"])
	}
	if members, err := fs(t).Collection("tenants/" + bt.id + "/members").Documents(fsCtx(t)).GetAll(); err != nil || len(members) != 5 {
		t.Errorf("%d members after cutting to 3 seats (%v), want all 5 kept", len(members), err)
	}
	_, errs := s.invite(t, bt.owner.IDToken, bt.id, freshEmail("over"), "MEMBER")
	e := wantCode(t, errs, "SEAT_LIMIT_REACHED", "")
	for _, want := range []string{"5 seats are in use", "seat cap is 3", "billing portal", "remove a member"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q should say %q", e.Message, want)
		}
	}
	// Buying seats opens invitations again.
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 6, clk.tick()), billing.OutcomeApplied)
	s.mustInvite(t, bt.owner.IDToken, bt.id, freshEmail("bought"), "MEMBER")
}

func TestContractSeatCapIsTheFloorOfBoughtSeats(t *testing.T) {
	t.Parallel()
	s := shared(t)
	clk := newEventClock()
	bt := contractBillingTenant(t, s, "Floor Co", "starter", 20)
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "trialing", bt.cus, 12, clk.tick()), billing.OutcomeApplied)
	if pl, c, _ := planOf(t, bt.id); pl != "team" || c != 20 {
		t.Errorf("contract of 20 seats with 12 bought: plan %s seatCap %d, want team with the contracted 20", pl, c)
	}
	s.mustDeliver(t, bt.seatsEvent(billing.EventSubscriptionUpdated, "trialing", bt.cus, 30, clk.tick()), billing.OutcomeApplied)
	if c := seatCapOf(t, bt.id); c != 30 {
		t.Errorf("contract of 20 seats with 30 bought: seatCap %d, want 30", c)
	}
}

func TestShuffledSeatEventsEndInTheNewestQuantity(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	stripeMock := testenv.StripeMock(t)
	events := [][]byte{
		bt.seatsEvent(billing.EventSubscriptionCreated, "trialing", bt.cus, 4, clk.tick()),
		bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 12, clk.tick()),
		bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 7, clk.tick()),
		bt.seatsEvent(billing.EventSubscriptionUpdated, "active", bt.cus, 9, clk.tick()),
	}
	var deliveries [][]byte
	for _, e := range events {
		deliveries = append(deliveries, e, e, e)
	}
	rand.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	var wg sync.WaitGroup
	for _, p := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body, err := s.tryDeliver(stripeMock.Sign(p, time.Time{}), p); err != nil || code != http.StatusOK {
				t.Errorf("delivery: HTTP %d %s %v", code, body, err)
			}
		}()
	}
	wg.Wait()
	if c := seatCapOf(t, bt.id); c != 9 {
		t.Errorf("seatCap after shuffled redeliveries = %d, want the newest event's 9", c)
	}
	if n := countWhere(t, "stripeEvents", "tenantId", bt.id); n != len(events) {
		t.Errorf("%d stripeEvents records for %d events delivered 3 times each", n, len(events))
	}
}
