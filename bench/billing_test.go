package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/billing/stripeapi"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
)

// webhookDelivery is one signed delivery, prepared before the clock starts.
type webhookDelivery struct {
	payload   []byte
	signature string
}

func (s benchServer) deliver(d webhookDelivery) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, s.url+"/webhooks/stripe", bytes.NewReader(d.payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", d.signature)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// seedTenants commits n tenants owned by the bench user, as provisioning would.
func seedTenants(b *testing.B, s benchServer, n int) []string {
	b.Helper()
	st := store.New(s.app.Firestore())
	ids := make([]string, n)
	for i := range ids {
		bundle := floorBundle(s.uid, s.email, time.Now().UTC())
		if err := st.CreateProvisioning(context.Background(), bundle); err != nil {
			b.Fatal(err)
		}
		ids[i] = bundle.Tenant.ID
	}
	return ids
}

// paymentEvents alternates invoice.payment_failed and invoice.paid over the tenants, each event
// one second newer than the one before, so every delivery changes its tenant's status (a full
// transition: tenant, history, audit, billing record, event record and, for failures, the email's
// outbox entry).
func paymentEvents(m testenv.StripeEnv, tenants []string, n int, base time.Time) []webhookDelivery {
	out := make([]webhookDelivery, n)
	for i := range out {
		id := tenants[i%len(tenants)]
		typ := billing.EventInvoicePaymentFailed
		if (i/len(tenants))%2 == 1 {
			typ = billing.EventInvoicePaid
		}
		p := testenv.StripeEvent(testenv.UniqueID("evt_"), typ, base.Add(time.Duration(i)*time.Second),
			testenv.StripeInvoice(testenv.UniqueID("in_"), "sub_"+id, "cus_"+id, id, 4900))
		out[i] = webhookDelivery{payload: p, signature: m.Sign(p, time.Time{})}
	}
	return out
}

// BenchmarkStripeWebhook measures POST /webhooks/stripe with signature verification: events
// that each move a tenant (c=1 and c=8), redeliveries of events already applied, and refused
// signatures; and, in process, what the verification alone costs.
// Run: go test -run '^$' -bench StripeWebhook -benchtime 1x ./bench/
func BenchmarkStripeWebhook(b *testing.B) {
	s := startServer(b)
	m := testenv.StripeMock(b)
	const calls = 400
	for b.Loop() {
		tenants := seedTenants(b, s, 32)
		base := time.Now().Add(-time.Hour).Truncate(time.Second)
		rows := []string{Header()}
		var applied []webhookDelivery
		for _, c := range []int{1, 8} {
			ds := paymentEvents(m, tenants, calls, base)
			base = base.Add(calls * time.Second)
			sample, wall, err := Run(len(ds), c, func(i int) error {
				code, err := s.deliver(ds[i])
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("HTTP %d", code)
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, Row(fmt.Sprintf("webhook, each event a status change, c=%d", c), sample, wall))
			b.ReportMetric(float64(sample.Percentile(50).Microseconds())/1000, fmt.Sprintf("applied-p50-ms/c%d", c))
			applied = ds
		}
		sample, wall, err := Run(len(applied), 8, func(i int) error {
			code, err := s.deliver(applied[i])
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("HTTP %d", code)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, Row("webhook, redelivery of an applied event (duplicate), c=8", sample, wall))

		forged := make([]webhookDelivery, calls)
		for i := range forged {
			forged[i] = webhookDelivery{payload: applied[i].payload, signature: testenv.StripeEnv{WebhookSecret: "whsec_forged"}.Sign(applied[i].payload, time.Time{})}
		}
		sample, wall, err = Run(len(forged), 8, func(i int) error {
			code, err := s.deliver(forged[i])
			if err == nil && code != http.StatusBadRequest {
				err = fmt.Errorf("HTTP %d, want 400", code)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, Row("webhook, forged signature (400), c=8", sample, wall))

		v, err := stripeapi.NewVerifier(m.WebhookSecret)
		if err != nil {
			b.Fatal(err)
		}
		sample, wall, err = Run(len(applied), 1, func(i int) error {
			_, err := v.Verify(applied[i].payload, applied[i].signature)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, Row("signature check and parse alone, in process", sample, wall))
		b.Logf("\n%s", strings.Join(rows, "\n"))
	}
}

// BenchmarkPaymentFailedToRulesRefusal measures, for one tenant, the time from delivering an
// invoice.payment_failed until the Firestore emulator's rules refuse a client write (a REST
// write with the owner's ID token, repeated until it answers 403), and from invoice.paid until
// writes open again. Rounds: 20 of each.
// Run: go test -run '^$' -bench PaymentFailedToRulesRefusal -benchtime 1x ./bench/
func BenchmarkPaymentFailedToRulesRefusal(b *testing.B) {
	s := startServer(b)
	env := testenv.Require(b)
	m := testenv.StripeMock(b)
	write := func(tenantID string) int {
		code, _ := env.FirestoreREST(b, http.MethodPatch, "tenants/"+tenantID+"/notes/bench", s.token, map[string]any{
			"fields": map[string]any{"n": map[string]any{"integerValue": fmt.Sprint(time.Now().UnixNano())}},
		})
		return code
	}
	// pollUntil writes until the answer is want and returns how long that took and how many writes.
	pollUntil := func(tenantID string, want int, since time.Time) (time.Duration, int) {
		for n := 1; ; n++ {
			if write(tenantID) == want {
				return time.Since(since), n
			}
			if time.Since(since) > 10*time.Second {
				b.Fatalf("no HTTP %d from the rules within 10 s", want)
			}
		}
	}
	const rounds = 20
	for b.Loop() {
		tenantID := seedTenants(b, s, 1)[0]
		if code := write(tenantID); code != http.StatusOK {
			b.Fatalf("write in trial: HTTP %d", code)
		}
		refused, reopened, answered := &Sample{}, &Sample{}, &Sample{}
		polls := 0
		base := time.Now().Add(-time.Hour).Truncate(time.Second)
		for r := range rounds {
			for k, typ := range []string{billing.EventInvoicePaymentFailed, billing.EventInvoicePaid} {
				p := testenv.StripeEvent(testenv.UniqueID("evt_"), typ, base.Add(time.Duration(2*r+k)*time.Second),
					testenv.StripeInvoice(testenv.UniqueID("in_"), "sub_"+tenantID, "cus_"+tenantID, tenantID, 4900))
				d := webhookDelivery{payload: p, signature: m.Sign(p, time.Time{})}
				t0 := time.Now()
				code, err := s.deliver(d)
				if err != nil || code != http.StatusOK {
					b.Fatalf("deliver %s: HTTP %d %v", typ, code, err)
				}
				answered.Add(time.Since(t0))
				if typ == billing.EventInvoicePaymentFailed {
					took, n := pollUntil(tenantID, http.StatusForbidden, t0)
					refused.Add(took)
					polls += n
				} else {
					took, _ := pollUntil(tenantID, http.StatusOK, t0)
					reopened.Add(took)
				}
			}
		}
		ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
		b.Logf("\n| what | rounds | p50 | p99 | max |\n| --- | --- | --- | --- | --- |\n"+
			"| webhook answered (invoice.payment_failed / invoice.paid) | %d | %s | %s | %s |\n"+
			"| payment_failed delivered → client write refused by the rules | %d | %s | %s | %s |\n"+
			"| invoice.paid delivered → client write allowed again | %d | %s | %s | %s |\n"+
			"writes until the first 403: %.2f on average (1 means the first write after the webhook's 200 was already refused)",
			answered.Len(), ms(answered.Percentile(50)), ms(answered.Percentile(99)), ms(answered.Percentile(100)),
			refused.Len(), ms(refused.Percentile(50)), ms(refused.Percentile(99)), ms(refused.Percentile(100)),
			reopened.Len(), ms(reopened.Percentile(50)), ms(reopened.Percentile(99)), ms(reopened.Percentile(100)),
			float64(polls)/rounds)
		b.ReportMetric(float64(refused.Percentile(50).Microseconds())/1000, "refusal-p50-ms")
	}
}
