package app_test

// Tests of the wiring around the outbox: provisioning through the domain, the dispatcher and the
// email handler together; the scheduler's leases; /metrics. Each test runs in a
// Firestore project of its own (a dispatcher claims every due entry it sees).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/email"
	"github.com/tenantry/tenantry/internal/events"
	"github.com/tenantry/tenantry/internal/export"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

type fixture struct {
	app *app.App
	fs  *firestore.Client
	mp  *testenv.MailpitClient
	box testenv.Mailbox
}

func newApp(t *testing.T, clk clock.Clock, mutate func(*config.Config)) fixture {
	t.Helper()
	env := testenv.Require(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	cfg.Project = env.Project
	cfg.SMTPURL = mp.SMTPURL
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(context.Background(), cfg, app.Options{Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return fixture{app: a, fs: env.Firestore(t), mp: mp, box: mp.NewMailbox()}
}

func TestFiftyReplaysOfOneProvisioningSendOneWelcomeEmail(t *testing.T) {
	t.Parallel()
	// Without Stripe, so that billing.setup shows it is left alone (tests/billing_test.go runs it).
	f := newApp(t, nil, func(c *config.Config) { c.StripeSecretKey = "" })
	owner := auth.Principal{UID: testenv.UniqueID("uid-"), Email: f.box.Address("owner"), EmailVerified: true}
	ctx := auth.WithPrincipal(context.Background(), owner)
	in := tenancy.SelfServeInput{IdempotencyKey: testenv.UniqueID("key-") + "-0000", OrganizationName: "Initech"}

	const calls = 50
	results := make([]tenancy.ProvisionResult, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = f.app.Tenancy.ProvisionSelfServe(ctx, in) }()
	}
	wg.Wait()
	tenantID, fresh := "", 0
	for i := range calls {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if tenantID == "" {
			tenantID = results[i].Tenant.ID
		}
		if results[i].Tenant.ID != tenantID {
			t.Fatalf("call %d provisioned tenant %s, another call %s", i, results[i].Tenant.ID, tenantID)
		}
		if !results[i].Replayed {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d calls were answered as new, want 1 (and 49 replays)", fresh)
	}
	// The answers could agree while a second tenant was written: count what is stored (the
	// project is the test's own, so every tenant in it comes from these calls).
	refs, err := f.fs.Collection("tenants").DocumentRefs(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, r := range refs {
		stored = append(stored, r.ID)
	}
	if len(stored) != 1 || stored[0] != tenantID {
		t.Fatalf("tenants stored for 50 calls with one idempotency key: %v, want only %s", stored, tenantID)
	}
	// Dispatch more than once: a later pass must not send again.
	for range 3 {
		if _, err := f.app.Outbox.RunPass(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	f.box.WaitFor(1, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	msgs := f.box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d welcome emails for 50 replays of one provisioning, want 1", len(msgs))
	}
	entryID := kinds.ID(kinds.WelcomeEmail{}, tenantID)
	if msgs[0].MessageID != email.MessageID(entryID) || !strings.Contains(msgs[0].Subject, "Initech") {
		t.Errorf("welcome email: Message-ID %q subject %q", msgs[0].MessageID, msgs[0].Subject)
	}
	ob := store.New(f.fs).Outbox()
	if e, err := ob.Get(context.Background(), entryID); err != nil || e.State != outbox.StateDone || e.Attempts != 1 {
		t.Errorf("welcome entry: %+v, %v; want done after 1 attempt", e, err)
	}
	// billing.setup needs Stripe, which this app has not: left pending and untouched.
	b, err := ob.Get(context.Background(), kinds.ID(kinds.BillingSetup{}, tenantID))
	if err != nil || b.State != outbox.StatePending || b.Attempts != 0 || b.LeaseOwner != "" {
		t.Errorf("billing.setup entry: %+v, %v; want pending and never claimed", b, err)
	}
}

// Every kind a producer can write has exactly one handler in an app with SMTP, Stripe, an events
// URL and an exports bucket (the dispatcher refuses a second), and an app without them knows every
// kind, so that it leaves the entries for a dispatcher that has them instead of dead-lettering them.
func TestEveryOutboxKindHasOneHandler(t *testing.T) {
	t.Parallel()
	_, bucket := testenv.Storage(t)
	f := newApp(t, nil, func(c *config.Config) {
		c.ExportBucket = bucket
		if c.StripeSecretKey == "" {
			c.StripeSecretKey = "sk_test_kinds"
		}
		c.EventsURL, c.EventsSecret = "http://127.0.0.1:9/events", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	})
	if got, want := f.app.Outbox.Kinds(), kinds.Names(); !slices.Equal(got, want) {
		t.Errorf("the app handles %v; producers write %v", got, want)
	}
	if known := slices.Sorted(slices.Values(slices.Concat(email.Kinds, billing.Kinds, events.Kinds, export.Kinds))); !slices.Equal(known, kinds.Names()) {
		t.Errorf("without SMTP, Stripe and an events URL the app knows %v; producers write %v", known, kinds.Names())
	}
}

func TestServeBackgroundDispatchesAndExportsOutboxMetrics(t *testing.T) {
	t.Parallel()
	f := newApp(t, nil, func(c *config.Config) {
		c.OutboxPollInterval = 50 * time.Millisecond
		c.OutboxMetricsInterval = time.Second
		c.JobIntervals = "purge-idempotency-records=1s,expire-trials=off"
	})
	ob := store.New(f.fs).Outbox()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One entry that will be dead-lettered (malformed), to see every state in the gauge.
	if err := ob.Enqueue(ctx, "email.welcome-bad", kinds.WelcomeEmail{}.Kind(), "bad", map[string]any{"organizationName": "X"}, clock.System{}.Now()); err != nil {
		t.Fatal(err)
	}
	wait, err := f.app.StartBackground(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := testenv.UniqueID("t")
	if err := ob.Enqueue(ctx, "email.welcome-"+id, kinds.WelcomeEmail{}.Kind(), id, map[string]any{"to": f.box.Address("bg"), "organizationName": "Hooli"}, clock.System{}.Now()); err != nil {
		t.Fatal(err)
	}
	f.box.WaitFor(1, 15*time.Second)
	// The email lands before the dispatcher records the entry as done: wait for both entries to
	// settle, so the gauge is read after the facts it reports.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		good, err1 := ob.Get(ctx, "email.welcome-"+id)
		bad, err2 := ob.Get(ctx, "email.welcome-bad")
		if err1 == nil && err2 == nil && good.State == outbox.StateDone && bad.State == outbox.StateDead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries did not settle in 15s: %s %v, %s %v", good.State, err1, bad.State, err2)
		}
	}

	srv := httptest.NewServer(f.app.Handler())
	defer srv.Close()
	wants := []string{
		`tenantry_outbox_entries{state="done"} 1`,
		`tenantry_outbox_entries{state="dead"} 1`,
		`tenantry_outbox_entries{state="pending"} 0`,
		`tenantry_outbox_attempts_total{kind="email.welcome",outcome="done"} 1`,
		`tenantry_outbox_attempts_total{kind="email.welcome",outcome="dead"} 1`,
	}
	// The background loop refreshes the gauge every second too, and a refresh that started before
	// the entries settled may land after ours: read until the gauge has converged.
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := f.app.RefreshOutboxMetrics(ctx); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %v after 10s", missing)
		}
	}
	// The scheduler ran purge-idempotency-records under its lease and recorded the run on it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		snap, err := f.fs.Collection("jobLeases").Doc("purge-idempotency-records").Get(ctx)
		if err == nil {
			if s, _ := snap.DataAt("lastRun.summary"); strings.Contains(fmt.Sprint(s), "deleted 0 expired idempotency records") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled run of purge-idempotency-records recorded in jobLeases after 10s (%v)", err)
		}
	}
	cancel()
	if !wait(5 * time.Second) {
		t.Error("the background loops did not stop within 5s of cancellation")
	}
}
