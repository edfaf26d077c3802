package store

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/ratelimit"
	"github.com/tenantry/tenantry/internal/testenv"
)

// A shared bucket in Firestore: burst at once, a retried request key pays once, the refill
// follows the clock, a batch larger than the bucket is told to split, the stored document carries
// the expiry a TTL policy may delete it at, and the bucket works from inside a transaction.
func TestSharedBucket(t *testing.T) {
	fs := testenv.Require(t).Firestore(t)
	st := New(fs)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lim := ratelimit.NewShared(st.RateLimits(), "test", time.Minute, 3, func() time.Time { return now })
	subject, ctx := testenv.UniqueID("subject/"), context.Background()
	spend := func(key string, n int) (bool, time.Duration) {
		t.Helper()
		ok, wait, err := lim.Spend(ctx, subject, key, n)
		if err != nil {
			t.Fatal(err)
		}
		return ok, wait
	}
	if ok, _ := spend("a", 2); !ok {
		t.Fatal("2 of 3 tokens refused")
	}
	if ok, _ := spend("a", 2); !ok {
		t.Fatal("a retry of an admitted key refused")
	}
	if ok, wait := spend("b", 2); ok || wait != time.Minute {
		t.Fatalf("2 more tokens: ok=%v wait=%s, want refused for 1m (the retry paid nothing, 1 token left)", ok, wait)
	}
	if ok, wait := spend("c", 4); ok || wait >= 0 {
		t.Fatalf("4 tokens of a bucket of 3: ok=%v wait=%s, want refused with a negative wait", ok, wait)
	}
	now = now.Add(time.Minute)
	if ok, _ := spend("b", 2); !ok {
		t.Fatal("2 tokens refused after a minute's refill")
	}

	snap, err := fs.Collection(colRateLimits).Doc(rateLimitID("test", subject)).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d rateLimitDoc
	if err := snap.DataTo(&d); err != nil {
		t.Fatal(err)
	}
	if d.Subject != subject || d.Tokens != 0 || !d.ExpiresAt.Equal(now.Add(15*time.Minute)) {
		t.Errorf("stored %+v, want subject %s, 0 tokens, expiry when the last key is forgotten", d, subject)
	}

	// From inside another transaction, as the invitation's decide spends it.
	err = fs.RunTransaction(ctx, func(ctx context.Context, _ *firestore.Transaction) error {
		_, _, err := lim.Spend(ctx, subject, "d", 1)
		return err
	})
	if err != nil {
		t.Fatalf("spend inside a transaction: %v", err)
	}
}
