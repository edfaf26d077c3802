package stripeapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tenantry/tenantry/internal/billing"
)

// Verifier checks webhook signatures with the endpoint's signing secret.
type Verifier struct {
	secret    string
	tolerance time.Duration
}

var _ billing.Verifier = (*Verifier)(nil)

// NewVerifier builds a verifier for STRIPE_WEBHOOK_SECRET with stripe-go's default tolerance of
// 300 s between the signature's timestamp and now.
func NewVerifier(secret string) (*Verifier, error) {
	if secret == "" {
		return nil, errors.New("stripe: no webhook signing secret (STRIPE_WEBHOOK_SECRET)")
	}
	return &Verifier{secret: secret, tolerance: webhook.DefaultTolerance}, nil
}

// Verify implements billing.Verifier: the Stripe-Signature header must carry a v1 HMAC of the
// payload under the secret, timestamped within the tolerance; the payload must be an event whose
// object parses. The API version is not enforced here (billing.HandleEvent logs a mismatch), so a
// version bump on Stripe's side degrades to a warning rather than to refused deliveries.
func (v *Verifier) Verify(payload []byte, header string) (billing.Event, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, header, v.secret, webhook.ConstructEventOptions{
		Tolerance:                v.tolerance,
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
			errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
			return billing.Event{}, fmt.Errorf("%w: %v", billing.ErrInvalidEvent, err)
		}
		return billing.Event{}, fmt.Errorf("%w: the body is not a Stripe event", billing.ErrInvalidEvent)
	}
	return toEvent(ev)
}

// toEvent flattens a stripe-go event into the domain's.
func toEvent(ev stripe.Event) (billing.Event, error) {
	e := billing.Event{
		ID: ev.ID, Type: string(ev.Type), Created: time.Unix(ev.Created, 0).UTC(),
		APIVersion: ev.APIVersion, Livemode: ev.Livemode,
	}
	if e.ID == "" || e.Type == "" || ev.Created == 0 {
		return billing.Event{}, fmt.Errorf("%w: the event has no id, type or created time", billing.ErrInvalidEvent)
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		if strings.HasPrefix(e.Type, "customer.subscription.") || strings.HasPrefix(e.Type, "invoice.") {
			return billing.Event{}, fmt.Errorf("%w: the event has no data.object", billing.ErrInvalidEvent)
		}
		return e, nil
	}
	switch {
	case strings.HasPrefix(e.Type, "customer.subscription."):
		var s stripe.Subscription
		if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
			return billing.Event{}, fmt.Errorf("%w: data.object is not a subscription", billing.ErrInvalidEvent)
		}
		e.SubscriptionID = s.ID
		if s.Customer != nil {
			e.CustomerID = s.Customer.ID
		}
		e.TenantID, e.PlanID = s.Metadata["tenant_id"], s.Metadata["plan_id"]
		e.SubscriptionStatus = string(s.Status)
		e.CurrentPeriodEnd, e.TrialEnd, e.CancelAtPeriodEnd = unix(s.CurrentPeriodEnd), unix(s.TrialEnd), s.CancelAtPeriodEnd
		if s.Items != nil && len(s.Items.Data) > 0 && s.Items.Data[0] != nil && s.Items.Data[0].Price != nil {
			e.PriceID, e.Quantity = s.Items.Data[0].Price.ID, s.Items.Data[0].Quantity
		}
	case strings.HasPrefix(e.Type, "invoice."):
		var in stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &in); err != nil {
			return billing.Event{}, fmt.Errorf("%w: data.object is not an invoice", billing.ErrInvalidEvent)
		}
		e.InvoiceID, e.AmountDue, e.Currency = in.ID, in.AmountDue, string(in.Currency)
		if in.Subscription != nil {
			e.SubscriptionID = in.Subscription.ID
		}
		if in.Customer != nil {
			e.CustomerID = in.Customer.ID
		}
		if in.SubscriptionDetails != nil {
			e.TenantID, e.PlanID = in.SubscriptionDetails.Metadata["tenant_id"], in.SubscriptionDetails.Metadata["plan_id"]
		}
	}
	return e, nil
}
