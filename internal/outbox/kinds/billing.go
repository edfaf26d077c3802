package kinds

import "time"

// The Stripe calls. Package billing performs them.

// BillingSetup gives a tenant just provisioned its Stripe customer and subscription.
// Stored as {"planId", "stripePriceId", "email", "trialEndsAt"}.
type BillingSetup struct {
	PlanID        string
	StripePriceID string
	Email         string // the customer's: the owner's, or a contract's named admin
	TrialEndsAt   time.Time
}

// Kind implements Payload.
func (BillingSetup) Kind() string { return "billing.setup" }

func (p BillingSetup) encode(string) map[string]any {
	return map[string]any{"planId": p.PlanID, "stripePriceId": p.StripePriceID, "email": p.Email, "trialEndsAt": p.TrialEndsAt}
}

func (BillingSetup) decode(s map[string]any) BillingSetup {
	return BillingSetup{
		PlanID: str(s, "planId"), StripePriceID: str(s, "stripePriceId"), Email: str(s, "email"),
		TrialEndsAt: timeOf(s, "trialEndsAt"),
	}
}

// CancelSuperseded cancels a subscription that a newer one (bought through Checkout) replaced,
// so the customer is never billed twice. Stored as {"subscriptionId", "supersededBy"}.
type CancelSuperseded struct {
	SubscriptionID string // the one to cancel
	SupersededBy   string
}

// Kind implements Payload.
func (CancelSuperseded) Kind() string { return "billing.cancel_superseded" }

func (p CancelSuperseded) encode(string) map[string]any {
	return map[string]any{"subscriptionId": p.SubscriptionID, "supersededBy": p.SupersededBy}
}

func (CancelSuperseded) decode(s map[string]any) CancelSuperseded {
	return CancelSuperseded{SubscriptionID: str(s, "subscriptionId"), SupersededBy: str(s, "supersededBy")}
}

// CancelSubscription cancels the tenant's Stripe subscription because staff cancelled the
// tenant: without it the customer would go on being billed for a tenant nobody can use. The
// handler reads the subscription from the billing record (the tenant's status change does not
// know it). Stored as {}: the reason is in the tenant's status history.
type CancelSubscription struct{}

// Kind implements Payload.
func (CancelSubscription) Kind() string { return "billing.cancel_subscription" }

func (CancelSubscription) encode(string) map[string]any { return map[string]any{} }

func (CancelSubscription) decode(map[string]any) CancelSubscription { return CancelSubscription{} }
