//go:build soak

package soak

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
)

// webhooks sends two events about a random tenant's subscription, once its billing setup made it (it becomes active, an invoice
// is paid), each delivered twice, in a shuffled order, as Stripe may. A 5xx is redelivered, as
// Stripe does; anything else but 200 is a broken invariant.
func (w *workload) webhooks() {
	tn, ok := w.someTenant()
	if !ok {
		return
	}
	snap, err := w.fs.Doc("billing/" + tn.id).Get(context.Background())
	if err != nil {
		return // not written yet; another turn
	}
	sub, _ := snap.Data()["stripeSubscriptionId"].(string)
	cus, _ := snap.Data()["stripeCustomerId"].(string)
	if sub == "" || cus == "" {
		return // Stripe sends events only about the subscriptions the setup creates: not yet
	}
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	events := [][]byte{
		testenv.StripeEvent(testenv.UniqueID("evt_"), "customer.subscription.updated", at, testenv.StripeSubscription(sub, cus, tn.id, "active")),
		testenv.StripeEvent(testenv.UniqueID("evt_"), "invoice.paid", at.Add(time.Second), testenv.StripeInvoice(testenv.UniqueID("in_"), sub, cus, tn.id, 4900)),
	}
	deliveries := [][]byte{events[0], events[1], events[0], events[1]}
	w.mu.Lock()
	w.rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	w.mu.Unlock()
	for _, payload := range deliveries {
		w.deliver(payload)
	}
}

// deliver posts one signed event until it is answered other than 5xx (at most 5 times).
func (w *workload) deliver(payload []byte) {
	for range 5 {
		start := time.Now()
		req, err := http.NewRequest(http.MethodPost, w.base+"/webhooks/stripe", strings.NewReader(string(payload)))
		if err != nil {
			panic(err) // a constant URL and method
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", w.stripe.Sign(payload, time.Time{}))
		resp, err := testenv.HTTPClient.Do(req)
		if err != nil {
			w.st.observe("stripeWebhook", time.Since(start), "TRANSPORT")
			time.Sleep(250 * time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			w.st.observe("stripeWebhook", time.Since(start), "")
			return
		case resp.StatusCode >= 500:
			w.st.observe("stripeWebhook", time.Since(start), "HTTP_5xx")
			time.Sleep(250 * time.Millisecond)
		default:
			w.st.observe("stripeWebhook", time.Since(start), resp.Status)
			w.st.broke("a signed webhook delivery was answered %s: %.200s", resp.Status, body)
			return
		}
	}
}
