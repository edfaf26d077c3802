package store

import (
	"context"
	"sync"

	"cloud.google.com/go/firestore"
)

// tenantLocks queues this process's transactions on one tenant's documents. The Firestore server
// SDKs (and the emulator) lock pessimistically: N transactions that each read the tenant and then
// write it take shared locks and then all wait to upgrade them, and only lock timeouts (about 3 s
// on the emulator) or aborts untangle them; 30 concurrent invitations into one tenant then take
// tens of seconds. Queueing them here first lets each transaction run alone against its tenant on
// this replica, in a few milliseconds. It changes nothing about correctness, which the transaction
// still guarantees across replicas; it only turns lock contention into a queue.
//
// A Store has one table, which every part of it shares (members, billing, the lifecycle, the
// contract conversion): a Stripe event and an invitation on one tenant wait for each other too.
type tenantLocks struct {
	mu    sync.Mutex
	locks map[string]*tenantLock
}

type tenantLock struct {
	sem     chan struct{}
	waiters int
}

// lock waits for tenantID's turn (or ctx) and returns the function that ends it.
func (l *tenantLocks) lock(ctx context.Context, tenantID string) (func(), error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*tenantLock{}
	}
	tl, ok := l.locks[tenantID]
	if !ok {
		tl = &tenantLock{sem: make(chan struct{}, 1)}
		l.locks[tenantID] = tl
	}
	tl.waiters++
	l.mu.Unlock()

	release := func() {
		l.mu.Lock()
		tl.waiters--
		if tl.waiters == 0 {
			delete(l.locks, tenantID)
		}
		l.mu.Unlock()
	}
	select {
	case tl.sem <- struct{}{}:
		return func() { <-tl.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// runTransaction runs f as a transaction on tenantID's documents once this process's earlier ones
// on the tenant are done.
func (l *tenantLocks) runTransaction(ctx context.Context, fs *firestore.Client, tenantID string, f func(context.Context, *firestore.Transaction) error, opts ...firestore.TransactionOption) error {
	unlock, err := l.lock(ctx, tenantID)
	if err != nil {
		return err
	}
	defer unlock()
	return fs.RunTransaction(ctx, f, opts...)
}
