package tests

// Past-due grace over HTTP: a failed payment on a plan with grace leaves writes open (the API and
// the rules, with a banner) until the stored graceEndsAt, closes them from that instant without
// any job, and a paid invoice removes the grace. A contract may set its own grace.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/testenv"
)

const graceQuery = `query($id: ID!) { tenant(id: $id) { status graceEndsAt plan { id graceDays } access { canWrite reason } } }`

type graceView struct {
	Status      string     `json:"status"`
	GraceEndsAt *time.Time `json:"graceEndsAt"`
	Plan        struct {
		ID        string `json:"id"`
		GraceDays int    `json:"graceDays"`
	} `json:"plan"`
	Access struct {
		CanWrite bool    `json:"canWrite"`
		Reason   *string `json:"reason"`
	} `json:"access"`
}

func graceOf(t testing.TB, s *testServer, token, tenantID string) graceView {
	t.Helper()
	st, data, errs := s.gql(t, token, graceQuery, map[string]any{"id": tenantID})
	var d struct {
		Tenant graceView `json:"tenant"`
	}
	mustData(t, st, data, errs, &d)
	return d.Tenant
}

func TestPastDueGraceKeepsWritesOpenUntilItEnds(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	member := join(t, s, bt.owner.IDToken, bt.id, "MEMBER")
	// The customer pays for the enterprise plan, which has 7 days of grace.
	s.mustDeliver(t, bt.priceEvent(billing.EventSubscriptionUpdated, "active", "price_tenantry_enterprise", clk.tick()), billing.OutcomeApplied)

	before := time.Now()
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()), billing.OutcomeApplied)
	g := graceOf(t, s, member.IDToken, bt.id)
	if g.Status != "PAST_DUE" || g.Plan.GraceDays != 7 || g.GraceEndsAt == nil || !g.Access.CanWrite || g.Access.Reason == nil {
		t.Fatalf("past_due in grace over GraphQL: %+v; want PAST_DUE, writable, a graceEndsAt and a banner", g)
	}
	if end := *g.GraceEndsAt; end.Before(before.AddDate(0, 0, 7).Add(-time.Minute)) || end.After(time.Now().AddDate(0, 0, 7)) {
		t.Errorf("graceEndsAt %s, want 7 days after the failed payment", end)
	}
	if !strings.Contains(*g.Access.Reason, "payment failed") || !strings.Contains(*g.Access.Reason, g.GraceEndsAt.UTC().Format("January 2, 2006")) {
		t.Errorf("banner %q should say the payment failed and until when editing stays open", *g.Access.Reason)
	}
	if code := restWrite(t, bt.id, member.IDToken); code != http.StatusOK {
		t.Errorf("member's REST write in grace: HTTP %d, want 200 from the rules", code)
	}
	s.mustInvite(t, bt.owner.IDToken, bt.id, freshEmail("grace"), "MEMBER")

	// The grace ends: the stored time passes (moved back here, as the clock would move on), and
	// writes close at once in both, with no job in between.
	testenv.UpdateDoc(t, fs(t), "tenants/"+bt.id, map[string]any{"graceEndsAt": time.Now().Add(-time.Second)})
	if code := restWrite(t, bt.id, member.IDToken); code != http.StatusForbidden {
		t.Errorf("member's REST write once the grace is over: HTTP %d, want 403 from the rules", code)
	}
	if g := graceOf(t, s, member.IDToken, bt.id); g.Access.CanWrite || g.Access.Reason == nil || !strings.Contains(*g.Access.Reason, "update your payment method") {
		t.Errorf("access once the grace is over: %+v; want read-only with the past-due banner", g.Access)
	}
	_, errs := s.invite(t, bt.owner.IDToken, bt.id, freshEmail("over"), "MEMBER")
	wantCode(t, errs, "TENANT_READ_ONLY", "")

	// Payment recovers: the grace is gone, so the next failure starts a new one.
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeApplied)
	if _, has := mustDoc(t, "tenants/"+bt.id)["graceEndsAt"]; has {
		t.Error("graceEndsAt is still on the tenant after invoice.paid")
	}
	if g := graceOf(t, s, member.IDToken, bt.id); g.Status != "ACTIVE" || g.GraceEndsAt != nil || !g.Access.CanWrite || g.Access.Reason != nil {
		t.Errorf("after invoice.paid: %+v; want ACTIVE, writable, no grace and no banner", g)
	}
}

func TestPastDueWithoutGraceClosesWritesOnTheFirstFailure(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t) // the trial plan: graceDays 0
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()), billing.OutcomeApplied)
	g := graceOf(t, s, bt.owner.IDToken, bt.id)
	if g.Status != "PAST_DUE" || g.Plan.GraceDays != 0 || g.GraceEndsAt != nil || g.Access.CanWrite {
		t.Errorf("past_due on a plan without grace: %+v; want read-only at once", g)
	}
	if _, has := mustDoc(t, "tenants/"+bt.id)["graceEndsAt"]; has {
		t.Error("a plan without grace wrote graceEndsAt")
	}
}

func TestContractGraceDays(t *testing.T) {
	t.Parallel()
	s := shared(t)
	rep := staffUser(t, "sales")
	in := contractInputs(uniqueKey(), "Grace Co", freshEmail("admin"), "", testenv.UniqueID("OPP-"), "starter", 20, goLive(30))
	in["graceDays"] = 91
	_, errs := s.provisionContract(t, rep.IDToken, in)
	if e := wantCode(t, errs, "BAD_USER_INPUT", "graceDays"); !strings.Contains(e.Message, "0 to 90") {
		t.Errorf("message %q should give the valid range", e.Message)
	}
	in["graceDays"] = 2
	p := s.mustProvisionContract(t, rep.IDToken, in)
	contract, _ := mustDoc(t, "tenants/"+p.Tenant.ID)["contract"].(map[string]any)
	if contract["graceDays"] != int64(2) {
		t.Errorf("contract on the tenant: %v, want graceDays 2", contract)
	}
	// The same key with another grace is another request.
	in["graceDays"] = 3
	_, errs = s.provisionContract(t, rep.IDToken, in)
	wantCode(t, errs, "IDEMPOTENCY_KEY_REUSED", "")
}
