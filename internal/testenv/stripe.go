package testenv

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// StripeAPIVersion is the API version of stripe-go v76, which the webhook endpoint is pinned to.
const StripeAPIVersion = "2023-10-16"

// StripeEnv is the local stripe-mock (scripts/stack.sh: HTTP 127.0.0.1:12111) and the secrets
// the stack's environment gives Tenantry. stripe-mock is stateless: every call answers a canned
// object (with a fresh id) and nothing is kept, so tests never read state back from it.
type StripeEnv struct {
	URL           string // STRIPE_API_URL
	SecretKey     string // STRIPE_SECRET_KEY
	WebhookSecret string // STRIPE_WEBHOOK_SECRET
}

// StripeMock returns the stripe-mock settings, or fails the test (never skips it) when
// STRIPE_API_URL, STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET is unset or stripe-mock does not
// answer.
func StripeMock(t testing.TB) StripeEnv {
	t.Helper()
	m := StripeEnv{
		URL:           strings.TrimRight(os.Getenv("STRIPE_API_URL"), "/"),
		SecretKey:     os.Getenv("STRIPE_SECRET_KEY"),
		WebhookSecret: os.Getenv("STRIPE_WEBHOOK_SECRET"),
	}
	if m.URL == "" || m.SecretKey == "" || m.WebhookSecret == "" {
		t.Fatalf("testenv: STRIPE_API_URL, STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set (stripe-mock); %s", howToStart)
	}
	u, err := url.Parse(m.URL)
	if err != nil || u.Host == "" {
		t.Fatalf("testenv: STRIPE_API_URL=%q is not a URL", m.URL)
	}
	if err := probe(u.Host); err != nil {
		t.Fatalf("testenv: stripe-mock at %s does not answer (%v); %s", m.URL, err, howToStart)
	}
	return m
}

// Sign returns the Stripe-Signature header of payload under the webhook secret, timestamped at
// (zero: now), as Stripe computes it.
func (m StripeEnv) Sign(payload []byte, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: m.WebhookSecret, Timestamp: at}).Header
}

// SignedRequest builds POST <base>/webhooks/stripe with payload signed at `at`.
func (m StripeEnv) SignedRequest(t testing.TB, base string, payload []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/stripe", strings.NewReader(string(payload)))
	if err != nil {
		t.Fatalf("testenv: new webhook request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", m.Sign(payload, at))
	return req
}

// StripeEvent is the JSON of a Stripe event with the given object, in the pinned API version.
func StripeEvent(id, eventType string, created time.Time, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": eventType, "created": created.Unix(),
		"api_version": StripeAPIVersion, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object},
	})
	if err != nil {
		panic(err) // maps of JSON values always marshal
	}
	return b
}

// StripeSubscription is a subscription object with metadata.tenant_id (omitted when "").
func StripeSubscription(id, customerID, tenantID, status string) map[string]any {
	md := map[string]any{}
	if tenantID != "" {
		md["tenant_id"] = tenantID
	}
	now := time.Now()
	return map[string]any{
		"id": id, "object": "subscription", "customer": customerID, "status": status, "metadata": md,
		"created": now.Unix(), "current_period_end": now.Add(30 * 24 * time.Hour).Unix(), "cancel_at_period_end": false,
	}
}

// StripeInvoice is an invoice of a subscription, with subscription_details.metadata.tenant_id
// (omitted when "").
func StripeInvoice(id, subscriptionID, customerID, tenantID string, amountDue int64) map[string]any {
	md := map[string]any{}
	if tenantID != "" {
		md["tenant_id"] = tenantID
	}
	return map[string]any{
		"id": id, "object": "invoice", "subscription": subscriptionID, "customer": customerID,
		"amount_due": amountDue, "currency": "usd", "subscription_details": map[string]any{"metadata": md},
	}
}

// WithPrice gives a subscription object (StripeSubscription) one item with the given price, as
// Stripe renders it: items.data[0].price.id is what the customer pays for.
func WithPrice(sub map[string]any, priceID string) map[string]any {
	return WithPriceQuantity(sub, priceID, 1)
}

// WithPriceQuantity is WithPrice with the item's quantity (the seats bought, for a per-seat price).
func WithPriceQuantity(sub map[string]any, priceID string, quantity int) map[string]any {
	sub["items"] = map[string]any{
		"object": "list",
		"data": []any{map[string]any{
			"id": "si_" + priceID, "object": "subscription_item", "quantity": quantity,
			"price": map[string]any{"id": priceID, "object": "price"},
		}},
	}
	return sub
}
