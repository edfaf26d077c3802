package ratelimit

import (
	"context"
	"time"
)

// Shared is a set of token buckets kept where every replica sees them (Firestore's rateLimits
// collection, through a BucketStore), for the limits that must hold however many replicas serve
// the requests: a subject gets burst requests at once, then one per every, in total. Each call
// costs one Firestore transaction, so Shared is for rare, costly actions (sending emails), never
// for every request (docs/security.md says which limit is which, and why).
type Shared struct {
	store BucketStore
	name  string // the limit's name, part of every bucket's key
	every time.Duration
	burst int
	now   func() time.Time
}

// Bucket is one subject's stored bucket: Tokens as of At, and the request keys admitted within
// keyMemory (a retried transaction asks again with its key and must not pay twice).
type Bucket struct {
	Tokens float64
	At     time.Time
	Keys   map[string]time.Time
	// ExpiresAt is when the bucket is full again and remembers no key: from then on it is the
	// same as no bucket, so Firestore's TTL policy on this field may delete it.
	ExpiresAt time.Time
}

// BucketStore reads and writes buckets in one transaction: decide gets the stored bucket (found
// false: none) and returns the one to store, or an error to store nothing.
type BucketStore interface {
	UpdateBucket(ctx context.Context, limit, subject string, decide func(b Bucket, found bool) (Bucket, error)) error
}

// keyMemory is how long a shared bucket remembers an admitted request key: long enough for a
// transaction's retries, which is what the keys are for here.
const keyMemory = 15 * time.Minute

// NewShared returns shared buckets named name that refill one token per every and hold at most
// burst; a new subject starts full. every <= 0 means no limit (nothing is stored); burst <= 0
// with a positive every refuses everything. now is the clock (time.Now if nil).
func NewShared(store BucketStore, name string, every time.Duration, burst int, now func() time.Time) *Shared {
	if now == nil {
		now = time.Now
	}
	return &Shared{store: store, name: name, every: every, burst: burst, now: now}
}

// Spend is Keyed.AllowNOnce across replicas: n tokens of subject's bucket, all or none, once per
// requestKey. When it refuses, wait says how long until n tokens will be there, or is negative
// when n is more than the bucket ever holds. An error (Firestore did not answer) admits nothing.
func (s *Shared) Spend(ctx context.Context, subject, requestKey string, n int) (ok bool, wait time.Duration, err error) {
	if n <= 0 || s.every <= 0 {
		return true, 0, nil
	}
	if n > s.burst {
		return false, -1, nil
	}
	err = s.store.UpdateBucket(ctx, s.name, subject, func(b Bucket, found bool) (Bucket, error) {
		ok, wait, b = s.take(b, found, requestKey, n)
		return b, nil
	})
	if err != nil {
		return false, 0, err
	}
	return ok, wait, nil
}

// take applies one spend of n tokens at now to the stored bucket b.
func (s *Shared) take(b Bucket, found bool, requestKey string, n int) (bool, time.Duration, Bucket) {
	now := s.now()
	tokens := float64(s.burst)
	if found && now.After(b.At) {
		tokens = min(tokens, b.Tokens+float64(now.Sub(b.At))/float64(s.every))
	} else if found {
		tokens = b.Tokens // a clock that went backwards refills nothing
	}
	keys := make(map[string]time.Time, len(b.Keys)+1)
	for k, at := range b.Keys {
		if now.Sub(at) < keyMemory {
			keys[k] = at
		}
	}
	if _, seen := keys[requestKey]; seen && requestKey != "" {
		return true, 0, s.bucket(tokens, now, keys)
	}
	if tokens < float64(n) {
		missing := float64(n) - tokens
		return false, max(time.Nanosecond, time.Duration(missing*float64(s.every))), s.bucket(tokens, now, keys)
	}
	if requestKey != "" {
		forgetOldest(keys, maxKeysPerSubject-1)
		keys[requestKey] = now
	}
	return true, 0, s.bucket(tokens-float64(n), now, keys)
}

// bucket is the state to store, with its expiry.
func (s *Shared) bucket(tokens float64, now time.Time, keys map[string]time.Time) Bucket {
	expires := now.Add(time.Duration((float64(s.burst) - tokens) * float64(s.every)))
	for _, at := range keys {
		expires = maxTime(expires, at.Add(keyMemory))
	}
	return Bucket{Tokens: tokens, At: now, Keys: keys, ExpiresAt: expires}
}

// forgetOldest drops the oldest keys until at most limit remain.
func forgetOldest(keys map[string]time.Time, limit int) {
	for len(keys) > limit {
		oldest, at := "", time.Time{}
		for k, t := range keys {
			if oldest == "" || t.Before(at) {
				oldest, at = k, t
			}
		}
		delete(keys, oldest)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Spend is AllowNOnce with Shared's signature, so both kinds fit one interface; ctx is unused
// and it never fails.
func (k *Keyed) Spend(_ context.Context, subject, requestKey string, n int) (bool, time.Duration, error) {
	ok, wait := k.AllowNOnce(subject, requestKey, n)
	return ok, wait, nil
}
