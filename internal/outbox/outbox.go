// Package outbox performs the side effects that state changes promise in their own commits:
// provisioning (and every later change) writes an entry to the `outbox` collection in the same
// atomic commit, and a Dispatcher performs it afterwards, with retries, backoff, leases and a stable
// idempotency key towards the external system.
//
// Guarantees, and their limits:
//
//   - One runner per entry at a time. An entry is claimed by a conditional write (a lease) that
//     succeeds only if nobody changed the entry since it was listed; any number of dispatchers
//     (server replicas, the CLI, Cloud Functions) can run side by side.
//   - Nothing is lost. A failed attempt is rescheduled with exponential backoff and full jitter; an
//     entry whose dispatcher died holding the lease becomes claimable again when the lease expires.
//     After MaxAttempts claims the entry is dead-lettered with its last error, where an operator sees
//     it (`tenantry jobs outbox-status`) and can send it back (`tenantry jobs outbox-retry ID`).
//   - Exactly once in effect, not exactly once on the wire. The entry is marked done only after the
//     handler returned, so a crash (or a lost lease) between the external call and the mark makes
//     the entry run again: delivery is at least once. Handlers therefore pass the entry's stable
//     IdempotencyKey to the external side (Stripe's Idempotency-Key, an email's Message-ID) so that
//     the receiver can drop the duplicate.
//
// The package knows nothing of Firestore, SMTP or HTTP: a Store persists entries, and Handlers,
// registered per kind, perform them.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// State is an entry's place in its life.
type State string

// Entry states. An entry being worked on stays pending: its lease (LeaseOwner, LeaseExpiresAt)
// says who holds it and until when.
const (
	StatePending State = "pending"
	StateDone    State = "done"
	StateDead    State = "dead"
)

// States lists every state, for counts.
var States = []State{StatePending, StateDone, StateDead}

// Entry is one promised side effect.
type Entry struct {
	ID       string // stable; the idempotency key towards the external system
	Kind     string // selects the handler, e.g. "email.welcome"
	TenantID string
	Payload  map[string]any
	State    State
	// Attempts counts claims, so an attempt that crashed the dispatcher counts too: an entry that
	// kills every process that runs it is dead-lettered instead of being retried forever.
	Attempts       int
	CreatedAt      time.Time
	NextAttemptAt  time.Time // due time; while leased, the lease's expiry
	LeaseOwner     string
	LeaseExpiresAt time.Time
	LastError      string
	LastErrorAt    time.Time
	DoneAt         time.Time
	DeadAt         time.Time
	// RequestID and TraceParent are the request that wrote the entry (its X-Request-Id, and its
	// span as a W3C traceparent), "" for entries written outside a request: the entry's handling
	// is linked to them in traces.
	RequestID   string
	TraceParent string
	// Version identifies the stored revision the entry was read at (the store's update time). A
	// claim or settlement writes only if the entry is still at that revision, which is what makes a
	// lease exclusive without holding locks.
	Version time.Time
}

// Delivery is what a Handler gets.
type Delivery struct {
	Entry Entry
	// IdempotencyKey is the same for every attempt of the entry (it is the entry id): pass it to
	// the external system so that a repeated attempt is recognised there.
	IdempotencyKey string
	Attempt        int // 1 for the first attempt
}

// Handler performs one entry's side effect. It must honour ctx (cancelled when the lease is about
// to expire or the process stops) and return an error wrapped by Permanent when retrying cannot
// help (a malformed payload, an address the mail server refuses).
type Handler func(ctx context.Context, d Delivery) error

// Settlement is how an attempt ends.
type Settlement struct {
	State         State     // pending (retry later), done or dead
	At            time.Time // when the attempt ended
	NextAttemptAt time.Time // pending only
	LastError     string    // pending and dead
	ExpireAt      time.Time // done only: when the store may delete the entry (a TTL policy)
}

// Store persists entries. Implementations translate their own errors; a lost race is reported by
// ok=false, never as an error.
type Store interface {
	// Due lists up to limit pending entries of the given kinds with NextAttemptAt <= now, oldest
	// first. Leased entries are not due until their lease expires, because a claim moves
	// NextAttemptAt to the lease's expiry.
	Due(ctx context.Context, kinds []string, now time.Time, limit int) ([]Entry, error)
	// Claim writes the lease if e is still at e.Version: Attempts+1, LeaseOwner=owner,
	// LeaseExpiresAt=NextAttemptAt=until. It returns the claimed entry at its new version.
	Claim(ctx context.Context, e Entry, owner string, now, until time.Time) (claimed Entry, ok bool, err error)
	// Settle writes s if e is still at e.Version (so only the lease holder can settle) and clears
	// the lease. ok=false means the lease was lost: someone else claimed or changed the entry.
	Settle(ctx context.Context, e Entry, s Settlement) (ok bool, err error)
	// PendingCreatedBetween lists up to limit pending entries created after `after` and at or
	// before `before`, oldest first.
	PendingCreatedBetween(ctx context.Context, after, before time.Time, limit int) ([]Entry, error)
	// Count counts entries in state s.
	Count(ctx context.Context, s State) (int, error)
	// Dead lists up to limit dead-lettered entries, the most recently dead first.
	Dead(ctx context.Context, limit int) ([]Entry, error)
	// Get reads one entry (errs.ErrNotFound when it does not exist).
	Get(ctx context.Context, id string) (Entry, error)
	// Revive moves e, if still at e.Version and dead, back to pending: due at now, attempts 0,
	// lease cleared; LastError is kept for the record.
	Revive(ctx context.Context, e Entry, now time.Time) (ok bool, err error)
}

// PermanentError marks a failure that retrying cannot fix: the entry is dead-lettered at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the dispatcher dead-letters the entry instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error { return Permanent(fmt.Errorf(format, args...)) }

// IsPermanent reports whether err (or anything it wraps) is a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// ErrNotDead is returned by Retry for an entry that is not dead-lettered.
var ErrNotDead = errors.New("outbox: the entry is not dead-lettered; only dead entries can be retried")

// SecretField is the payload key for values that may only live until the entry settles, such as
// an invitation token that must reach the email but is otherwise stored only as a hash. The store
// deletes payload[SecretField] when an entry is done or dead.
const SecretField = "secret"
