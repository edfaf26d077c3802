package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

// queued counts the transactions holding or waiting for tenantID's turn.
func (l *tenantLocks) queued(tenantID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tl := l.locks[tenantID]; tl != nil {
		return tl.waiters
	}
	return 0
}

// A Stripe event and a members transaction on one tenant wait for each other: the Store has one
// queue per tenant, which its members and billing parts share.
func TestBillingQueuesBehindMembersOnOneTenant(t *testing.T) {
	st := New(testenv.Require(t).Firestore(t))
	m, b := st.MembersStore(), st.Billing()
	ctx := context.Background()
	tenantID := testenv.UniqueID("lockT")

	var enter sync.Once
	entered, release := make(chan struct{}), make(chan struct{})
	membersDone := make(chan error, 1)
	go func() {
		membersDone <- m.run(ctx, tenantID, func(context.Context, *firestore.Transaction) error {
			enter.Do(func() { close(entered) })
			<-release // the members transaction holds the tenant until the test lets it go
			return nil
		})
	}()
	<-entered

	var decided atomic.Bool
	billingDone := make(chan error, 1)
	go func() {
		now := time.Now()
		ev := billing.EventRecord{ID: testenv.UniqueID("evt_lock"), Type: billing.EventInvoicePaid, TenantID: tenantID, ReceivedAt: now, ExpireAt: now.Add(time.Hour)}
		_, _, err := b.ApplyEvent(ctx, tenantID, ev, func(*tenancy.Tenant, *billing.Record) (billing.Decision, error) {
			decided.Store(true)
			return billing.Decision{Outcome: billing.OutcomeUnmatched}, nil
		})
		billingDone <- err
	}()

	// Either the event's transaction joins the members transaction's queue, or (with a queue of
	// its own) it runs to its end while the members transaction still holds the tenant.
	for m.locks.queued(tenantID) < 2 {
		select {
		case err := <-billingDone:
			close(release)
			t.Fatalf("the Stripe event's transaction ran (err %v) while a members transaction on the same tenant was in progress; it must queue behind it", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if decided.Load() {
		t.Fatal("the Stripe event was decided while it was queued")
	}
	close(release)
	if err := <-membersDone; err != nil {
		t.Fatalf("members transaction: %v", err)
	}
	if err := <-billingDone; err != nil {
		t.Fatalf("billing transaction: %v", err)
	}
	if !decided.Load() || m.locks.queued(tenantID) != 0 {
		t.Errorf("decided %v, %d left in the queue; want the event decided once its turn came, and the queue empty", decided.Load(), m.locks.queued(tenantID))
	}
}
