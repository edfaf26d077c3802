package tests

// Billing with Stripe, end to end: the billing-setup outbox handler against stripe-mock behind a
// recording proxy that plays "Stripe unreachable", the signed webhook endpoint (mapping, access
// matrix, redeliveries, bad deliveries), and the owner's Checkout and portal sessions.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

// eventClock hands out strictly increasing event times (Stripe's created is in seconds).
type eventClock struct{ next time.Time }

func newEventClock() *eventClock {
	return &eventClock{next: time.Now().Add(-time.Hour).Truncate(time.Second)}
}

func (c *eventClock) tick() time.Time {
	c.next = c.next.Add(time.Second)
	return c.next
}

// deliver posts a signed event to the server's webhook endpoint and returns the status and body.
func (s *testServer) deliver(t testing.TB, payload []byte) (int, string) {
	t.Helper()
	st := testenv.StripeMock(t)
	code, body, err := s.tryDeliver(st.Sign(payload, time.Time{}), payload)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// tryDeliver posts payload with the given Stripe-Signature header, without touching t.
func (s *testServer) tryDeliver(signature string, payload []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, s.URL+"/webhooks/stripe", strings.NewReader(string(payload)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// mustDeliver delivers and requires 200 with the given outcome ("" accepts any).
func (s *testServer) mustDeliver(t testing.TB, payload []byte, outcome billing.Outcome) {
	t.Helper()
	code, body := s.deliver(t, payload)
	if code != http.StatusOK {
		t.Fatalf("webhook: HTTP %d %s, want 200", code, body)
	}
	if outcome != "" && !strings.Contains(body, `"outcome":"`+string(outcome)+`"`) {
		t.Fatalf("webhook: %s, want outcome %s", body, outcome)
	}
}

func tenantStatus(t testing.TB, tenantID string) string {
	t.Helper()
	s, _ := mustDoc(t, "tenants/"+tenantID)["status"].(string)
	return s
}

// billingTenant is a provisioned tenant with its owner and a subscription id of its own.
type billingTenant struct {
	owner    testenv.User
	id       string
	sub, cus string
}

func newBillingTenant(t testing.TB, s *testServer) billingTenant {
	t.Helper()
	owner, id := ownerAndTenant(t, s)
	return billingTenant{owner: owner, id: id, sub: testenv.UniqueID("sub_"), cus: testenv.UniqueID("cus_")}
}

// billingCase is how a webhook test starts: the shared server, an event clock and a fresh
// tenant with its owner.
func billingCase(t testing.TB) (*testServer, *eventClock, billingTenant) {
	t.Helper()
	s := shared(t)
	return s, newEventClock(), newBillingTenant(t, s)
}

// contractBillingTenant provisions a contract tenant on plan with seats (by a sales rep), with a
// subscription id of its own.
func contractBillingTenant(t testing.TB, s *testServer, name, plan string, seats int) billingTenant {
	t.Helper()
	rep := staffUser(t, "sales")
	p := s.mustProvisionContract(t, rep.IDToken, contractInputs(uniqueKey(), name, freshEmail("admin"), "", testenv.UniqueID("OPP-"), plan, seats, goLive(30)))
	return billingTenant{id: p.Tenant.ID, sub: testenv.UniqueID("sub_"), cus: testenv.UniqueID("cus_")}
}

func (b billingTenant) subEvent(typ, status string, at time.Time) []byte {
	return testenv.StripeEvent(testenv.UniqueID("evt_"), typ, at, testenv.StripeSubscription(b.sub, b.cus, b.id, status))
}

func (b billingTenant) invoiceEvent(typ string, at time.Time) []byte {
	return testenv.StripeEvent(testenv.UniqueID("evt_"), typ, at, testenv.StripeInvoice(testenv.UniqueID("in_"), b.sub, b.cus, b.id, 4900))
}

func eventID(t testing.TB, payload []byte) string {
	t.Helper()
	var e struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// latestHistory is the tenant's newest history entry.
func latestHistory(t testing.TB, tenantID string) map[string]any {
	t.Helper()
	snaps, err := fs(t).Collection("tenants/" + tenantID + "/history").Documents(fsCtx(t)).GetAll()
	if err != nil || len(snaps) == 0 {
		t.Fatalf("history of %s: %d entries, %v", tenantID, len(snaps), err)
	}
	var latest map[string]any
	var at time.Time
	for _, s := range snaps {
		d := s.Data()
		if a, _ := d["at"].(time.Time); latest == nil || a.After(at) {
			latest, at = d, a
		}
	}
	return latest
}

// ---------------------------------------------------------------------------------------------
// Billing setup with Stripe unreachable
// ---------------------------------------------------------------------------------------------

// recordingProxy forwards to stripe-mock, except while down, when it answers 503 or drops the
// connection; with dropAfter it forwards a request but drops stripe-mock's answer (a crash or a
// timeout after Stripe acted). It records the Idempotency-Key of every request stripe-mock
// answered with a 2xx.
type recordingProxy struct {
	*httptest.Server
	down      atomic.Bool
	dropAfter atomic.Bool
	mu        sync.Mutex
	refused   int
	forwarded map[string]int // key → successful forwards
	paths     map[string]string
}

func newRecordingProxy(t *testing.T, target string) *recordingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{forwarded: map[string]int{}, paths: map[string]string{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			p.mu.Lock()
			p.refused++
			n := p.refused
			p.mu.Unlock()
			if n%2 == 0 {
				// Half the time the connection just dies, as with a network failure.
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						_ = c.Close()
						return
					}
				}
			}
			http.Error(w, `{"error":{"message":"Stripe is unreachable (test proxy)"}}`, http.StatusServiceUnavailable)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		if rec.Code/100 == 2 {
			key := r.Header.Get("Idempotency-Key")
			p.mu.Lock()
			p.forwarded[key]++
			p.paths[key] = r.URL.Path
			p.mu.Unlock()
		}
		if p.dropAfter.CompareAndSwap(true, false) {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					_ = c.Close()
					return
				}
			}
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *recordingProxy) keys() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.forwarded))
	for k, v := range p.forwarded {
		out[k] = v
	}
	return out
}

func TestProvisioningWithStripeUnreachableSetsUpBillingOnceLater(t *testing.T) {
	t.Parallel()
	stripeMock := testenv.StripeMock(t)
	env := emulators(t).IsolatedProject(t) // the dispatcher claims every due entry of its project
	proxy := newRecordingProxy(t, stripeMock.URL)
	proxy.down.Store(true)

	cfg := testConfig(t)
	cfg.Project = env.Project
	cfg.StripeAPIURL = proxy.URL
	cfg.StripeTimeout = 2 * time.Second
	cfg.SMTPURL = "" // only billing here
	cfg.OutboxBackoffBase, cfg.OutboxBackoffCap = 5*time.Millisecond, 20*time.Millisecond
	cfg.OutboxMaxAttempts = 100
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })

	owner := auth.Principal{UID: testenv.UniqueID("uid-"), Email: testenv.UniqueID("o-") + "@example.test", EmailVerified: true}
	ctx := auth.WithPrincipal(context.Background(), owner)
	res, err := a.Tenancy.ProvisionSelfServe(ctx, tenancy.SelfServeInput{IdempotencyKey: testenv.UniqueID("key-"), OrganizationName: "Unreachable Stripe Inc"})
	if err != nil {
		t.Fatalf("provisioning with Stripe unreachable: %v", err)
	}
	tenantID := res.Tenant.ID
	if res.Tenant.Status != "trial" {
		t.Fatalf("status %s, want trial at once", res.Tenant.Status)
	}
	pass := func() {
		t.Helper()
		if _, err := a.Outbox.RunPass(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	ob := store.NewOutboxStore(a.Firestore())
	entryID := kinds.ID(kinds.BillingSetup{}, tenantID)

	// Stripe down: several attempts fail and the entry stays pending; the tenant works meanwhile.
	for range 4 {
		pass()
		time.Sleep(30 * time.Millisecond)
	}
	e, err := ob.Get(context.Background(), entryID)
	if err != nil || e.State != outbox.StatePending || e.Attempts < 2 || e.LastError == "" {
		t.Fatalf("billing.setup while Stripe is down: %+v, %v; want pending after several failed attempts", e, err)
	}
	if strings.Contains(e.LastError, stripeMock.SecretKey) {
		t.Errorf("the outbox error names the Stripe secret key: %q", e.LastError)
	}
	if n := len(proxy.keys()); n != 0 {
		t.Fatalf("%d requests reached stripe-mock while it was unreachable", n)
	}
	tv, err := a.Tenancy.Tenant(ctx, tenantID)
	if err != nil || tv.Tenant.Status != "trial" {
		t.Fatalf("tenant while Stripe is down: %+v, %v", tv.Tenant, err)
	}

	// Stripe back, but the first answer (the customer's) is lost on the way back: the retry
	// carries the same Idempotency-Key.
	proxy.down.Store(false)
	proxy.dropAfter.Store(true)
	deadline := time.Now().Add(20 * time.Second)
	for {
		pass()
		if e, err = ob.Get(context.Background(), entryID); err == nil && e.State == outbox.StateDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("billing.setup not done after Stripe came back: %+v, %v", e, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	keys := proxy.keys()
	byCall := map[string][]string{}
	for k := range keys {
		switch {
		case strings.HasSuffix(k, "-customer"):
			byCall["customer"] = append(byCall["customer"], k)
		case strings.HasSuffix(k, "-subscription"):
			byCall["subscription"] = append(byCall["subscription"], k)
		default:
			t.Errorf("a request reached stripe-mock with Idempotency-Key %q", k)
		}
	}
	for _, call := range []string{"customer", "subscription"} {
		if len(byCall[call]) != 1 {
			t.Errorf("%d distinct Idempotency-Keys for the %s call reached stripe-mock (%v), want exactly 1", len(byCall[call]), call, byCall[call])
		}
	}
	if want := entryID + "-customer"; keys[want] < 2 {
		t.Errorf("customer key %s forwarded %d times; the lost answer should have made the retry reuse it", want, keys[want])
	}
	snap, err := a.Firestore().Doc("billing/" + tenantID).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := snap.Data()
	cus, _ := d["stripeCustomerId"].(string)
	sub, _ := d["stripeSubscriptionId"].(string)
	if !strings.HasPrefix(cus, "cus_") || !strings.HasPrefix(sub, "sub_") || d["status"] != billing.RecordReady || d["stripeStatus"] == nil {
		t.Errorf("billing record after setup: %v", d)
	}
	// A second run of the entry (revived by an operator, say) calls Stripe no more.
	before := len(proxy.keys())
	if err := a.Billing.Setup(context.Background(), outbox.Delivery{Entry: e, IdempotencyKey: e.ID, Attempt: e.Attempts + 1}); err != nil {
		t.Fatal(err)
	}
	if after := len(proxy.keys()); after != before {
		t.Errorf("re-running a finished setup reached Stripe: %d keys, was %d", after, before)
	}
}

// ---------------------------------------------------------------------------------------------
// Webhook: every mapped event moves the tenant as the table says
// ---------------------------------------------------------------------------------------------

func TestWebhookMapsEveryEventThroughTheLifecycle(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)

	steps := []struct {
		name    string
		payload []byte
		outcome billing.Outcome
		status  string
		email   string // outbox kind the event queues
	}{
		{"subscription trialing keeps the trial", bt.subEvent(billing.EventSubscriptionCreated, "trialing", clk.tick()), billing.OutcomeNoChange, "trial", ""},
		{"trial_will_end queues the trial-ending email", bt.subEvent(billing.EventTrialWillEnd, "trialing", clk.tick()), billing.OutcomeApplied, "trial", "email.trial_ending"},
		{"invoice.paid activates", bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeApplied, "active", ""},
		{"subscription active is no change", bt.subEvent(billing.EventSubscriptionUpdated, "active", clk.tick()), billing.OutcomeNoChange, "active", ""},
		{"invoice.payment_failed makes past_due with the email", bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()), billing.OutcomeApplied, "past_due", "email.payment_failed"},
		{"subscription active after payment", bt.subEvent(billing.EventSubscriptionUpdated, "active", clk.tick()), billing.OutcomeApplied, "active", ""},
		{"subscription past_due makes past_due with the email", bt.subEvent(billing.EventSubscriptionUpdated, "past_due", clk.tick()), billing.OutcomeApplied, "past_due", "email.payment_failed"},
		{"subscription unpaid suspends", bt.subEvent(billing.EventSubscriptionUpdated, "unpaid", clk.tick()), billing.OutcomeApplied, "suspended", ""},
		{"invoice.paid restores a suspended tenant", bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeApplied, "active", ""},
		{"subscription canceled cancels", bt.subEvent(billing.EventSubscriptionUpdated, "canceled", clk.tick()), billing.OutcomeApplied, "cancelled", ""},
		{"cancelled is final: invoice.paid is refused and acknowledged", bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeRefused, "cancelled", ""},
	}
	for _, st := range steps {
		id := eventID(t, st.payload)
		s.mustDeliver(t, st.payload, st.outcome)
		if got := tenantStatus(t, bt.id); got != st.status {
			t.Fatalf("%s: tenant %s, want %s", st.name, got, st.status)
		}
		ev := mustDoc(t, "stripeEvents/"+id)
		if ev["outcome"] != string(st.outcome) || ev["tenantId"] != bt.id {
			t.Errorf("%s: stripeEvents/%s = %v", st.name, id, ev)
		}
		if st.outcome == billing.OutcomeApplied && st.email == "" {
			h := latestHistory(t, bt.id)
			if h["to"] != st.status || h["actorSystem"] != billing.WebhookActor || h["requestId"] != id {
				t.Errorf("%s: latest history entry %v, want to=%s actorSystem=%s requestId=%s", st.name, h, st.status, billing.WebhookActor, id)
			}
		}
		if st.email != "" {
			if !docExists(t, "outbox/"+st.email+"-"+bt.id+"-"+id) {
				t.Errorf("%s: outbox/%s-%s-%s missing", st.name, st.email, bt.id, id)
			}
		}
	}
	// Every change is audited with the webhook as actor and the event id as request id.
	snaps, err := fs(t).Collection("tenants/"+bt.id+"/audit").Where("actorSystem", "==", billing.WebhookActor).Documents(fsCtx(t)).GetAll()
	if err != nil || len(snaps) != 7 {
		t.Errorf("audit entries by the webhook: %d (%v), want 7 (one per status change)", len(snaps), err)
	}

	// customer.subscription.deleted cancels, on another tenant.
	other := newBillingTenant(t, s)
	s.mustDeliver(t, other.subEvent(billing.EventSubscriptionDeleted, "canceled", clk.tick()), billing.OutcomeApplied)
	if got := tenantStatus(t, other.id); got != "cancelled" {
		t.Errorf("after customer.subscription.deleted: %s, want cancelled", got)
	}
}

func TestWebhookMatchesByCustomerWhenMetadataIsMissing(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	testenv.UpdateDoc(t, fs(t), "billing/"+bt.id, map[string]any{"stripeCustomerId": bt.cus})
	inv := testenv.StripeInvoice(testenv.UniqueID("in_"), bt.sub, bt.cus, "", 100) // no tenant_id metadata
	s.mustDeliver(t, testenv.StripeEvent(testenv.UniqueID("evt_"), billing.EventInvoicePaid, clk.tick(), inv), billing.OutcomeApplied)
	if got := tenantStatus(t, bt.id); got != "active" {
		t.Errorf("invoice.paid matched by customer: tenant %s, want active", got)
	}
	// Neither metadata nor a known customer: acknowledged, recorded as unmatched.
	orphan := testenv.StripeEvent(testenv.UniqueID("evt_"), billing.EventInvoicePaid, clk.tick(),
		testenv.StripeInvoice(testenv.UniqueID("in_"), testenv.UniqueID("sub_"), testenv.UniqueID("cus_"), "", 100))
	s.mustDeliver(t, orphan, billing.OutcomeUnmatched)
}

func TestWebhookIgnoresUnknownStaleAndForeignEvents(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)

	unknown := testenv.StripeEvent(testenv.UniqueID("evt_"), "charge.refunded", clk.tick(), map[string]any{"id": "ch_1", "object": "charge"})
	s.mustDeliver(t, unknown, billing.OutcomeIgnored)
	if docExists(t, "stripeEvents/"+eventID(t, unknown)) {
		t.Error("an unknown event type was recorded")
	}

	old := clk.tick()
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeApplied)
	stale := bt.invoiceEvent(billing.EventInvoicePaymentFailed, old)
	s.mustDeliver(t, stale, billing.OutcomeStale)
	if got := tenantStatus(t, bt.id); got != "active" {
		t.Errorf("a stale payment failure moved the tenant to %s", got)
	}
	if ev := mustDoc(t, "stripeEvents/"+eventID(t, stale)); ev["outcome"] != string(billing.OutcomeStale) {
		t.Errorf("stale event record: %v", ev)
	}

	// Events about another subscription of the tenant (not a newly created one) move nothing.
	foreign := testenv.StripeEvent(testenv.UniqueID("evt_"), billing.EventSubscriptionUpdated, clk.tick(),
		testenv.StripeSubscription(testenv.UniqueID("sub_"), bt.cus, bt.id, "unpaid"))
	s.mustDeliver(t, foreign, billing.OutcomeOtherSubscription)
	if got := tenantStatus(t, bt.id); got != "active" {
		t.Errorf("another subscription's event moved the tenant to %s", got)
	}

	// An event in another API version is still processed (and logged with a warning).
	var ev map[string]any
	_ = json.Unmarshal(bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()), &ev)
	ev["api_version"] = "2024-06-20"
	other, _ := json.Marshal(ev)
	s.mustDeliver(t, other, billing.OutcomeApplied)
	if got := tenantStatus(t, bt.id); got != "past_due" {
		t.Errorf("event in another API version: tenant %s, want past_due", got)
	}
}

func TestCheckoutSubscriptionSupersedesTheSetupOne(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionCreated, "trialing", clk.tick()), billing.OutcomeNoChange)
	bought := billingTenant{owner: bt.owner, id: bt.id, cus: bt.cus, sub: testenv.UniqueID("sub_")}
	created := bought.subEvent(billing.EventSubscriptionCreated, "active", clk.tick())
	s.mustDeliver(t, created, billing.OutcomeApplied)
	d := mustDoc(t, "billing/"+bt.id)
	if d["stripeSubscriptionId"] != bought.sub || tenantStatus(t, bt.id) != "active" {
		t.Errorf("after the Checkout subscription: billing %v, tenant %s", d, tenantStatus(t, bt.id))
	}
	cancel := mustDoc(t, "outbox/"+kinds.ID(kinds.CancelSuperseded{}, eventID(t, created)))
	if p, _ := cancel["payload"].(map[string]any); p["subscriptionId"] != bt.sub {
		t.Errorf("cancel_superseded entry: %v, want the setup subscription %s", cancel, bt.sub)
	}
	// The superseded subscription's cancellation does not cancel the tenant.
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionDeleted, "canceled", clk.tick()), billing.OutcomeOtherSubscription)
	if got := tenantStatus(t, bt.id); got != "active" {
		t.Errorf("superseded subscription deleted: tenant %s, want active", got)
	}
}

// ---------------------------------------------------------------------------------------------
// Past due: writes refused by the API and the rules; the owner can still pay; paid reopens
// ---------------------------------------------------------------------------------------------

const billingQuery = `query($id: ID!) { tenant(id: $id) { status access { canWrite } billing { plan { id } stripeStatus nextRenewalAt warning message } } }`

func restWrite(t testing.TB, tenantID, token string) int {
	t.Helper()
	path := "tenants/" + tenantID + "/notes/" + testenv.UniqueID("n-")
	code, _ := emulators(t).FirestoreREST(t, http.MethodPatch, path, token, map[string]any{
		"fields": map[string]any{"text": map[string]any{"stringValue": "hello"}},
	})
	return code
}

func TestPastDueClosesWritesInTheAPIAndTheRulesUntilPaid(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	member := join(t, s, bt.owner.IDToken, bt.id, "MEMBER")
	if code := restWrite(t, bt.id, member.IDToken); code != http.StatusOK {
		t.Fatalf("member's REST write in trial: HTTP %d, want 200 (the rules must allow it before the test means anything)", code)
	}

	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()), billing.OutcomeApplied)
	if code := restWrite(t, bt.id, member.IDToken); code != http.StatusForbidden {
		t.Errorf("member's REST write while past_due: HTTP %d, want 403 from the rules", code)
	}
	if code := restWrite(t, bt.id, bt.owner.IDToken); code != http.StatusForbidden {
		t.Errorf("owner's REST write while past_due: HTTP %d, want 403 from the rules", code)
	}
	_, errs := s.invite(t, bt.owner.IDToken, bt.id, freshEmail("pd"), "MEMBER")
	wantCode(t, errs, "TENANT_READ_ONLY", "")

	// The owner sees why and can still pay.
	st, data, gerrs := s.gql(t, bt.owner.IDToken, billingQuery, map[string]any{"id": bt.id})
	var q struct {
		Tenant struct {
			Status string `json:"status"`
			Access struct {
				CanWrite bool `json:"canWrite"`
			} `json:"access"`
			Billing *struct {
				StripeStatus *string `json:"stripeStatus"`
				Warning      bool    `json:"warning"`
				Message      *string `json:"message"`
			} `json:"billing"`
		} `json:"tenant"`
	}
	mustData(t, st, data, gerrs, &q)
	if q.Tenant.Status != "PAST_DUE" || q.Tenant.Access.CanWrite || q.Tenant.Billing == nil || !q.Tenant.Billing.Warning ||
		q.Tenant.Billing.Message == nil || q.Tenant.Billing.StripeStatus == nil || *q.Tenant.Billing.StripeStatus != "past_due" {
		t.Errorf("past_due tenant as its owner sees it: %s", data)
	}
	st, data, gerrs = s.gql(t, bt.owner.IDToken, `mutation($id: ID!) { createBillingPortalSession(tenantId: $id) { url } }`, map[string]any{"id": bt.id})
	var portal struct {
		CreateBillingPortalSession struct {
			URL string `json:"url"`
		} `json:"createBillingPortalSession"`
	}
	mustData(t, st, data, gerrs, &portal)
	if !strings.HasPrefix(portal.CreateBillingPortalSession.URL, "https://") {
		t.Errorf("portal URL %q", portal.CreateBillingPortalSession.URL)
	}

	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()), billing.OutcomeApplied)
	if code := restWrite(t, bt.id, member.IDToken); code != http.StatusOK {
		t.Errorf("member's REST write after invoice.paid: HTTP %d, want 200", code)
	}
	s.mustInvite(t, bt.owner.IDToken, bt.id, freshEmail("paid"), "MEMBER")
}

// ---------------------------------------------------------------------------------------------
// Redeliveries: three times each, shuffled, concurrently
// ---------------------------------------------------------------------------------------------

func TestShuffledRedeliveriesEndInTheNewestEventsState(t *testing.T) {
	t.Parallel()
	s := shared(t)
	stripeMock := testenv.StripeMock(t)
	for _, c := range []struct {
		name   string
		last   func(b billingTenant, at time.Time) []byte
		status string
		stripe string
	}{
		{"newest is a payment failure", func(b billingTenant, at time.Time) []byte {
			return b.invoiceEvent(billing.EventInvoicePaymentFailed, at)
		}, "past_due", "past_due"},
		{"newest is a payment", func(b billingTenant, at time.Time) []byte {
			return b.subEvent(billing.EventSubscriptionUpdated, "active", at)
		}, "active", "active"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := newEventClock()
			bt := newBillingTenant(t, s)
			// Never a status the newest event's target cannot be reached from (unpaid, canceled):
			// the lifecycle would rightly refuse it, and the test is about order, not the table.
			events := [][]byte{
				bt.subEvent(billing.EventSubscriptionCreated, "trialing", clk.tick()),
				bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()),
				bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()),
				bt.subEvent(billing.EventSubscriptionUpdated, "past_due", clk.tick()),
				bt.invoiceEvent(billing.EventInvoicePaid, clk.tick()),
				bt.subEvent(billing.EventSubscriptionUpdated, "active", clk.tick()),
				bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick()),
			}
			newest := c.last(bt, clk.tick())
			events = append(events, newest)
			var deliveries [][]byte
			for _, e := range events {
				deliveries = append(deliveries, e, e, e)
			}
			rand.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

			work := make(chan []byte)
			var wg sync.WaitGroup
			var failures atomic.Int32
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for p := range work {
						code, body, err := s.tryDeliver(stripeMock.Sign(p, time.Time{}), p)
						if err != nil || code != http.StatusOK {
							failures.Add(1)
							t.Errorf("delivery: HTTP %d %s %v", code, body, err)
						}
					}
				}()
			}
			for _, p := range deliveries {
				work <- p
			}
			close(work)
			wg.Wait()
			if failures.Load() > 0 {
				t.FailNow()
			}
			if got := tenantStatus(t, bt.id); got != c.status {
				t.Errorf("tenant %s after shuffled redeliveries, want %s (the newest event's)", got, c.status)
			}
			d := mustDoc(t, "billing/"+bt.id)
			if d["stripeStatus"] != c.stripe || d["lastEventId"] != eventID(t, newest) {
				t.Errorf("billing record: stripeStatus %v lastEventId %v, want %s and the newest event %s", d["stripeStatus"], d["lastEventId"], c.stripe, eventID(t, newest))
			}
			if n := countWhere(t, "stripeEvents", "tenantId", bt.id); n != len(events) {
				t.Errorf("%d stripeEvents records for %d events delivered 3 times each", n, len(events))
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Bad deliveries: 400, nothing changes
// ---------------------------------------------------------------------------------------------

func TestBadWebhookDeliveriesAre400AndChangeNothing(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	stripeMock := testenv.StripeMock(t)
	good := bt.invoiceEvent(billing.EventInvoicePaymentFailed, clk.tick())
	big := testenv.StripeEvent(testenv.UniqueID("evt_"), billing.EventInvoicePaymentFailed, clk.tick(), func() map[string]any {
		o := testenv.StripeInvoice(testenv.UniqueID("in_"), bt.sub, bt.cus, bt.id, 100)
		o["description"] = strings.Repeat("x", 65<<10)
		return o
	}())
	forged := testenv.StripeEnv{WebhookSecret: "whsec_not_ours"}
	for _, c := range []struct {
		name      string
		payload   []byte
		signature string
	}{
		{"no signature", good, ""},
		{"signed with another secret", good, forged.Sign(good, time.Time{})},
		{"signature of another body", good, stripeMock.Sign([]byte(`{"id":"evt_other"}`), time.Time{})},
		{"timestamp older than 300 s", good, stripeMock.Sign(good, time.Now().Add(-6*time.Minute))},
		{"garbage header", good, "t=abc,v1=zz"},
		{"oversized body", big, stripeMock.Sign(big, time.Time{})},
		{"malformed body, validly signed", []byte(`{"id": "evt_1", "type": `), stripeMock.Sign([]byte(`{"id": "evt_1", "type": `), time.Time{})},
		{"subscription object that is not one, validly signed", []byte(`{"id":"evt_x","type":"customer.subscription.updated","created":1700000000,"data":{"object":"nope"}}`),
			stripeMock.Sign([]byte(`{"id":"evt_x","type":"customer.subscription.updated","created":1700000000,"data":{"object":"nope"}}`), time.Time{})},
	} {
		code, body, err := s.tryDeliver(c.signature, c.payload)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", c.name, code, body)
		}
		if strings.Contains(body, stripeMock.WebhookSecret) {
			t.Errorf("%s: the answer names the webhook secret", c.name)
		}
	}
	if got := tenantStatus(t, bt.id); got != "trial" {
		t.Errorf("tenant %s after refused deliveries, want trial", got)
	}
	for _, p := range [][]byte{good, big} {
		if docExists(t, "stripeEvents/"+eventID(t, p)) {
			t.Errorf("a refused delivery was recorded: %s", eventID(t, p))
		}
	}
	// The same event, properly signed, is then applied.
	s.mustDeliver(t, good, billing.OutcomeApplied)
}

// ---------------------------------------------------------------------------------------------
// Checkout, portal and Tenant.billing: the owner's, in every status but cancelled
// ---------------------------------------------------------------------------------------------

const checkoutMutation = `mutation($id: ID!, $plan: ID!) { createCheckoutSession(tenantId: $id, planId: $plan) { url } }`
const portalMutation = `mutation($id: ID!) { createBillingPortalSession(tenantId: $id) { url } }`

func TestBillingSessionsAreTheOwnersInEveryStatusButCancelled(t *testing.T) {
	t.Parallel()
	s := shared(t)
	bt := newBillingTenant(t, s)
	admin := join(t, s, bt.owner.IDToken, bt.id, "ADMIN")
	stranger := newUser(t)

	// Before the billing setup ran: Checkout creates the customer with the setup's own key.
	st, data, errs := s.gql(t, bt.owner.IDToken, checkoutMutation, map[string]any{"id": bt.id, "plan": "pro"})
	var co struct {
		CreateCheckoutSession struct {
			URL string `json:"url"`
		} `json:"createCheckoutSession"`
	}
	mustData(t, st, data, errs, &co)
	if !strings.HasPrefix(co.CreateCheckoutSession.URL, "https://checkout.stripe.com/") {
		t.Errorf("Checkout URL %q", co.CreateCheckoutSession.URL)
	}
	if cus, _ := mustDoc(t, "billing/"+bt.id)["stripeCustomerId"].(string); !strings.HasPrefix(cus, "cus_") {
		t.Errorf("Checkout before the setup did not save the customer: %q", cus)
	}

	_, _, errs = s.gql(t, bt.owner.IDToken, checkoutMutation, map[string]any{"id": bt.id, "plan": "no-such-plan"})
	wantCode(t, errs, "BAD_USER_INPUT", "planId")
	_, _, errs = s.gql(t, admin.IDToken, portalMutation, map[string]any{"id": bt.id})
	wantCode(t, errs, "FORBIDDEN", "")
	_, _, errs = s.gql(t, admin.IDToken, checkoutMutation, map[string]any{"id": bt.id, "plan": "pro"})
	wantCode(t, errs, "FORBIDDEN", "")
	_, _, errs = s.gql(t, stranger.IDToken, portalMutation, map[string]any{"id": bt.id})
	wantCode(t, errs, "NOT_FOUND", "")

	// Tenant.billing: the owner's; null with FORBIDDEN for an admin, the rest still answers.
	st, data, errs = s.gql(t, admin.IDToken, billingQuery, map[string]any{"id": bt.id})
	if len(errs) != 1 || errs[0].Code() != "FORBIDDEN" || !strings.Contains(string(data), `"billing":null`) || !strings.Contains(string(data), `"status":"TRIAL"`) {
		t.Errorf("Tenant.billing for an admin: HTTP %d %s %+v", st, data, errs)
	}

	for _, status := range []string{"trial_expired", "past_due", "suspended", "active"} {
		setTenant(t, bt.id, map[string]any{"status": status})
		for _, q := range []struct {
			query string
			vars  map[string]any
		}{{portalMutation, map[string]any{"id": bt.id}}, {checkoutMutation, map[string]any{"id": bt.id, "plan": "starter"}}} {
			if _, _, errs := s.gql(t, bt.owner.IDToken, q.query, q.vars); len(errs) != 0 {
				t.Errorf("owner in %s: %+v", status, errs)
			}
		}
	}
	setTenant(t, bt.id, map[string]any{"status": "cancelled"})
	_, _, errs = s.gql(t, bt.owner.IDToken, portalMutation, map[string]any{"id": bt.id})
	wantCode(t, errs, "TENANT_SUSPENDED", "")
	_, _, errs = s.gql(t, bt.owner.IDToken, checkoutMutation, map[string]any{"id": bt.id, "plan": "pro"})
	wantCode(t, errs, "TENANT_SUSPENDED", "")
}

func TestTenantBillingForTheOwner(t *testing.T) {
	t.Parallel()
	s, clk, bt := billingCase(t)
	read := func() string {
		st, data, errs := s.gql(t, bt.owner.IDToken, billingQuery, map[string]any{"id": bt.id})
		var q json.RawMessage
		mustData(t, st, data, errs, &q)
		return string(data)
	}
	if d := read(); !strings.Contains(d, `"stripeStatus":null`) || !strings.Contains(d, `"plan":{"id":"trial"}`) || !strings.Contains(d, `"warning":false`) {
		t.Errorf("before setup: %s", d)
	}
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionUpdated, "active", clk.tick()), billing.OutcomeApplied)
	if d := read(); !strings.Contains(d, `"stripeStatus":"active"`) || strings.Contains(d, `"nextRenewalAt":null`) || !strings.Contains(d, `"warning":false`) {
		t.Errorf("active: %s", d)
	}
	s.mustDeliver(t, bt.subEvent(billing.EventSubscriptionUpdated, "past_due", clk.tick()), billing.OutcomeApplied)
	if d := read(); !strings.Contains(d, `"warning":true`) || !strings.Contains(d, "payment failed") {
		t.Errorf("past_due: %s", d)
	}
}

func TestWebhookWithoutSecretIs500SoStripeKeepsTheEvent(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *config.Config) { c.StripeWebhookSecret = "" }, app.Options{})
	bt := newBillingTenant(t, shared(t))
	p := bt.invoiceEvent(billing.EventInvoicePaid, time.Now())
	code, body := s.deliver(t, p)
	if code != http.StatusInternalServerError || strings.Contains(body, testenv.StripeMock(t).WebhookSecret) {
		t.Errorf("without STRIPE_WEBHOOK_SECRET: HTTP %d %s, want 500", code, body)
	}
	if docExists(t, "stripeEvents/"+eventID(t, p)) || tenantStatus(t, bt.id) != "trial" {
		t.Error("an unverified event was applied")
	}
}

func TestWebhookMetrics(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, app.Options{})
	bt := newBillingTenant(t, shared(t))
	s.mustDeliver(t, bt.invoiceEvent(billing.EventInvoicePaid, time.Now()), billing.OutcomeApplied)
	if code, _, err := s.tryDeliver("t=1,v1=00", []byte(`{}`)); err != nil || code != http.StatusBadRequest {
		t.Fatalf("forged delivery: HTTP %d %v", code, err)
	}
	_, body := s.do(t, http.MethodGet, "/metrics", nil, nil)
	for _, want := range []string{
		`tenantry_stripe_webhook_events_total{outcome="applied",type="invoice.paid"} 1`,
		`tenantry_stripe_webhook_events_total{outcome="invalid",type="other"} 1`,
		`tenantry_http_requests_total{code="400",route="/webhooks/stripe"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
