package outbox_test

// Integration tests: the dispatcher against the real Firestore emulator and mailpit. Each test
// uses a Firestore project of its own (testenv.IsolatedProject), because a dispatcher claims every
// due entry it can see; and a mailbox domain of its own in the shared mailpit.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/email"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

type fixture struct {
	fs     *firestore.Client
	st     *store.Store
	ob     *store.OutboxStore
	mp     *testenv.MailpitClient
	box    testenv.Mailbox
	mailer *email.Mailer
}

func setup(t *testing.T) fixture {
	t.Helper()
	env := testenv.Require(t).IsolatedProject(t)
	fs := env.Firestore(t)
	st := store.New(fs)
	mp := testenv.Mailpit(t)
	return fixture{fs: fs, st: st, ob: st.Outbox(), mp: mp, box: mp.NewMailbox(), mailer: newMailer(t, mp.SMTPURL, st)}
}

func newMailer(t *testing.T, smtpURL string, dir email.Directory) *email.Mailer {
	t.Helper()
	sender, err := email.NewSMTPSender(email.SMTPConfig{URL: smtpURL, From: "Tenantry <no-reply@tenantry.local>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("NewSMTPSender(%s): %v", smtpURL, err)
	}
	m, err := email.NewMailer(sender, dir, "http://localhost:5173", sender.Product())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// welcome enqueues n welcome entries addressed to the fixture's mailbox and returns their ids.
func (f fixture) welcome(t *testing.T, n int, now time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		tenantID := testenv.UniqueID("t")
		ids[i] = kinds.ID(kinds.WelcomeEmail{}, tenantID)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs <- f.ob.Enqueue(context.Background(), ids[i], kinds.WelcomeEmail{}.Kind(), tenantID, map[string]any{
				"to": f.box.Address(fmt.Sprintf("owner%03d", i)), "uid": "uid-" + tenantID, "organizationName": fmt.Sprintf("Org %03d", i),
			}, now)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("enqueue: %v", err)
		}
	}
	return ids
}

func (f fixture) entry(t *testing.T, id string) outbox.Entry {
	t.Helper()
	e, err := f.ob.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("read outbox/%s: %v", id, err)
	}
	return e
}

func maxJitter(d time.Duration) time.Duration { return d }

func TestTwoDispatchersDeliver200WelcomeEmailsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ids := f.welcome(t, 200, clock.System{}.Now())

	var perOwner [2]atomic.Int64
	var lost atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		d := outbox.NewDispatcher(f.ob, clock.System{}, outbox.Config{
			Owner: fmt.Sprintf("dispatcher-%d", i), BatchSize: 25, Concurrency: 4,
			Observe: func(kind, outcome string, _ time.Duration) {
				switch outcome {
				case "done":
					perOwner[i].Add(1)
				case "lost":
					lost.Add(1)
				}
			},
		})
		f.mailer.Register(d)
		wg.Add(1)
		go func() { defer wg.Done(); <-start; _ = d.Run(ctx, 20*time.Millisecond) }()
	}
	close(start) // both start together, so both find due entries
	f.box.WaitFor(200, 90*time.Second)
	// Give a duplicate, if there were one, the time to land before counting.
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()

	msgs := f.box.Messages()
	if len(msgs) != 200 {
		t.Errorf("mailpit received %d messages for the 200 entries, want 200", len(msgs))
	}
	perRecipient := map[string]int{}
	perMessageID := map[string]int{}
	for _, m := range msgs {
		for _, to := range m.To {
			perRecipient[to.Address]++
		}
		perMessageID[m.MessageID]++
	}
	for addr, n := range perRecipient {
		if n != 1 {
			t.Errorf("%s received %d emails, want 1", addr, n)
		}
	}
	if len(perRecipient) != 200 || len(perMessageID) != 200 {
		t.Errorf("%d distinct recipients and %d distinct Message-IDs, want 200 of each", len(perRecipient), len(perMessageID))
	}
	for _, id := range ids {
		if _, ok := perMessageID[email.MessageID(id)]; !ok {
			t.Errorf("no email with Message-ID <%s>", email.MessageID(id))
			break
		}
	}
	for _, id := range ids {
		e := f.entry(t, id)
		if e.State != outbox.StateDone || e.Attempts != 1 || e.DoneAt.IsZero() || e.LeaseOwner != "" {
			t.Errorf("outbox/%s: state %s, attempts %d, doneAt %v, lease %q; want done after 1 attempt, lease cleared",
				id, e.State, e.Attempts, e.DoneAt, e.LeaseOwner)
		}
	}
	a, b := perOwner[0].Load(), perOwner[1].Load()
	t.Logf("dispatcher-0 delivered %d, dispatcher-1 delivered %d, claims lost to the other: %d", a, b, lost.Load())
	if a+b != 200 {
		t.Errorf("the dispatchers report %d+%d=%d deliveries, want 200", a, b, a+b)
	}
	// Once only proves something if both dispatchers competed for the entries.
	if a == 0 || b == 0 {
		t.Errorf("dispatcher-0 delivered %d and dispatcher-1 %d: want both to deliver some, or the two never contended", a, b)
	}
}

// closedSMTP returns an smtp:// URL on a loopback port where nothing listens.
func closedSMTP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "smtp://" + addr
}

func TestSMTPDownRetriesWithGrowingDelaysThenDeliversAll(t *testing.T) {
	t.Parallel()
	f := setup(t)
	clk := clock.NewManual(time.Now())
	ids := f.welcome(t, 10, clk.Now())
	cfg := outbox.Config{Owner: "down", BackoffBase: 2 * time.Second, BackoffCap: 10 * time.Minute, Jitter: maxJitter}
	down := outbox.NewDispatcher(f.ob, clk, cfg)
	newMailer(t, closedSMTP(t), f.st).Register(down)
	ctx := context.Background()

	wantDelays := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}
	for attempt, delay := range wantDelays {
		st, err := down.RunPass(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Claimed != 10 || st.Retried != 10 {
			t.Fatalf("pass %d with SMTP down: %s; want 10 claimed and retried", attempt+1, st)
		}
		now := clk.Now()
		for _, id := range ids {
			e := f.entry(t, id)
			if e.State != outbox.StatePending || e.Attempts != attempt+1 {
				t.Fatalf("outbox/%s after failed attempt %d: state %s attempts %d", id, attempt+1, e.State, e.Attempts)
			}
			if got := e.NextAttemptAt.Sub(now); got != delay {
				t.Errorf("outbox/%s after failed attempt %d: next attempt in %s, want %s", id, attempt+1, got, delay)
			}
			if !strings.Contains(e.LastError, "127.0.0.1") || e.LastErrorAt.IsZero() {
				t.Errorf("outbox/%s: lastError %q (at %v), want the SMTP dial error", id, e.LastError, e.LastErrorAt)
			}
		}
		// Not due before the delay is over.
		clk.Advance(delay - time.Second)
		if st, _ := down.RunPass(ctx, nil); st.Claimed != 0 {
			t.Errorf("a pass %s before the retry is due claimed %d entries", time.Second, st.Claimed)
		}
		clk.Advance(time.Second)
	}
	if n := len(f.box.Messages()); n != 0 {
		t.Fatalf("%d emails arrived while SMTP was down", n)
	}

	// SMTP is back: another dispatcher, with the real mailpit, delivers everything once.
	up := outbox.NewDispatcher(f.ob, clk, outbox.Config{Owner: "up", Jitter: maxJitter})
	f.mailer.Register(up)
	st, err := up.RunPass(ctx, nil)
	if err != nil || st.Done != 10 {
		t.Fatalf("pass with SMTP back: %s, %v; want 10 done", st, err)
	}
	f.box.WaitFor(10, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if msgs := f.box.Messages(); len(msgs) != 10 {
		t.Errorf("%d emails after SMTP came back, want 10", len(msgs))
	}
	for _, id := range ids {
		if e := f.entry(t, id); e.State != outbox.StateDone || e.Attempts != 4 {
			t.Errorf("outbox/%s: state %s attempts %d, want done after 4 attempts", id, e.State, e.Attempts)
		}
	}
}

func TestPoisonEntryIsDeadLetteredWithoutHoldingUpOthers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	clk := clock.NewManual(time.Now())
	ctx := context.Background()
	good := f.welcome(t, 20, clk.Now())
	if err := f.ob.Enqueue(ctx, "test.poison-1", "test.poison", "t-poison", map[string]any{"n": 1}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	// A malformed payload cannot succeed however often it is tried: dead at the first attempt.
	if err := f.ob.Enqueue(ctx, "email.welcome-malformed", kinds.WelcomeEmail{}.Kind(), "t-malformed",
		map[string]any{"to": "not an address", "organizationName": "X"}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	var healed atomic.Bool
	var poisonRuns atomic.Int64
	d := outbox.NewDispatcher(f.ob, clk, outbox.Config{Owner: "p", MaxAttempts: 3, BackoffBase: time.Second, Jitter: maxJitter})
	f.mailer.Register(d)
	d.Handle("test.poison", func(ctx context.Context, dl outbox.Delivery) error {
		poisonRuns.Add(1)
		if healed.Load() {
			return nil
		}
		return errors.New("boom: the downstream API rejects this entry")
	})

	st, err := d.RunPass(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != 20 || st.Retried != 1 || st.Dead != 1 {
		t.Fatalf("first pass: %s; want the 20 good entries done, the poison retried, the malformed one dead", st)
	}
	if n := len(f.box.WaitFor(20, 10*time.Second)); n != 20 {
		t.Errorf("%d emails, want 20", n)
	}
	for _, id := range good {
		if e := f.entry(t, id); e.State != outbox.StateDone {
			t.Errorf("outbox/%s: %s, want done", id, e.State)
		}
	}
	if e := f.entry(t, "email.welcome-malformed"); e.State != outbox.StateDead || e.Attempts != 1 || !strings.Contains(e.LastError, "not an email address") {
		t.Errorf("malformed entry: state %s attempts %d lastError %q; want dead after 1 attempt with the reason", e.State, e.Attempts, e.LastError)
	}

	clk.Advance(time.Second)
	if st, _ = d.RunPass(ctx, nil); st.Retried != 1 {
		t.Fatalf("second pass: %s; want the poison retried", st)
	}
	clk.Advance(2 * time.Second)
	if st, _ = d.RunPass(ctx, nil); st.Dead != 1 {
		t.Fatalf("third pass: %s; want the poison dead-lettered", st)
	}
	p := f.entry(t, "test.poison-1")
	if p.State != outbox.StateDead || p.Attempts != 3 || !strings.Contains(p.LastError, "boom") || p.DeadAt.IsZero() {
		t.Errorf("poison: state %s attempts %d lastError %q deadAt %v; want dead after 3 attempts", p.State, p.Attempts, p.LastError, p.DeadAt)
	}
	clk.Advance(time.Hour)
	if st, _ = d.RunPass(ctx, nil); st.Claimed != 0 || poisonRuns.Load() != 3 {
		t.Errorf("after dead-lettering: pass %s, poison ran %d times; want no more attempts", st, poisonRuns.Load())
	}

	status, err := d.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if status.Counts[outbox.StateDone] != 20 || status.Counts[outbox.StateDead] != 2 || status.Counts[outbox.StatePending] != 0 || len(status.Dead) != 2 {
		t.Errorf("status: counts %v, %d dead listed; want done 20, dead 2", status.Counts, len(status.Dead))
	}

	// An operator fixes the cause and sends the poison back.
	healed.Store(true)
	if _, err := d.Retry(ctx, "email.welcome-"+strings.TrimPrefix(good[0], "email.welcome-")); !errors.Is(err, outbox.ErrNotDead) {
		t.Errorf("Retry of a done entry: %v, want ErrNotDead", err)
	}
	e, err := d.Retry(ctx, "test.poison-1")
	if err != nil || e.State != outbox.StatePending || e.Attempts != 0 {
		t.Fatalf("Retry: %+v, %v; want pending with 0 attempts", e, err)
	}
	if st, _ = d.RunPass(ctx, nil); st.Done != 1 {
		t.Errorf("pass after retry: %s, want the revived entry done", st)
	}
}

func TestKindsWithoutHandlerStayPendingAndUnknownKindsAreDeadLettered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	clk := clock.NewManual(time.Now())
	ctx := context.Background()
	for id, kind := range map[string]string{"billing.setup-t1": kinds.BillingSetup{}.Kind(), "email.typo-t1": "email.typo"} {
		if err := f.ob.Enqueue(ctx, id, kind, "t1", map[string]any{}, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	d := outbox.NewDispatcher(f.ob, clk, outbox.Config{Owner: "k", UnknownKindGrace: time.Hour})
	f.mailer.Register(d)
	d.Know(kinds.BillingSetup{}.Kind())
	before := f.entry(t, "billing.setup-t1")

	if st, err := d.RunPass(ctx, nil); err != nil || st.Claimed != 0 || st.Dead != 0 {
		t.Fatalf("pass: %s, %v; want nothing claimed or dead-lettered within the grace period", st, err)
	}
	clk.Advance(2 * time.Hour)
	st, err := d.RunPass(ctx, nil)
	if err != nil || st.Dead != 1 || st.Claimed != 0 {
		t.Fatalf("pass after the grace period: %s, %v; want the unknown kind dead-lettered, nothing claimed", st, err)
	}
	if e := f.entry(t, "email.typo-t1"); e.State != outbox.StateDead || !strings.Contains(e.LastError, `no handler for kind "email.typo"`) {
		t.Errorf("unknown kind: state %s lastError %q", e.State, e.LastError)
	}
	after := f.entry(t, "billing.setup-t1")
	if after.State != outbox.StatePending || after.Attempts != 0 || after.LeaseOwner != "" || !after.Version.Equal(before.Version) {
		t.Errorf("billing.setup entry was touched: state %s attempts %d lease %q version %v→%v; want it left alone for the Stripe handler",
			after.State, after.Attempts, after.LeaseOwner, before.Version, after.Version)
	}
}

// An unknown kind created after a backlog of old entries of known kinds (more than a page) and
// with more known kinds than Firestore's not-in allows is still found, by a later sweep.
func TestUnknownKindBehindABacklogIsDeadLettered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	clk := clock.NewManual(time.Now())
	ctx := context.Background()
	d := outbox.NewDispatcher(f.ob, clk, outbox.Config{Owner: "k", UnknownKindGrace: time.Hour, BatchSize: 4})
	for i := range 12 {
		kind := fmt.Sprintf("known.kind-%d", i)
		d.Know(kind)
		if err := f.ob.Enqueue(ctx, fmt.Sprintf("backlog-%d", i), kind, "t1", map[string]any{}, clk.Now()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if err := f.ob.Enqueue(ctx, "typo-1", "email.typo", "t1", map[string]any{}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	for sweep := 0; sweep < 4 && f.entry(t, "typo-1").State != outbox.StateDead; sweep++ {
		if _, err := d.RunPass(ctx, nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Minute)
	}
	if e := f.entry(t, "typo-1"); e.State != outbox.StateDead {
		t.Fatalf("unknown kind behind 12 known entries, pages of 4: state %s after 4 sweeps, want dead", e.State)
	}
	if e := f.entry(t, "backlog-0"); e.State != outbox.StatePending {
		t.Errorf("known kind without a handler here: state %s, want pending", e.State)
	}
}

func TestAbandonedLeaseIsPickedUpAfterItExpires(t *testing.T) {
	t.Parallel()
	f := setup(t)
	clk := clock.NewManual(time.Now())
	ctx := context.Background()
	ids := f.welcome(t, 1, clk.Now())
	const lease = time.Minute

	// A dispatcher claims the entry and dies before running it.
	due, err := f.ob.Due(ctx, []string{kinds.WelcomeEmail{}.Kind()}, clk.Now(), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("Due: %d entries, %v", len(due), err)
	}
	crashed, ok, err := f.ob.Claim(ctx, due[0], "crashed", clk.Now(), clk.Now().Add(lease))
	if err != nil || !ok {
		t.Fatalf("Claim: ok %v, %v", ok, err)
	}
	// A second claim of the same listing loses: one runner per entry.
	if _, ok, err := f.ob.Claim(ctx, due[0], "late", clk.Now(), clk.Now().Add(lease)); ok || err != nil {
		t.Fatalf("second claim of one listing: ok %v, %v; want lost", ok, err)
	}

	other := outbox.NewDispatcher(f.ob, clk, outbox.Config{Owner: "survivor", Lease: lease})
	f.mailer.Register(other)
	clk.Advance(lease - time.Second)
	if st, _ := other.RunPass(ctx, nil); st.Claimed != 0 {
		t.Fatalf("pass while the lease holds: %s; want nothing claimed", st)
	}
	clk.Advance(2 * time.Second)
	st, err := other.RunPass(ctx, nil)
	if err != nil || st.Done != 1 {
		t.Fatalf("pass after the lease expired: %s, %v; want the entry done", st, err)
	}
	f.box.WaitFor(1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if msgs := f.box.Messages(); len(msgs) != 1 {
		t.Errorf("%d emails, want 1", len(msgs))
	}
	e := f.entry(t, ids[0])
	if e.State != outbox.StateDone || e.Attempts != 2 {
		t.Errorf("entry: state %s attempts %d, want done on the second claim", e.State, e.Attempts)
	}
	// The crashed dispatcher comes back and tries to record an outcome: its lease is gone.
	if ok, err := f.ob.Settle(ctx, crashed, outbox.Settlement{State: outbox.StatePending, At: clk.Now(), NextAttemptAt: clk.Now(), LastError: "late"}); ok || err != nil {
		t.Errorf("settle with the stale lease: ok %v, %v; want refused", ok, err)
	}
	if e := f.entry(t, ids[0]); e.State != outbox.StateDone {
		t.Errorf("the stale settle changed the entry to %s", e.State)
	}
}

func TestAttemptsThatNeverFinishAreBounded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	clk := clock.NewManual(time.Now())
	ctx := context.Background()
	ids := f.welcome(t, 1, clk.Now())
	// Every dispatcher that claims this entry dies: after MaxAttempts claims it is dead-lettered.
	for range 3 {
		due, err := f.ob.Due(ctx, []string{kinds.WelcomeEmail{}.Kind()}, clk.Now(), 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("Due: %d, %v", len(due), err)
		}
		if _, ok, err := f.ob.Claim(ctx, due[0], "dies", clk.Now(), clk.Now().Add(time.Minute)); !ok || err != nil {
			t.Fatalf("Claim: %v %v", ok, err)
		}
		clk.Advance(2 * time.Minute)
	}
	d := outbox.NewDispatcher(f.ob, clk, outbox.Config{Owner: "d", MaxAttempts: 3})
	f.mailer.Register(d)
	if st, err := d.RunPass(ctx, nil); err != nil || st.Dead != 1 || st.Claimed != 0 {
		t.Fatalf("pass: %s, %v; want the entry dead-lettered without another attempt", st, err)
	}
	if e := f.entry(t, ids[0]); e.State != outbox.StateDead || !strings.Contains(e.LastError, "never finished") {
		t.Errorf("entry: %s %q", e.State, e.LastError)
	}
	if n := len(f.box.Messages()); n != 0 {
		t.Errorf("%d emails sent for an entry that was given up", n)
	}
}

func TestWelcomeEmailContent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	tenantID := testenv.UniqueID("t")
	id := kinds.ID(kinds.WelcomeEmail{}, tenantID)
	to := f.box.Address("owner")
	if err := f.ob.Enqueue(ctx, id, kinds.WelcomeEmail{}.Kind(), tenantID, map[string]any{"to": to, "uid": "u1", "organizationName": "Acme <b>&</b> Co"}, clock.System{}.Now()); err != nil {
		t.Fatal(err)
	}
	d := outbox.NewDispatcher(f.ob, clock.System{}, outbox.Config{})
	f.mailer.Register(d)
	if st, err := d.RunPass(ctx, nil); err != nil || st.Done != 1 {
		t.Fatalf("pass: %s, %v", st, err)
	}
	msgs := f.box.WaitFor(1, 10*time.Second)
	m := f.mp.Message(msgs[0].ID)
	if m.MessageID != email.MessageID(id) {
		t.Errorf("Message-ID %q, want %q", m.MessageID, email.MessageID(id))
	}
	if m.From.Address != "no-reply@tenantry.local" || m.From.Name != "Tenantry" || len(m.To) != 1 || m.To[0].Address != to {
		t.Errorf("from %+v to %+v", m.From, m.To)
	}
	if !strings.Contains(m.Subject, "Acme <b>&</b> Co") {
		t.Errorf("subject %q", m.Subject)
	}
	link := "http://localhost:5173/tenants/" + tenantID
	if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Errorf("the link %s is missing from the text or the HTML:\n%s\n%s", link, m.Text, m.HTML)
	}
	if strings.Contains(m.HTML, "<b>&</b>") || !strings.Contains(m.HTML, "Acme &lt;b&gt;&amp;&lt;/b&gt; Co") {
		t.Errorf("the organization name is not escaped in the HTML:\n%s", m.HTML)
	}
	h := f.mp.Headers(msgs[0].ID)
	if got := h["Auto-Submitted"]; len(got) != 1 || got[0] != "auto-generated" {
		t.Errorf("Auto-Submitted header %v", got)
	}
	if got := h["X-Tenantry-Outbox-Entry"]; len(got) != 1 || got[0] != id {
		t.Errorf("X-Tenantry-Outbox-Entry header %v", got)
	}
}

func TestTrialExpiredEmailGoesToTheOwners(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	tenantID := testenv.UniqueID("t")
	owners := []string{f.box.Address("owner-b"), f.box.Address("owner-a")}
	testenv.SeedTenants(t, f.fs, testenv.Tenant{ID: tenantID, Name: "Globex", Status: rules.StatusTrialExpired, Members: []testenv.Member{
		{UID: "u1", Role: rules.RoleOwner, Email: owners[0]},
		{UID: "u2", Role: rules.RoleOwner, Email: owners[1]},
		{UID: "u3", Role: rules.RoleMember, Email: f.box.Address("member")},
	}})
	ended := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	id := kinds.ID(kinds.TrialExpiredEmail{}, tenantID)
	if err := f.ob.Enqueue(ctx, id, kinds.TrialExpiredEmail{}.Kind(), tenantID, map[string]any{"tenantId": tenantID, "trialEndedAt": ended}, clock.System{}.Now()); err != nil {
		t.Fatal(err)
	}
	d := outbox.NewDispatcher(f.ob, clock.System{}, outbox.Config{})
	f.mailer.Register(d)
	if st, err := d.RunPass(ctx, nil); err != nil || st.Done != 1 {
		t.Fatalf("pass: %s, %v", st, err)
	}
	f.box.WaitFor(1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	msgs := f.box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want one to both owners", len(msgs))
	}
	var got []string
	for _, to := range msgs[0].To {
		got = append(got, to.Address)
	}
	sort.Strings(got)
	sort.Strings(owners)
	if strings.Join(got, ",") != strings.Join(owners, ",") {
		t.Errorf("recipients %v, want the owners %v only", got, owners)
	}
	m := f.mp.Message(msgs[0].ID)
	if !strings.Contains(m.Subject, "Globex") || !strings.Contains(m.Text, "March 14, 2026") ||
		!strings.Contains(m.Text, "http://localhost:5173/tenants/"+tenantID+"/billing/upgrade") {
		t.Errorf("conversion email: subject %q, text:\n%s", m.Subject, m.Text)
	}

	// A tenant that does not exist cannot be written to: dead at once, not retried for hours.
	if err := f.ob.Enqueue(ctx, kinds.ID(kinds.TrialExpiredEmail{}, "gone"), kinds.TrialExpiredEmail{}.Kind(), "gone", map[string]any{"tenantId": "gone"}, clock.System{}.Now()); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.RunPass(ctx, nil); st.Dead != 1 {
		t.Errorf("pass for a missing tenant: %s, want dead", st)
	}
}

// An invitation token must reach its email but is otherwise stored only as a hash: the store
// erases payload.secret when the entry settles, done or dead.
func TestSecretsAreErasedWhenAnEntrySettles(t *testing.T) {
	t.Parallel()
	f := setup(t)
	clk := clock.NewManual(time.Now())
	ctx := context.Background()
	secret := map[string]any{"token": "tok-" + testenv.UniqueID("s")}
	for _, id := range []string{"test.secret-ok", "test.secret-poison"} {
		if err := f.ob.Enqueue(ctx, id, "test.secret", "t1", map[string]any{"to": "x", outbox.SecretField: secret}, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]string{}
	var mu sync.Mutex
	d := outbox.NewDispatcher(f.ob, clk, outbox.Config{Owner: "s", MaxAttempts: 1})
	d.Handle("test.secret", func(_ context.Context, del outbox.Delivery) error {
		s, _ := del.Entry.Payload[outbox.SecretField].(map[string]any)
		mu.Lock()
		seen[del.Entry.ID], _ = s["token"].(string)
		mu.Unlock()
		if del.Entry.ID == "test.secret-poison" {
			return outbox.Permanent(fmt.Errorf("refused"))
		}
		return nil
	})
	if _, err := d.RunPass(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]outbox.State{"test.secret-ok": outbox.StateDone, "test.secret-poison": outbox.StateDead} {
		if seen[id] != secret["token"] {
			t.Errorf("%s: handler saw token %q, want the secret", id, seen[id])
		}
		e := f.entry(t, id)
		if e.State != want {
			t.Errorf("%s: state %s, want %s", id, e.State, want)
		}
		if _, kept := e.Payload[outbox.SecretField]; kept {
			t.Errorf("%s: payload still holds the secret after settling as %s", id, e.State)
		}
		if e.Payload["to"] != "x" {
			t.Errorf("%s: the rest of the payload was lost: %v", id, e.Payload)
		}
	}
}
