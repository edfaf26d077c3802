package faults_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/faults"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
)

const provisionMutation = `mutation($in: ProvisionTenantInput!) { provisionTenant(input: $in) { replayed tenant { id } } }`

type provisioned struct {
	Replayed bool `json:"replayed"`
	Tenant   struct {
		ID string `json:"id"`
	} `json:"tenant"`
}

// provision calls provisionTenant with key through client (nil: the default client); it returns
// the tenant id, or why there is none.
func (s *stack) provision(client *http.Client, token, key string) (string, error) {
	api := s.api
	if client != nil {
		api.Client = client
	}
	a, err := api.Call(token, provisionMutation, map[string]any{"in": map[string]any{"idempotencyKey": key, "organizationName": "Faulty Networks"}})
	if err != nil {
		return "", err
	}
	p, gerrs, err := testenv.DecodeField[provisioned](a, "provisionTenant")
	if err != nil || len(gerrs) > 0 {
		return "", fmt.Errorf("provisionTenant: %v %+v", err, gerrs)
	}
	return p.Tenant.ID, nil
}

// mustProvision provisions a tenant for owner on a healthy network.
func (s *stack) mustProvision(t *testing.T, owner testenv.User) string {
	t.Helper()
	id, err := s.provision(nil, owner.IDToken, testenv.UniqueID("key-"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tenantsOf lists the tenants whose staff record says uid created them.
func (s *stack) tenantsOf(t *testing.T, uid string) []string {
	t.Helper()
	snaps, err := s.fs.CollectionGroup("private").Where("createdBy", "==", uid).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, snap := range snaps {
		ids = append(ids, snap.Ref.Parent.Parent.ID)
	}
	return ids
}

// Firestore answers slowly, and the client, impatient, sends the same provisioning again while
// earlier calls are still on their way, or gives up on some: whatever lands, there is one tenant,
// and every answer names it. Without the idempotency record created in the provisioning commit,
// each call that got through would be a tenant of its own.
func TestSlowFirestoreProvisionsOnceUnderClientRetries(t *testing.T) {
	s := newStack(t)
	owner := s.owner(t, "")
	key := testenv.UniqueID("key-")
	if err := s.px.Latency("firestore", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	impatient := &http.Client{Timeout: 400 * time.Millisecond}
	var wg sync.WaitGroup
	answers := make([]string, 6)
	for i := range answers {
		client := (*http.Client)(nil) // waits for its answer
		if i%3 == 2 {
			client = impatient // gives up and retries
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.provision(client, owner.IDToken, key)
			if err != nil && client == nil {
				t.Errorf("call %d: %v", i, err)
			}
			answers[i] = id
		}()
		time.Sleep(150 * time.Millisecond)
	}
	wg.Wait()
	s.px.Clear("firestore")
	id, err := s.provision(nil, owner.IDToken, key)
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range answers {
		if got != "" && got != id {
			t.Errorf("call %d named tenant %s, the final retry %s", i, got, id)
		}
	}
	if got := s.tenantsOf(t, owner.UID); len(got) != 1 || got[0] != id {
		t.Fatalf("tenants created by the owner: %v, want exactly the one every answer names (%s)", got, id)
	}
	if ids, _ := s.doc(t, "users/"+owner.UID)["tenantIds"].([]any); len(ids) != 1 {
		t.Errorf("users/%s.tenantIds = %v, want one tenant", owner.UID, ids)
	}
}

// Stripe acts on every call but its answers are lost (the connection is reset as it answers),
// during the billing setup and during Checkout: the outbox retries, and Checkout is retried by
// the owner, each with the setup's idempotency key. Stripe makes one customer per key, so each
// tenant has exactly one customer. A retry with a fresh key (or no key) would be a second customer.
func TestLostStripeAnswersMakeOneCustomerPerTenant(t *testing.T) {
	s := newStack(t)
	if err := s.px.ResetAnswers("stripe"); err != nil {
		t.Fatal(err)
	}
	owner := s.owner(t, "")
	setupOnly := s.mustProvision(t, owner)
	withCheckout := s.mustProvision(t, owner)
	tries := func(tenant string) int {
		n := 0
		for _, c := range s.stripe.Calls() {
			if c.TenantID == tenant && c.Path == "/v1/customers" {
				n++
			}
		}
		return n
	}
	eventually(t, 20*time.Second, "the billing setup did not retry the customer while Stripe's answers were lost", func() bool {
		return tries(setupOnly) >= 3 && tries(withCheckout) >= 3
	})
	checkout := func() error {
		a, err := s.api.Call(owner.IDToken, `mutation($t: ID!) { createCheckoutSession(tenantId: $t, planId: "pro") { url } }`, map[string]any{"t": withCheckout})
		if err == nil {
			err = a.Err()
		}
		return err
	}
	if err := checkout(); err == nil {
		t.Fatal("Checkout succeeded while every Stripe answer was lost")
	}
	s.px.Clear("stripe")
	if err := checkout(); err != nil {
		t.Fatalf("Checkout once Stripe answers again: %v", err)
	}
	ob := store.NewOutboxStore(s.fs)
	for _, tenant := range []string{setupOnly, withCheckout} {
		eventually(t, 20*time.Second, "billing setup of "+tenant+" not done after Stripe recovered", func() bool {
			e, err := ob.Get(context.Background(), kinds.ID(kinds.BillingSetup{}, tenant))
			return err == nil && e.State == outbox.StateDone
		})
		if keys := s.stripe.CustomerKeys()[tenant]; len(keys) != 1 {
			t.Errorf("tenant %s: customer creations under %d idempotency keys %v (after %d calls), want 1", tenant, len(keys), keys, tries(tenant))
		}
	}
}

// The SMTP server refuses connections for a while: the welcome and invitation emails wait in the
// outbox, failing attempt after attempt, and are delivered once each when it is back. Without the
// outbox's retries they are never delivered; without its settlement they are delivered again.
func TestMailWaitsOutSMTPDownAndArrivesOnce(t *testing.T) {
	s := newStack(t)
	box := testenv.Mailpit(t).NewMailbox()
	s.px.Down("smtp")
	owner := s.owner(t, box.Address("owner"))
	tenant := s.mustProvision(t, owner)
	invitee := box.Address("invitee")
	a, err := s.api.Call(owner.IDToken, `mutation($in: InviteMemberInput!) { inviteMember(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": tenant, "email": invitee, "role": "MEMBER"}})
	if err != nil || a.Err() != nil {
		t.Fatalf("inviteMember: %v %v", err, a.Err())
	}
	ob := store.NewOutboxStore(s.fs)
	welcome := kinds.ID(kinds.WelcomeEmail{}, tenant)
	eventually(t, 20*time.Second, "the welcome email was not attempted (and failed) while SMTP was down", func() bool {
		e, err := ob.Get(context.Background(), welcome)
		return err == nil && e.Attempts >= 2 && e.State == outbox.StatePending
	})
	if msgs := box.Messages(); len(msgs) != 0 {
		t.Fatalf("%d messages delivered while SMTP was down", len(msgs))
	}
	if err := s.px.Up("smtp"); err != nil {
		t.Fatal(err)
	}
	box.WaitFor(2, 30*time.Second)
	time.Sleep(time.Second) // a duplicate would come within the backoff cap
	for _, to := range []string{owner.Email, invitee} {
		if n := countTo(box.Messages(), to); n != 1 {
			t.Errorf("%d messages to %s after SMTP came back, want exactly 1", n, to)
		}
	}
}

func countTo(msgs []testenv.MailMessage, addr string) int {
	n := 0
	for _, m := range msgs {
		if slices.ContainsFunc(m.To, func(a testenv.MailAddress) bool { return a.Address == addr }) {
			n++
		}
	}
	return n
}

// Firestore stalls on and off while an owner invites more people than the seat cap allows, each
// invitation retried until it gets a definite answer: the calls that time out leave nothing half
// written, so the tenant's counters equal its documents and the cap holds. An invitation whose
// document and counter were written apart would show up here as drift.
func TestFirestoreStallsDuringInvitesLeaveNoCounterDrift(t *testing.T) {
	s := newStack(t)
	owner := s.owner(t, "")
	tenant := s.mustProvision(t, owner)
	stop := make(chan struct{})
	flapped := make(chan struct{})
	go func() { // 1.2s stalled, 300ms healthy, until stopped
		defer close(flapped)
		for {
			if err := s.px.Stall("firestore", time.Second); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(1200 * time.Millisecond)
			s.px.Clear("firestore")
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	impatient := &http.Client{Timeout: 800 * time.Millisecond}
	var wg sync.WaitGroup
	var failures sync.Map
	for i := range 24 { // 4 at a time, 6 each, well past the seat cap
		if i%4 == 0 {
			wg.Wait()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := fmt.Sprintf("invitee-%d-%s@example.test", i, testenv.UniqueID(""))
			for attempt := 0; attempt < 40; attempt++ {
				code, err := s.tryInvite(impatient, owner.IDToken, tenant, email)
				if err == nil && code != "INTERNAL" {
					return // invited, or a definite refusal (the seat cap)
				}
				failures.Store(email, attempt+1)
				time.Sleep(100 * time.Millisecond)
			}
			t.Errorf("no definite answer for %s in 40 attempts", email)
		}()
	}
	wg.Wait()
	close(stop)
	<-flapped
	s.px.Clear("firestore")
	n := 0
	failures.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Fatal("no invitation call failed: the stalls did not hit the invitations")
	}
	s.assertCountersMatchDocuments(t, tenant)
}

// tryInvite invites email as a member through client; it returns the error code ("" when invited)
// or why there is no answer.
func (s *stack) tryInvite(client *http.Client, token, tenant, email string) (string, error) {
	api := s.api
	api.Client = client
	a, err := api.Call(token, `mutation($in: InviteMemberInput!) { inviteMember(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": tenant, "email": email, "role": "MEMBER"}})
	if err != nil {
		return "", err
	}
	if len(a.Errors) > 0 {
		return a.Errors[0].Code(), nil
	}
	return "", nil
}

// assertCountersMatchDocuments checks seatsUsed and pendingInvitations against the members and
// pending invitations stored, and their sum against the seat cap.
func (s *stack) assertCountersMatchDocuments(t *testing.T, tenant string) {
	t.Helper()
	drift, err := faults.CounterDrift(context.Background(), s.fs, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if drift != "" {
		t.Error(drift)
	}
}

// Staff cancelling a tenant stops its billing: its Stripe subscription is cancelled once, after
// the billing setup made it, even while Stripe's answers are lost for a while. A cancellation
// that Stripe reported itself (the subscription already deleted) calls nothing.
func TestStaffCancellationCancelsTheStripeSubscriptionOnce(t *testing.T) {
	s := newStack(t)
	owner := s.owner(t, "")
	tenant := s.mustProvision(t, owner)
	ob := store.NewOutboxStore(s.fs)
	eventually(t, 20*time.Second, "billing setup not done", func() bool {
		e, err := ob.Get(context.Background(), kinds.ID(kinds.BillingSetup{}, tenant))
		return err == nil && e.State == outbox.StateDone
	})
	sub, _ := s.doc(t, "billing/"+tenant)["stripeSubscriptionId"].(string)
	if sub == "" {
		t.Fatal("billing record has no subscription after setup")
	}
	if err := s.px.ResetAnswers("stripe"); err != nil {
		t.Fatal(err)
	}
	boss := s.env.NewProjectUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{auth.PlatformRoleClaim: "super_admin"}})
	a, err := s.api.Call(boss.IDToken, `mutation($t: ID!) { setTenantStatus(tenantId: $t, status: CANCELLED, reason: "fraud") { status } }`, map[string]any{"t": tenant})
	if err == nil {
		err = a.Err()
	}
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	cancels := func() (calls int, keys map[string]bool) {
		keys = map[string]bool{}
		for _, c := range s.stripe.Calls() {
			if c.Method == http.MethodDelete && c.Path == "/v1/subscriptions/"+sub {
				calls++
				keys[c.IdempotencyKey] = true
			}
		}
		return calls, keys
	}
	eventually(t, 20*time.Second, "the cancellation was not retried while Stripe's answers were lost", func() bool {
		n, _ := cancels()
		return n >= 2
	})
	s.px.Clear("stripe")
	eventually(t, 20*time.Second, "the subscription cancellation entry was not done after Stripe recovered", func() bool {
		for _, e := range outboxOfKind(t, s.fs, kinds.CancelSubscription{}.Kind(), tenant) {
			if e.State == outbox.StateDone {
				return true
			}
		}
		return false
	})
	if _, keys := cancels(); len(keys) != 1 {
		t.Errorf("subscription %s cancelled under %d idempotency keys %v, want 1", sub, len(keys), keys)
	}
}

// outboxOfKind lists the outbox entries of kind about tenant.
func outboxOfKind(t *testing.T, fs *firestore.Client, kind, tenant string) []outbox.Entry {
	t.Helper()
	ob := store.NewOutboxStore(fs)
	snaps, err := fs.Collection("outbox").Where("kind", "==", kind).Where("tenantId", "==", tenant).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []outbox.Entry
	for _, snap := range snaps {
		e, err := ob.Get(context.Background(), snap.Ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}
