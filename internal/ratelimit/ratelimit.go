// Package ratelimit throttles per-subject request rates (a subject is a user id, a service token
// or a client IP) with token buckets from golang.org/x/time/rate.
//
// Limits are in memory and per process: with several replicas behind a load balancer each replica
// enforces its own buckets, so a subject may get up to replicas × burst requests through at once.
// That is acceptable for abuse protection (the durable guard against duplicates is the
// idempotency record in Firestore), and it keeps a Firestore round trip off every request.
package ratelimit

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// replayWindow is how long an admitted request key keeps passing for free in this process.
	// It only saves work: callers that must honour replays for longer (provisioning keeps its
	// idempotency records for days, across replicas) check their own records when refused.
	replayWindow = 24 * time.Hour
	// maxKeysPerSubject bounds memory per subject; past it the oldest key is forgotten, and a
	// replay of that key then costs a token like a new request would.
	maxKeysPerSubject = 64
	// sweepEvery bounds how often a call pays for scanning all subjects.
	sweepEvery = time.Minute
)

// Keyed is a set of token buckets, one per subject. The zero value is not usable; use NewKeyed.
// It is safe for concurrent use.
type Keyed struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex // guards everything below, and makes check-then-consume in AllowOnce atomic
	subjects  map[string]*subject
	lastSweep time.Time
}

type subject struct {
	bucket *rate.Limiter
	keys   map[string]time.Time // request key -> when it was admitted
	order  []string             // keys oldest first, for dropping the oldest past the cap
}

// NewKeyed returns buckets that refill one token per every, holding at most burst tokens; a new
// subject starts full. now is the clock (time.Now if nil), injectable so tests need not sleep.
// every <= 0 means no limit; burst <= 0 with a positive every refuses everything.
func NewKeyed(every time.Duration, burst int, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	return &Keyed{
		limit:     rate.Every(every),
		burst:     burst,
		now:       now,
		subjects:  make(map[string]*subject),
		lastSweep: now(),
	}
}

// Allow consumes a token from subject's bucket and reports whether there was one.
func (k *Keyed) Allow(subject string) bool {
	ok, _ := k.AllowNOnce(subject, "", 1)
	return ok
}

// AllowOnce is Allow for a request carrying an idempotency key: a key already admitted for this
// subject within the last 24 hours passes again without consuming a token, so replays of one
// idempotent request (client retries, a double click, 50 concurrent resubmissions) are never
// throttled, while 50 distinct requests are. Concurrent calls with the same new key consume
// exactly one token: the lookup and the consumption happen under one lock. An empty requestKey
// behaves like Allow.
func (k *Keyed) AllowOnce(subject, requestKey string) bool {
	ok, _ := k.AllowNOnce(subject, requestKey, 1)
	return ok
}

// AllowNOnce is AllowOnce for a request that costs n tokens (a batch of n emails, say): all n are
// consumed, or none. When it refuses, wait says how long until n tokens will be there, or is
// negative when n is more than the bucket ever holds (the request must be split). n <= 0 costs
// nothing and always passes.
func (k *Keyed) AllowNOnce(subject, requestKey string, n int) (ok bool, wait time.Duration) {
	if n <= 0 {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.maybeSweep(now)
	s := k.get(subject)
	if at, seen := s.keys[requestKey]; seen && requestKey != "" && now.Sub(at) < replayWindow {
		return true, 0
	}
	if !s.bucket.AllowN(now, n) {
		return false, k.waitFor(s.bucket, now, n)
	}
	if requestKey != "" {
		s.remember(requestKey, now)
	}
	return true, 0
}

// waitFor is how long until bucket holds n tokens (AllowN refused them at now); negative when it
// never will.
func (k *Keyed) waitFor(bucket *rate.Limiter, now time.Time, n int) time.Duration {
	if n > k.burst || k.limit <= 0 {
		return -1
	}
	missing := float64(n) - bucket.TokensAt(now)
	return max(time.Nanosecond, time.Duration(missing/float64(k.limit)*float64(time.Second)))
}

func (k *Keyed) get(name string) *subject {
	s, ok := k.subjects[name]
	if !ok {
		s = &subject{bucket: rate.NewLimiter(k.limit, k.burst)}
		k.subjects[name] = s
	}
	return s
}

// remember records key as admitted at now, dropping expired keys and, past the cap, the oldest.
func (s *subject) remember(key string, now time.Time) {
	s.expire(now)
	if _, ok := s.keys[key]; ok { // re-admitted after expiry under a clock that went backwards
		s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == key })
	}
	for len(s.order) >= maxKeysPerSubject {
		delete(s.keys, s.order[0])
		s.order = s.order[1:]
	}
	if s.keys == nil {
		s.keys = make(map[string]time.Time)
	}
	s.keys[key] = now
	s.order = append(s.order, key)
}

// expire forgets keys admitted more than replayWindow before now. Keys are appended in
// admission order, so the expired ones are a prefix of order.
func (s *subject) expire(now time.Time) {
	n := 0
	for n < len(s.order) && now.Sub(s.keys[s.order[n]]) >= replayWindow {
		delete(s.keys, s.order[n])
		n++
	}
	if n > 0 {
		// Copy rather than reslice so the backing array does not keep growing at the front.
		s.order = append(s.order[:0:0], s.order[n:]...)
	}
	if len(s.order) == 0 {
		s.keys, s.order = nil, nil
	}
}

// maybeSweep evicts, at most once per sweepEvery, subjects whose bucket has refilled and who
// remember no live key: a fresh bucket would start full anyway, so dropping them loses nothing
// and memory stays proportional to recently active subjects.
func (k *Keyed) maybeSweep(now time.Time) {
	if now.Sub(k.lastSweep) < sweepEvery {
		return
	}
	k.lastSweep = now
	for name, s := range k.subjects {
		s.expire(now)
		if len(s.keys) == 0 && s.bucket.TokensAt(now) >= float64(k.burst) {
			delete(k.subjects, name)
		}
	}
}
