package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
)

func newTest(every time.Duration, burst int) (*Keyed, *clock.Manual) {
	c := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	return NewKeyed(every, burst, c.Now), c
}

// drain calls Allow until refused and returns how many passed (bounded to catch runaways).
func drain(k *Keyed, subject string) int {
	n := 0
	for n < 1000 && k.Allow(subject) {
		n++
	}
	return n
}

func TestBurstRefusalRefill(t *testing.T) {
	k, c := newTest(time.Second, 3)
	for i := range 3 {
		if !k.Allow("u1") {
			t.Fatalf("call %d within burst refused", i+1)
		}
	}
	if k.Allow("u1") {
		t.Fatal("call past burst allowed")
	}
	if !k.Allow("u2") {
		t.Fatal("buckets are not per subject")
	}
	c.Advance(999 * time.Millisecond)
	if k.Allow("u1") {
		t.Fatal("token arrived early")
	}
	c.Advance(time.Millisecond)
	if !k.Allow("u1") || k.Allow("u1") {
		t.Fatal("want exactly one token after one interval")
	}
	c.Advance(time.Hour)
	if got := drain(k, "u1"); got != 3 {
		t.Fatalf("refill capped at burst: got %d, want 3", got)
	}
}

func TestNilClockUsesWallClock(t *testing.T) {
	k := NewKeyed(time.Hour, 1, nil)
	if !k.Allow("s") || k.Allow("s") {
		t.Fatal("want burst of one")
	}
}

func TestAllowOnceReplaysAreFree(t *testing.T) {
	k, c := newTest(time.Minute, 2)
	for i := range 50 {
		if !k.AllowOnce("u1", "key-a") {
			t.Fatalf("replay %d of an admitted key refused", i)
		}
	}
	if !k.AllowOnce("u1", "key-b") {
		t.Fatal("second distinct key refused within burst")
	}
	if k.AllowOnce("u1", "key-c") {
		t.Fatal("third distinct key allowed past burst")
	}
	if !k.AllowOnce("u1", "key-a") || !k.AllowOnce("u1", "key-b") {
		t.Fatal("admitted keys must replay even with an empty bucket")
	}
	if k.AllowOnce("u1", "key-c") {
		t.Fatal("a refused key must not be remembered as admitted")
	}
	// Keys are per subject: another subject's key-a is a new request.
	k2, _ := newTest(time.Minute, 1)
	k2.AllowOnce("u1", "key-a")
	if !k2.AllowOnce("u2", "key-a") || k2.AllowOnce("u2", "key-z") {
		t.Fatal("keys leaked across subjects")
	}
	// An empty key is a plain Allow.
	c.Advance(2 * time.Minute)
	got := []bool{k.AllowOnce("u1", ""), k.AllowOnce("u1", ""), k.AllowOnce("u1", "")}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("empty key should consume tokens like Allow: got %v, want [true true false]", got)
	}
}

func TestAllowOnceDistinctRequestsAreLimited(t *testing.T) {
	k, _ := newTest(time.Minute, 5)
	passed := 0
	for i := range 50 {
		if k.AllowOnce("u1", fmt.Sprintf("key-%d", i)) {
			passed++
		}
	}
	if passed != 5 {
		t.Fatalf("%d of 50 distinct requests passed, want 5", passed)
	}
}

func TestAllowOnceKeyExpires(t *testing.T) {
	k, c := newTest(time.Hour, 1)
	if !k.AllowOnce("u1", "key-a") {
		t.Fatal("first call refused")
	}
	c.Advance(replayWindow - time.Second)
	if !k.AllowOnce("u1", "key-a") {
		t.Fatal("replay within the window refused")
	}
	// 24h refilled the bucket (burst 1) and the key expired: the next replay costs the token.
	c.Advance(time.Second)
	if !k.AllowOnce("u1", "key-a") {
		t.Fatal("expired key with a token available refused")
	}
	if k.Allow("u1") {
		t.Fatal("expired key replay should have consumed the token")
	}
	if !k.AllowOnce("u1", "key-a") {
		t.Fatal("re-admitted key should replay free")
	}
}

func TestRememberedKeysAreCapped(t *testing.T) {
	k, _ := newTest(0, 1) // every <= 0: unlimited, so every key is admitted
	for i := range maxKeysPerSubject + 10 {
		k.AllowOnce("u1", fmt.Sprintf("key-%d", i))
	}
	s := k.subjects["u1"]
	if len(s.keys) != maxKeysPerSubject || len(s.order) != maxKeysPerSubject {
		t.Fatalf("remembered %d keys (order %d), want %d", len(s.keys), len(s.order), maxKeysPerSubject)
	}
	if _, ok := s.keys["key-0"]; ok {
		t.Fatal("oldest key should have been dropped")
	}
	if _, ok := s.keys[fmt.Sprintf("key-%d", maxKeysPerSubject+9)]; !ok {
		t.Fatal("newest key missing")
	}
}

func TestConcurrentSameKeyConsumesOneToken(t *testing.T) {
	k, _ := newTest(time.Hour, 5)
	var wg sync.WaitGroup
	var passed atomic.Int32
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			if k.AllowOnce("u1", "provision-42") {
				passed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if passed.Load() != 100 {
		t.Fatalf("%d of 100 replays passed, want all", passed.Load())
	}
	if got := drain(k, "u1"); got != 4 {
		t.Fatalf("%d tokens left, want 4 (exactly one consumed)", got)
	}
}

func TestConcurrentDistinctKeys(t *testing.T) {
	k, _ := newTest(time.Hour, 10)
	var wg sync.WaitGroup
	var passed atomic.Int32
	for i := range 100 {
		wg.Go(func() {
			if k.AllowOnce(fmt.Sprintf("u%d", i%2), fmt.Sprintf("key-%d", i)) {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 20 {
		t.Fatalf("%d passed, want 2 subjects × burst 10", passed.Load())
	}
}

func TestEviction(t *testing.T) {
	k, c := newTest(time.Second, 2)
	for i := range 100 {
		k.Allow(fmt.Sprintf("ip-%d", i))
	}
	k.AllowOnce("holder", "key-a")
	if n := len(k.subjects); n != 101 {
		t.Fatalf("tracking %d subjects, want 101", n)
	}

	// Buckets are full again after 2s, but no sweep runs until a minute has passed.
	c.Advance(30 * time.Second)
	k.Allow("probe")
	if n := len(k.subjects); n != 102 {
		t.Fatalf("swept too early: %d subjects", n)
	}

	c.Advance(30 * time.Second)
	k.Allow("probe") // triggers the sweep, then re-creates probe's bucket
	if _, ok := k.subjects["ip-0"]; ok {
		t.Fatal("idle full subject not evicted")
	}
	if _, ok := k.subjects["holder"]; !ok {
		t.Fatal("subject with a live request key evicted; its replay would cost a token")
	}
	if n := len(k.subjects); n != 2 {
		t.Fatalf("want holder and probe left, got %d subjects", n)
	}

	// A subject whose bucket is still refilling is kept: evicting it would hand out a full burst.
	k2, c2 := newTest(time.Hour, 2)
	k2.Allow("busy")
	c2.Advance(sweepEvery)
	k2.Allow("probe")
	if _, ok := k2.subjects["busy"]; !ok {
		t.Fatal("subject with a partly empty bucket evicted")
	}

	// Once the key expires the holder goes too.
	c.Advance(replayWindow)
	k.Allow("probe")
	if _, ok := k.subjects["holder"]; ok {
		t.Fatal("subject kept after its keys expired and its bucket refilled")
	}
	if !k.AllowOnce("holder", "key-a") {
		t.Fatal("evicted subject should start with a full bucket")
	}
}

func TestAllowNOnceCostsNTokensOnce(t *testing.T) {
	k, c := newTest(time.Second, 5)
	if ok, _ := k.AllowNOnce("u1", "batch-1", 3); !ok {
		t.Fatal("a batch of 3 within a burst of 5 refused")
	}
	if ok, _ := k.AllowNOnce("u1", "batch-1", 3); !ok {
		t.Fatal("a retry of an admitted batch refused")
	}
	ok, wait := k.AllowNOnce("u1", "batch-2", 3)
	if ok {
		t.Fatal("a second batch of 3 passed with 2 tokens left")
	}
	if wait != time.Second {
		t.Fatalf("wait %s, want 1s (one token missing at one per second)", wait)
	}
	// A refused batch consumes nothing: the 2 tokens are still there.
	if ok, _ := k.AllowNOnce("u1", "batch-3", 2); !ok {
		t.Fatal("a refused batch consumed tokens")
	}
	if ok, wait := k.AllowNOnce("u1", "too-big", 6); ok || wait >= 0 {
		t.Fatalf("a batch larger than the burst: ok %v wait %s, want refused with a negative wait", ok, wait)
	}
	if ok, _ := k.AllowNOnce("u1", "nothing", 0); !ok {
		t.Fatal("a request costing nothing refused")
	}
	c.Advance(3 * time.Second)
	if ok, wait := k.AllowNOnce("u1", "batch-2", 3); !ok {
		t.Fatalf("after 3s the batch of 3 is still refused (wait %s)", wait)
	}
	if got := drain(k, "u1"); got != 0 {
		t.Fatalf("%d tokens left, want 0", got)
	}
}
