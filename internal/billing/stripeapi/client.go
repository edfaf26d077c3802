// Package stripeapi implements billing.Stripe and billing.Verifier with stripe-go v76 (Stripe API
// version 2023-10-16). It is the only package that imports stripe-go.
package stripeapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	portalsession "github.com/stripe/stripe-go/v76/billingportal/session"
	checkoutsession "github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/customer"
	"github.com/stripe/stripe-go/v76/subscription"

	"github.com/tenantry/tenantry/internal/billing"
)

// Config is how to reach Stripe.
type Config struct {
	SecretKey string
	// APIURL is the API's base URL: "" for Stripe itself, stripe-mock's locally
	// (http://127.0.0.1:12111).
	APIURL string
	// Timeout bounds each call (default 20s); the outbox gives a handler half its lease.
	Timeout time.Duration
	// HTTPClient, if set, replaces the default client (its Timeout is then Timeout).
	HTTPClient *http.Client
}

// Client calls the Stripe API.
type Client struct {
	customers     customer.Client
	subscriptions subscription.Client
	checkout      checkoutsession.Client
	portal        portalsession.Client
}

var _ billing.Stripe = (*Client)(nil)

// New builds a client. It keeps its own backend instead of stripe-go's global one, so tests can
// point clients at different URLs in one process.
func New(cfg Config) (*Client, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("stripe: no secret key (STRIPE_SECRET_KEY)")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		c.Timeout = cfg.Timeout
		hc = &c
	}
	bc := &stripe.BackendConfig{
		HTTPClient: hc,
		// Retries belong to the outbox (backoff, leases, dead letters); a library retry inside a
		// handler would only eat into its lease.
		MaxNetworkRetries: stripe.Int64(0),
		// stripe-go's own logger prints to stderr outside our structured logs; errors come back to
		// the caller, which logs them.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.APIURL, "/"))
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
	return &Client{
		customers:     customer.Client{B: b, Key: cfg.SecretKey},
		subscriptions: subscription.Client{B: b, Key: cfg.SecretKey},
		checkout:      checkoutsession.Client{B: b, Key: cfg.SecretKey},
		portal:        portalsession.Client{B: b, Key: cfg.SecretKey},
	}, nil
}

// CreateCustomer implements billing.Stripe.
func (c *Client) CreateCustomer(ctx context.Context, p billing.CustomerParams) (billing.Customer, error) {
	params := &stripe.CustomerParams{}
	params.Context = ctx
	params.Email = nonEmpty(p.Email)
	params.AddMetadata("tenant_id", p.TenantID)
	params.SetIdempotencyKey(p.IdempotencyKey)
	cu, err := c.customers.New(params)
	if err != nil {
		return billing.Customer{}, wrap("create customer", err)
	}
	return billing.Customer{ID: cu.ID}, nil
}

// CreateSubscription implements billing.Stripe.
func (c *Client) CreateSubscription(ctx context.Context, p billing.SubscriptionParams) (billing.Subscription, error) {
	params := &stripe.SubscriptionParams{
		Customer: nonEmpty(p.CustomerID),
		Items:    []*stripe.SubscriptionItemsParams{{Price: nonEmpty(p.PriceID)}},
		// A trial without a card on file pauses when it ends, instead of raising invoices that
		// fail into past_due and unpaid: the trial's end is Tenantry's (expire-trials), and the
		// owner pays back in through Checkout.
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{
			EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
				MissingPaymentMethod: stripe.String(string(stripe.SubscriptionTrialSettingsEndBehaviorMissingPaymentMethodPause)),
			},
		},
	}
	params.Context = ctx
	if p.TrialEnd.IsZero() {
		params.TrialEndNow = stripe.Bool(true)
	} else {
		params.TrialEnd = stripe.Int64(p.TrialEnd.Unix())
	}
	params.AddMetadata("tenant_id", p.TenantID)
	if p.PlanID != "" {
		params.AddMetadata("plan_id", p.PlanID)
	}
	params.SetIdempotencyKey(p.IdempotencyKey)
	s, err := c.subscriptions.New(params)
	if err != nil {
		return billing.Subscription{}, wrap("create subscription", err)
	}
	out := billing.Subscription{
		ID: s.ID, Status: string(s.Status), Created: unix(s.Created), CurrentPeriodEnd: unix(s.CurrentPeriodEnd),
		TrialEnd: unix(s.TrialEnd), CancelAtPeriodEnd: s.CancelAtPeriodEnd,
	}
	if s.Customer != nil {
		out.CustomerID = s.Customer.ID
	}
	return out, nil
}

// CancelSubscription implements billing.Stripe.
func (c *Client) CancelSubscription(ctx context.Context, id, idempotencyKey string) error {
	params := &stripe.SubscriptionCancelParams{}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey)
	if _, err := c.subscriptions.Cancel(id, params); err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return nil // already gone
		}
		return wrap("cancel subscription", err)
	}
	return nil
}

// CreateCheckoutSession implements billing.Stripe.
func (c *Client) CreateCheckoutSession(ctx context.Context, p billing.CheckoutParams) (string, error) {
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          nonEmpty(p.CustomerID),
		ClientReferenceID: nonEmpty(p.TenantID),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: nonEmpty(p.PriceID), Quantity: stripe.Int64(1)}},
		SuccessURL:        nonEmpty(p.SuccessURL),
		CancelURL:         nonEmpty(p.CancelURL),
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{
			Metadata: map[string]string{"tenant_id": p.TenantID, "plan_id": p.PlanID},
		},
	}
	params.Context = ctx
	params.AddMetadata("tenant_id", p.TenantID)
	s, err := c.checkout.New(params)
	if err != nil {
		return "", wrap("create checkout session", err)
	}
	if s.URL == "" {
		return "", errors.New("stripe: create checkout session: the answer has no URL")
	}
	return s.URL, nil
}

// CreatePortalSession implements billing.Stripe.
func (c *Client) CreatePortalSession(ctx context.Context, p billing.PortalParams) (string, error) {
	params := &stripe.BillingPortalSessionParams{
		Customer:  nonEmpty(p.CustomerID),
		ReturnURL: nonEmpty(p.ReturnURL),
	}
	params.Context = ctx
	s, err := c.portal.New(params)
	if err != nil {
		return "", wrap("create billing portal session", err)
	}
	if s.URL == "" {
		return "", errors.New("stripe: create billing portal session: the answer has no URL")
	}
	return s.URL, nil
}

// wrap describes a failed call without secrets: Stripe's message, status, type and request id
// (stripe-go's own error text is the whole JSON body). Requests Stripe refused as invalid wrap
// billing.ErrRejected, so the outbox does not retry them.
func wrap(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		// Transport errors: connection refused, timeouts. stripe-go does not put the key in them.
		return fmt.Errorf("stripe: %s: %w", op, err)
	}
	msg := fmt.Sprintf("stripe: %s: HTTP %d %s", op, se.HTTPStatusCode, se.Type)
	if se.Code != "" {
		msg += " (" + string(se.Code) + ")"
	}
	if se.Msg != "" {
		msg += ": " + se.Msg
	}
	if se.RequestID != "" {
		msg += " [request " + se.RequestID + "]"
	}
	switch se.HTTPStatusCode {
	case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusNotFound:
		return fmt.Errorf("%s: %w", msg, billing.ErrRejected)
	}
	return errors.New(msg)
}

// nonEmpty leaves an unknown value out of the request rather than sending it empty, so that
// Stripe names a missing required parameter instead of accepting a blank one.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return stripe.String(s)
}

func unix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
