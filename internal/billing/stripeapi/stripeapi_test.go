package stripeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/billing/stripeapi"
	"github.com/tenantry/tenantry/internal/testenv"
)

func TestPinnedAPIVersionIsStripeGos(t *testing.T) {
	if billing.APIVersion != stripe.APIVersion || testenv.StripeAPIVersion != stripe.APIVersion {
		t.Fatalf("billing.APIVersion %q, testenv.StripeAPIVersion %q, stripe-go's %q: the webhook endpoint's pin must be stripe-go's",
			billing.APIVersion, testenv.StripeAPIVersion, stripe.APIVersion)
	}
}

func newClient(t *testing.T) *stripeapi.Client {
	t.Helper()
	m := testenv.StripeMock(t)
	c, err := stripeapi.New(stripeapi.Config{SecretKey: m.SecretKey, APIURL: m.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAgainstStripeMock(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := context.Background()
	cu, err := c.CreateCustomer(ctx, billing.CustomerParams{TenantID: "T1", Email: "owner@example.test", IdempotencyKey: testenv.UniqueID("k-")})
	if err != nil || !strings.HasPrefix(cu.ID, "cus_") {
		t.Fatalf("CreateCustomer: %+v, %v", cu, err)
	}
	for _, trialEnd := range []time.Time{time.Now().Add(14 * 24 * time.Hour), {}} {
		sub, err := c.CreateSubscription(ctx, billing.SubscriptionParams{
			CustomerID: cu.ID, PriceID: "price_tenantry_trial", TenantID: "T1", PlanID: "trial",
			TrialEnd: trialEnd, IdempotencyKey: testenv.UniqueID("k-"),
		})
		if err != nil || !strings.HasPrefix(sub.ID, "sub_") || sub.Status == "" {
			t.Fatalf("CreateSubscription (trial end %v): %+v, %v", trialEnd, sub, err)
		}
	}
	u, err := c.CreateCheckoutSession(ctx, billing.CheckoutParams{
		CustomerID: cu.ID, PriceID: "price_tenantry_pro", TenantID: "T1", PlanID: "pro",
		SuccessURL: "http://localhost:5173/tenants/T1/billing?checkout=success", CancelURL: "http://localhost:5173/tenants/T1/billing",
	})
	if err != nil || !strings.HasPrefix(u, "https://") {
		t.Fatalf("CreateCheckoutSession: %q, %v", u, err)
	}
	u, err = c.CreatePortalSession(ctx, billing.PortalParams{CustomerID: cu.ID, ReturnURL: "http://localhost:5173/tenants/T1/billing"})
	if err != nil || !strings.HasPrefix(u, "https://") {
		t.Fatalf("CreatePortalSession: %q, %v", u, err)
	}
	if err := c.CancelSubscription(ctx, "sub_123", testenv.UniqueID("k-")); err != nil {
		t.Fatalf("CancelSubscription: %v", err)
	}
}

func TestClientErrorsAreClassifiedAndCarryNoSecret(t *testing.T) {
	t.Parallel()
	m := testenv.StripeMock(t)
	secret := "sk_test_" + strings.Repeat("S3CRET", 4)
	c, err := stripeapi.New(stripeapi.Config{SecretKey: secret, APIURL: m.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// stripe-mock validates requests against Stripe's OpenAPI spec: a subscription without a
	// customer is a 400, which the outbox must not retry.
	_, err = c.CreateSubscription(context.Background(), billing.SubscriptionParams{CustomerID: "", PriceID: "price_1", TenantID: "T1", IdempotencyKey: "k"})
	if err == nil || !errors.Is(err, billing.ErrRejected) {
		t.Errorf("invalid request: %v, want an error wrapping ErrRejected", err)
	}
	if err != nil && strings.Contains(err.Error(), "S3CRET") {
		t.Errorf("error names the secret key: %v", err)
	}

	// Nothing listening: a transport error, retryable, and no secret either.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	c, err = stripeapi.New(stripeapi.Config{SecretKey: secret, APIURL: dead, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateCustomer(context.Background(), billing.CustomerParams{TenantID: "T1", IdempotencyKey: "k"})
	if err == nil || errors.Is(err, billing.ErrRejected) || strings.Contains(err.Error(), "S3CRET") {
		t.Errorf("Stripe unreachable: %v, want a retryable error without the key", err)
	}
}

func sign(t *testing.T, secret string, payload []byte, at time.Time) string {
	t.Helper()
	return testenv.StripeEnv{WebhookSecret: secret}.Sign(payload, at)
}

func TestVerifyParsesSubscriptionAndInvoiceEvents(t *testing.T) {
	t.Parallel()
	const secret = "whsec_unit"
	v, err := stripeapi.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1_700_000_000, 0).UTC()
	sub := testenv.WithPriceQuantity(testenv.StripeSubscription("sub_1", "cus_1", "T1", "past_due"), "price_tenantry_pro", 12)
	sub["metadata"].(map[string]any)["plan_id"] = "pro"
	p := testenv.StripeEvent("evt_1", billing.EventSubscriptionUpdated, created, sub)
	e, err := v.Verify(p, sign(t, secret, p, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "evt_1" || e.Type != billing.EventSubscriptionUpdated || !e.Created.Equal(created) || e.APIVersion != billing.APIVersion ||
		e.SubscriptionID != "sub_1" || e.CustomerID != "cus_1" || e.TenantID != "T1" || e.PlanID != "pro" ||
		e.SubscriptionStatus != "past_due" || e.CurrentPeriodEnd.IsZero() || e.PriceID != "price_tenantry_pro" || e.Quantity != 12 {
		t.Errorf("subscription event: %+v", e)
	}
	p = testenv.StripeEvent("evt_2", billing.EventInvoicePaymentFailed, created, testenv.StripeInvoice("in_1", "sub_1", "cus_1", "T1", 4900))
	e, err = v.Verify(p, sign(t, secret, p, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if e.InvoiceID != "in_1" || e.SubscriptionID != "sub_1" || e.CustomerID != "cus_1" || e.TenantID != "T1" || e.AmountDue != 4900 || e.Currency != "usd" {
		t.Errorf("invoice event: %+v", e)
	}
	// Another API version still parses: HandleEvent only logs it.
	var m map[string]any
	_ = json.Unmarshal(p, &m)
	m["api_version"] = "2025-01-27.acacia"
	p, _ = json.Marshal(m)
	if e, err = v.Verify(p, sign(t, secret, p, time.Time{})); err != nil || e.APIVersion != "2025-01-27.acacia" {
		t.Errorf("another API version: %+v, %v", e, err)
	}
}

func TestVerifyRefusesBadDeliveries(t *testing.T) {
	t.Parallel()
	const secret = "whsec_unit"
	v, err := stripeapi.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.StripeEvent("evt_1", billing.EventInvoicePaid, time.Now(), testenv.StripeInvoice("in_1", "sub_1", "cus_1", "T1", 1))
	bad := []byte(`{"id":"evt_1","type":`)
	for name, c := range map[string]struct {
		payload []byte
		header  string
	}{
		"no header":      {p, ""},
		"other secret":   {p, sign(t, "whsec_other", p, time.Time{})},
		"too old":        {p, sign(t, secret, p, time.Now().Add(-301*time.Second))},
		"garbage header": {p, "nonsense"},
		"malformed JSON": {bad, sign(t, secret, bad, time.Time{})},
		"tampered body":  {append([]byte(" "), p...), sign(t, secret, p, time.Time{})},
		"not an event":   {[]byte(`{"hello":"world"}`), sign(t, secret, []byte(`{"hello":"world"}`), time.Time{})},
		"object not an invoice": {[]byte(`{"id":"evt_3","type":"invoice.paid","created":1700000000,"data":{"object":[1,2]}}`),
			sign(t, secret, []byte(`{"id":"evt_3","type":"invoice.paid","created":1700000000,"data":{"object":[1,2]}}`), time.Time{})},
	} {
		_, err := v.Verify(c.payload, c.header)
		if !errors.Is(err, billing.ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", name, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error names the secret", name)
		}
	}
}
