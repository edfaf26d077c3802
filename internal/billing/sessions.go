package billing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// errUnavailable is what the sessions answer while STRIPE_SECRET_KEY is unset: a deployment
// fault, shown to the user as INTERNAL.
var errUnavailable = errors.New("billing: Stripe is not configured (STRIPE_SECRET_KEY)")

// CheckoutSession starts a Stripe Checkout session in which the tenant's owner subscribes to
// planID, and returns its URL. Allowed to the owner in every status but cancelled, so an expired
// trial or a past-due tenant can pay its way back. When the session completes, its subscription
// becomes the tenant's current one and the one it replaces is cancelled (see decide).
//
// Checkout needs the Stripe customer. If the billing setup has not created it yet (Stripe was
// down at signup, say), it is created here with the setup's own idempotency key and parameters,
// so the setup, when it runs, finds the same customer instead of making a second one.
func (s *Service) CheckoutSession(ctx context.Context, tenantID, planID string) (string, error) {
	tv, err := s.lifecycle.Authorize(ctx, tenantID, rules.ManageBilling)
	if err != nil {
		return "", err
	}
	plan, ok := s.plans.Get(planID)
	if !ok {
		return "", errs.Invalid("planId", "no such plan; the plans query lists the valid ids")
	}
	if !plan.SelfServe && !onPlan(tv.Tenant, plan.ID) {
		// A sales-only plan is entered through sales (provisionContractTenant), never bought
		// into; a tenant already on it, by contract, pays for it here like any other.
		return "", errs.Invalid("planId", fmt.Sprintf(
			"the %s plan is sold by our sales team only: contact sales to move to it, or pick a plan the plans query marks selfServe", plan.Name))
	}
	customerID, err := s.ensureCustomer(ctx, tenantID)
	if err != nil {
		return "", err
	}
	billingPage := []string{"tenants", tenantID, "billing"}
	u, err := s.stripe.CreateCheckoutSession(ctx, CheckoutParams{
		CustomerID: customerID, PriceID: plan.StripePriceID, TenantID: tenantID, PlanID: plan.ID,
		SuccessURL: s.app.Link(url.Values{"checkout": {"success"}}, billingPage...),
		CancelURL:  s.app.Link(url.Values{"checkout": {"cancelled"}}, billingPage...),
	})
	if err != nil {
		return "", fmt.Errorf("create a Checkout session for tenant %s: %w", tenantID, err)
	}
	return u, nil
}

// onPlan reports whether planID is the tenant's plan or its signed contract's.
func onPlan(t tenancy.Tenant, planID string) bool {
	return t.PlanID == planID || (t.Contract != nil && t.Contract.PlanID == planID)
}

// PortalSession opens Stripe's billing portal for the tenant's owner (payment methods, invoices,
// cancellation) and returns its URL. Same access and customer handling as CheckoutSession.
func (s *Service) PortalSession(ctx context.Context, tenantID string) (string, error) {
	if _, err := s.lifecycle.Authorize(ctx, tenantID, rules.ManageBilling); err != nil {
		return "", err
	}
	customerID, err := s.ensureCustomer(ctx, tenantID)
	if err != nil {
		return "", err
	}
	u, err := s.stripe.CreatePortalSession(ctx, PortalParams{
		CustomerID: customerID, ReturnURL: s.app.Link(nil, "tenants", tenantID, "billing"),
	})
	if err != nil {
		return "", fmt.Errorf("create a billing portal session for tenant %s: %w", tenantID, err)
	}
	return u, nil
}

// ensureCustomer returns the tenant's Stripe customer, creating it as the setup would.
func (s *Service) ensureCustomer(ctx context.Context, tenantID string) (string, error) {
	if !s.Enabled() {
		return "", errUnavailable
	}
	rec, err := s.store.Record(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("read billing record of %s: %w", tenantID, err)
	}
	if rec.CustomerID != "" {
		return rec.CustomerID, nil
	}
	req, err := s.store.SetupRequest(ctx, tenantID)
	if errors.Is(err, errs.ErrNotFound) {
		req = SetupRequest{EntryID: kinds.ID(kinds.BillingSetup{}, tenantID)}
	} else if err != nil {
		return "", fmt.Errorf("read billing setup of %s: %w", tenantID, err)
	}
	return s.customer(ctx, tenantID, rec, req)
}

// View is the tenant's billing as its owner sees it (Tenant.billing).
type View struct {
	PlanID        string
	StripeStatus  string    // "" until the billing setup has run
	NextRenewalAt time.Time // zero when there is none (not set up, cancelled, or ending)
	// Warning asks the SPA for a banner; Message says why.
	Warning bool
	Message string
}

// trialWarning is how long before its end a trial without a plan gets a banner.
const trialWarning = 3 * 24 * time.Hour

// Billing returns the tenant's billing for its owner (ManageBilling: owner only, in every status
// but cancelled); anyone else gets the policy's error.
func (s *Service) Billing(ctx context.Context, tenantID string) (View, error) {
	tv, err := s.lifecycle.Authorize(ctx, tenantID, rules.ManageBilling)
	if err != nil {
		return View{}, err
	}
	rec, err := s.store.Record(ctx, tenantID)
	if errors.Is(err, errs.ErrNotFound) {
		rec = Record{TenantID: tenantID, PlanID: tv.Tenant.PlanID, Status: RecordPending}
	} else if err != nil {
		return View{}, fmt.Errorf("read billing record of %s: %w", tenantID, err)
	}
	t := tv.Tenant
	v := View{PlanID: rec.PlanID, StripeStatus: rec.StripeStatus}
	if v.PlanID == "" {
		v.PlanID = t.PlanID
	}
	switch {
	case rec.StripeStatus == SubTrialing && !rec.TrialEnd.IsZero():
		v.NextRenewalAt = rec.TrialEnd
	case rec.StripeStatus != SubCanceled && !rec.CancelAtPeriodEnd && !rec.CurrentPeriodEnd.IsZero():
		v.NextRenewalAt = rec.CurrentPeriodEnd
	}
	now := s.clock.Now()
	status := t.AccessStatus(now) // a trial past its end reads as expired before the job runs
	day := func(t time.Time) string { return t.UTC().Format("January 2, 2006") }
	switch {
	case t.State().InGrace(now):
		v.Message = fmt.Sprintf("Your last payment failed. Editing stays open until %s; update your payment method in the billing portal before then.", day(t.GraceEndsAt))
	case status == rules.StatusPastDue || rec.StripeStatus == SubPastDue:
		v.Message = "Your last payment failed. Update your payment method in the billing portal to keep editing."
	case status == rules.StatusSuspended || rec.StripeStatus == SubUnpaid:
		v.Message = "Your subscription is unpaid and the organization is suspended. Pay the open invoice in the billing portal to restore access."
	case status == rules.StatusTrialExpired:
		v.Message = fmt.Sprintf("Your trial ended on %s. Choose a plan to keep editing.", day(t.TrialEndsAt))
	case rec.StripeStatus == SubIncomplete || rec.StripeStatus == SubIncompleteExpired:
		v.Message = "Your subscription's first payment did not go through. Choose a plan again to complete it."
	case rec.StripeStatus == SubPaused:
		v.Message = "Your subscription is paused because no payment method was on file when the trial ended. Choose a plan to resume."
	case rec.CancelAtPeriodEnd && !rec.CurrentPeriodEnd.IsZero():
		v.Message = fmt.Sprintf("Your subscription ends on %s. Renew it in the billing portal to keep your organization.", day(rec.CurrentPeriodEnd))
	case status == rules.StatusTrial && !t.TrialEndsAt.IsZero() && t.TrialEndsAt.Sub(now) < trialWarning:
		v.Message = fmt.Sprintf("Your trial ends on %s. Choose a plan to keep editing afterwards.", day(t.TrialEndsAt))
	}
	v.Warning = v.Message != ""
	return v, nil
}
