package tests

import (
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/testenv"
)

const (
	mSetStatus = `mutation($id: ID!, $status: TenantStatus!) { setTenantStatus(tenantId: $id, status: $status, reason: "trust and safety review") { status } }`
	mLift      = `mutation($id: ID!) { liftSuspension(tenantId: $id, reason: "review closed") { status } }`
)

// setStatusAs runs setTenantStatus (or liftSuspension when status is "") as token and returns the
// new status, or the error code.
func setStatusAs(t testing.TB, s *testServer, token, tenantID, status string) (got, code string) {
	t.Helper()
	query, vars := mSetStatus, map[string]any{"id": tenantID, "status": status}
	if status == "" {
		query = mLift
	}
	_, data, errs := s.gql(t, token, query, vars)
	if len(errs) > 0 {
		return "", errs[0].Code()
	}
	var d map[string]struct{ Status string }
	mustData(t, 200, data, errs, &d)
	for _, v := range d {
		return v.Status, ""
	}
	return "", ""
}

// TestStaffSuspensionIsNotUndoneByBilling: a tenant suspended by staff for abuse stays suspended
// through routine billing events (which are recorded and change nothing), support may not open
// it as ACTIVE, and lifting the suspension restores what billing said meanwhile.
func TestStaffSuspensionIsNotUndoneByBilling(t *testing.T) {
	t.Parallel()
	s := shared(t)
	clk := newEventClock()
	bt := newBillingTenant(t, s)
	support := staffUser(t, "support")
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionCreated, "active", clk.tick()), billing.OutcomeApplied)
	if got, code := setStatusAs(t, s, support.IDToken, bt.id, "SUSPENDED"); got != "SUSPENDED" {
		t.Fatalf("support suspends: %q %s", got, code)
	}

	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeHeldByStaff)
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionUpdated, "active", clk.tick()), billing.OutcomeHeldByStaff)
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()), billing.OutcomeHeldByStaff)
	if st := tenantStatus(t, bt.id); st != "suspended" {
		t.Fatalf("after invoice.paid and subscription.updated (active): %s, want still suspended", st)
	}
	if _, code := setStatusAs(t, s, support.IDToken, bt.id, "ACTIVE"); code != "FORBIDDEN" {
		t.Errorf("support sets ACTIVE on a suspension billing would keep past due: %q, want FORBIDDEN", code)
	}
	if got, code := setStatusAs(t, s, support.IDToken, bt.id, ""); got != "PAST_DUE" {
		t.Fatalf("support lifts the suspension: %q %s, want PAST_DUE (billing's last word)", got, code)
	}
	if c, _ := mustDoc(t, "tenants/"+bt.id)["statusCause"].(string); c != "billing" {
		t.Errorf("statusCause after the lift = %q, want billing", c)
	}
	// Billing moves what billing caused again.
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeApplied)
	if st := tenantStatus(t, bt.id); st != "active" {
		t.Errorf("after the lift and invoice.paid: %s, want active", st)
	}
}

// TestSupportCannotReopenAPastDueTenant: only a super admin may set ACTIVE.
func TestSupportCannotReopenAPastDueTenant(t *testing.T) {
	t.Parallel()
	s := shared(t)
	clk := newEventClock()
	bt := newBillingTenant(t, s)
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionCreated, "active", clk.tick()), billing.OutcomeApplied)
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()), billing.OutcomeApplied)
	if _, code := setStatusAs(t, s, staffUser(t, "support").IDToken, bt.id, "ACTIVE"); code != "FORBIDDEN" {
		t.Errorf("support sets ACTIVE on a past_due tenant: %q, want FORBIDDEN", code)
	}
	if st := tenantStatus(t, bt.id); st != "past_due" {
		t.Fatalf("status %s, want past_due", st)
	}
	if got, code := setStatusAs(t, s, staffUser(t, "super_admin").IDToken, bt.id, "ACTIVE"); got != "ACTIVE" {
		t.Errorf("super admin sets ACTIVE: %q %s", got, code)
	}
}

// TestStaffSuspendTrialsAndLiftToTheTrialClock: abusive trial signups can be suspended in trial
// and trial_expired; a lift returns each to what the trial clock says.
func TestStaffSuspendTrialsAndLiftToTheTrialClock(t *testing.T) {
	t.Parallel()
	s := shared(t)
	support := staffUser(t, "support")
	for _, c := range []struct {
		name, status string
		trialEndsAt  time.Time
		want         string
	}{
		{"running trial", "trial", time.Now().Add(48 * time.Hour), "TRIAL"},
		{"expired trial", "trial_expired", time.Now().Add(-48 * time.Hour), "TRIAL_EXPIRED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, id := ownerAndTenant(t, s)
			setTenant(t, id, map[string]any{"status": c.status, "trialEndsAt": c.trialEndsAt})
			if got, code := setStatusAs(t, s, support.IDToken, id, "SUSPENDED"); got != "SUSPENDED" {
				t.Fatalf("suspend a %s tenant: %q %s", c.status, got, code)
			}
			if got, code := setStatusAs(t, s, support.IDToken, id, ""); got != c.want {
				t.Errorf("lift: %q %s, want %s", got, code, c.want)
			}
		})
	}
}

// TestStripeEventsOfAnotherCustomerChangeNothing: once a tenant's billing record names its
// customer, a signed event about another customer never changes it, even with metadata.tenant_id
// naming the tenant.
func TestStripeEventsOfAnotherCustomerChangeNothing(t *testing.T) {
	t.Parallel()
	s := shared(t)
	clk := newEventClock()
	bt := newBillingTenant(t, s)
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionCreated, "trialing", clk.tick()), "")
	before := mustDoc(t, "billing/"+bt.id)
	if before["stripeCustomerId"] != bt.cus {
		t.Fatalf("billing record's customer %v, want %s (the test needs it on record)", before["stripeCustomerId"], bt.cus)
	}

	other := bt
	other.sub, other.cus = testenv.UniqueID("sub_"), testenv.UniqueID("cus_")
	s.mustDeliver(t, other.subEvent(billing.EventSubscriptionCreated, "active", clk.tick()), billing.OutcomeOtherCustomer)
	s.mustDeliver(t, other.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeOtherCustomer)
	if st := tenantStatus(t, bt.id); st != "trial" {
		t.Errorf("status %s after another customer's events, want trial", st)
	}
	after := mustDoc(t, "billing/"+bt.id)
	for _, f := range []string{"stripeCustomerId", "stripeSubscriptionId", "stripeStatus"} {
		if before[f] != after[f] {
			t.Errorf("billing record %s changed from %v to %v", f, before[f], after[f])
		}
	}
}
