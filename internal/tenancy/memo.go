package tenancy

import (
	"context"
	"sync"
)

// A GraphQL query resolves several fields of one tenant (members, invitations, auditLog, …), and
// each checks the policy on the tenant and the caller's membership. Within an operation that
// writes nothing, those documents need to be read once: the memo keeps each caller's view of each
// tenant for the rest of the operation. Field resolvers run concurrently, so an entry is loaded
// once however many ask for it at the same time.
type viewMemo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	view TenantView
	err  error
}

type memoKey struct{}

// WithTenantViewMemo returns a context in which Service.Tenant reads each tenant at most once per
// caller. Use it only for operations that write nothing (GraphQL queries): a mutation must see
// its own writes.
func WithTenantViewMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &viewMemo{entries: map[string]*memoEntry{}})
}

func memoFrom(ctx context.Context) *viewMemo {
	m, _ := ctx.Value(memoKey{}).(*viewMemo)
	return m
}

func (m *viewMemo) entry(uid, tenantID string) *memoEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := uid + "\x00" + tenantID
	e, ok := m.entries[key]
	if !ok {
		e = &memoEntry{}
		m.entries[key] = e
	}
	return e
}

// load returns the memoized view, reading it with read the first time.
func (m *viewMemo) load(uid, tenantID string, read func() (TenantView, error)) (TenantView, error) {
	e := m.entry(uid, tenantID)
	e.once.Do(func() { e.view, e.err = read() })
	return e.view, e.err
}

// seed records a view already read, so later fields of the same operation reuse it.
func (m *viewMemo) seed(uid string, v TenantView) {
	e := m.entry(uid, v.Tenant.ID)
	e.once.Do(func() { e.view = v })
}
