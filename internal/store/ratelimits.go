package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/ratelimit"
	"github.com/tenantry/tenantry/internal/reqctx"
)

// colRateLimits holds the shared rate limits' buckets (rateLimits/{id}), one per limit and
// subject. expiresAt is for a Firestore TTL policy: a bucket past it is full and remembers no
// request key, the same as none (docs/operations.md says how to enable the policy).
const colRateLimits = "rateLimits"

type rateLimitDoc struct {
	Limit     string               `firestore:"limit"`
	Subject   string               `firestore:"subject"`
	Tokens    float64              `firestore:"tokens"`
	At        time.Time            `firestore:"at"`
	Keys      map[string]time.Time `firestore:"keys"`
	ExpiresAt time.Time            `firestore:"expiresAt"`
}

// RateLimits implements ratelimit.BucketStore.
type RateLimits struct{ fs *firestore.Client }

// RateLimits is the shared rate limits' store.
func (s *Store) RateLimits() RateLimits { return RateLimits{s.fs} }

var _ ratelimit.BucketStore = RateLimits{}

// rateLimitID names a bucket by a hash: subjects hold user and invitation ids, which need not be
// valid document ids; the document keeps them readable in its fields.
func rateLimitID(limit, subject string) string {
	sum := sha256.Sum256([]byte(limit + "\x00" + subject))
	return hex.EncodeToString(sum[:16])
}

// UpdateBucket implements ratelimit.BucketStore in a transaction of its own. The limits are spent
// from inside other transactions (the invitation's), which the client cannot nest: the bucket's
// transaction runs on a context detached from the caller's, keeping its deadline, cancellation,
// trace and request id.
func (r RateLimits) UpdateBucket(ctx context.Context, limit, subject string, decide func(ratelimit.Bucket, bool) (ratelimit.Bucket, error)) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	ref := r.fs.Collection(colRateLimits).Doc(rateLimitID(limit, subject))
	err := r.fs.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		found := err == nil
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		var cur rateLimitDoc
		if found {
			if err := snap.DataTo(&cur); err != nil {
				return err
			}
		}
		next, err := decide(ratelimit.Bucket{Tokens: cur.Tokens, At: cur.At, Keys: cur.Keys, ExpiresAt: cur.ExpiresAt}, found)
		if err != nil {
			return err
		}
		return tx.Set(ref, rateLimitDoc{Limit: limit, Subject: subject, Tokens: next.Tokens, At: next.At, Keys: next.Keys, ExpiresAt: next.ExpiresAt})
	})
	if err != nil {
		return fmt.Errorf("update the rate limit %s: %w", limit, err)
	}
	return nil
}

// detached is a context with parent's deadline, cancellation, trace span and request id, and
// none of its other values (among them the Firestore client's mark of a running transaction).
func detached(parent context.Context) (context.Context, context.CancelFunc) {
	ctx := trace.ContextWithSpan(context.Background(), trace.SpanFromContext(parent))
	if id := reqctx.RequestID(parent); id != "" {
		ctx = reqctx.WithRequestID(ctx, id)
	}
	var cancel context.CancelFunc
	if dl, ok := parent.Deadline(); ok {
		ctx, cancel = context.WithDeadline(ctx, dl)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(parent, cancel)
	return ctx, func() { stop(); cancel() }
}
