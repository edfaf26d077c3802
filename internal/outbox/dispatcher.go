package outbox

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tenantry/tenantry/internal/clock"
)

// Config tunes a Dispatcher; zero values take the defaults below.
type Config struct {
	// Owner names this dispatcher in leases (default: host-pid-random). Two dispatchers must
	// never share one.
	Owner string
	// BatchSize is how many due entries one query lists (default 50).
	BatchSize int
	// Concurrency is how many handlers run at once (default 4).
	Concurrency int
	// Lease is how long a claim is exclusive (default 2m). A handler gets half of it, so that the
	// settlement lands before the lease can expire; an entry whose dispatcher died is claimable
	// again after it.
	Lease time.Duration
	// MaxAttempts is how many claims an entry gets before it is dead-lettered (default 8).
	MaxAttempts int
	// BackoffBase and BackoffCap bound the retry delay: attempt n waits a uniformly random time in
	// [0, min(cap, base·2^(n-1))] ("full jitter", so that entries failing together do not retry
	// together). Defaults 2s and 10m.
	BackoffBase time.Duration
	BackoffCap  time.Duration
	// MaxPerPass bounds one pass (default 1000 entries), so a scheduled pass always ends.
	MaxPerPass int
	// Retention is how long a done entry is kept (its ExpireAt, for a TTL policy; default 7 days).
	Retention time.Duration
	// UnknownKindGrace is how old a pending entry of a kind that no code knows must be before it
	// is dead-lettered (default 1h): during a rolling deploy an old replica must not kill the new
	// version's entries.
	UnknownKindGrace time.Duration
	// Jitter draws the delay in [0, max]; nil is uniform. Tests pin it to see the exact backoff.
	Jitter func(max time.Duration) time.Duration
	// Observe, if set, is told the outcome of every attempt ("done", "retry", "dead", "lost").
	Observe func(kind, outcome string, took time.Duration)
	Logger  *slog.Logger // nil: slog.Default()
	// Tracing makes a span of every attempt (tracing.go); nil: none.
	Tracing trace.TracerProvider
}

// Defaults.
const (
	DefaultBatchSize        = 50
	DefaultConcurrency      = 4
	DefaultLease            = 2 * time.Minute
	DefaultMaxAttempts      = 8
	DefaultBackoffBase      = 2 * time.Second
	DefaultBackoffCap       = 10 * time.Minute
	DefaultMaxPerPass       = 1000
	DefaultRetention        = 7 * 24 * time.Hour
	DefaultUnknownKindGrace = time.Hour
)

// maxErrorLen bounds LastError: enough for an SMTP reply or a Stripe message, small enough for a
// list of dead entries.
const maxErrorLen = 500

// Dispatcher claims due entries and runs their handlers. It is safe for concurrent use, and any
// number of dispatchers may work on one store.
type Dispatcher struct {
	store    Store
	clock    clock.Clock
	cfg      Config
	log      *slog.Logger
	mu       sync.RWMutex
	handlers map[string]Handler
	known    map[string]bool
	kick     chan struct{}
	// lastUnknownSweep throttles the unknown-kind query to once a minute: it almost always finds
	// nothing, and Run may pass every second.
	lastUnknownSweep atomic.Int64
	// unknownCursor is the createdAt of the last entry the sweep looked at, so a backlog of old
	// entries of known kinds cannot hide an unknown one behind the page limit: each sweep reads
	// the next page and starts over after a short one.
	unknownCursor atomic.Int64
}

// NewDispatcher builds a dispatcher with no handlers.
func NewDispatcher(store Store, clk clock.Clock, cfg Config) *Dispatcher {
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.BatchSize, DefaultBatchSize)
	def(&cfg.Concurrency, DefaultConcurrency)
	def(&cfg.MaxAttempts, DefaultMaxAttempts)
	def(&cfg.MaxPerPass, DefaultMaxPerPass)
	defDur(&cfg.Lease, DefaultLease)
	defDur(&cfg.BackoffBase, DefaultBackoffBase)
	defDur(&cfg.BackoffCap, DefaultBackoffCap)
	defDur(&cfg.Retention, DefaultRetention)
	defDur(&cfg.UnknownKindGrace, DefaultUnknownKindGrace)
	if cfg.BackoffCap < cfg.BackoffBase {
		cfg.BackoffCap = cfg.BackoffBase
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(max time.Duration) time.Duration { return time.Duration(mrand.Int64N(int64(max) + 1)) }
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	return &Dispatcher{
		store: store, clock: clk, cfg: cfg, log: lg.With("component", "outbox", "owner", cfg.Owner),
		handlers: map[string]Handler{}, known: map[string]bool{}, kick: make(chan struct{}, 1),
	}
}

// Kick asks Run for a pass now instead of at the next poll. A process that has just committed
// outbox entries kicks its own dispatcher, so the common case (the replica that provisioned also
// dispatches) does not wait for a poll; polling remains for everything else. It never blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default: // a pass is already requested
	}
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:8])
}

// Owner is the name this dispatcher writes into leases.
func (d *Dispatcher) Owner() string { return d.cfg.Owner }

// Config returns the effective configuration (defaults applied).
func (d *Dispatcher) Config() Config { return d.cfg }

// Handle registers the handler of kind. Registering a kind twice is a programming error.
func (d *Dispatcher) Handle(kind string, h Handler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.handlers[kind]; dup {
		panic(fmt.Sprintf("outbox: handler for %q registered twice", kind))
	}
	d.handlers[kind] = h
	d.known[kind] = true
}

// Know declares kinds that exist in this version of the code but that this dispatcher does not
// perform (a handler shipped by a later release, or one switched off here, such as email without
// SMTP_URL). Entries of those kinds stay pending, untouched, for a dispatcher that handles them;
// entries of kinds neither handled nor known are dead-lettered after UnknownKindGrace.
func (d *Dispatcher) Know(kinds ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range kinds {
		d.known[k] = true
	}
}

// Kinds lists the kinds this dispatcher handles, sorted.
func (d *Dispatcher) Kinds() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Sorted(maps.Keys(d.handlers))
}

func (d *Dispatcher) knownKinds() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Sorted(maps.Keys(d.known))
}

func (d *Dispatcher) knows(kind string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.known[kind]
}

func (d *Dispatcher) handler(kind string) (Handler, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	h, ok := d.handlers[kind]
	return h, ok
}

// PassStats counts what a pass did.
type PassStats struct {
	Claimed int // attempts started
	Done    int
	Retried int // failed, rescheduled with backoff
	Dead    int // dead-lettered (attempts exhausted, permanent error, or unknown kind)
	Lost    int // claimed by another dispatcher first, or the lease was lost before settling
}

func (s *PassStats) add(o PassStats) {
	s.Claimed += o.Claimed
	s.Done += o.Done
	s.Retried += o.Retried
	s.Dead += o.Dead
	s.Lost += o.Lost
}

// String is the one-line summary the CLI and the jobs print.
func (s PassStats) String() string {
	return fmt.Sprintf("claimed %d, done %d, retried %d, dead-lettered %d, lost to other dispatchers %d",
		s.Claimed, s.Done, s.Retried, s.Dead, s.Lost)
}

// RunPass works through the entries due now, batch after batch, until none is left, every entry
// of a batch went to other dispatchers, or MaxPerPass entries were seen. progress, if set, is
// called after each batch with the running totals. An error means the store failed; entries
// already handled stay handled.
func (d *Dispatcher) RunPass(ctx context.Context, progress func(PassStats)) (PassStats, error) {
	var total PassStats
	kinds := d.Kinds()
	if len(kinds) > 0 {
		seen := 0
		for seen < d.cfg.MaxPerPass {
			limit := min(d.cfg.BatchSize, d.cfg.MaxPerPass-seen)
			batch, err := d.store.Due(ctx, kinds, d.clock.Now(), limit)
			if err != nil {
				return total, fmt.Errorf("outbox pass: list due entries: %w", err)
			}
			if len(batch) == 0 {
				break
			}
			seen += len(batch)
			// Dispatchers list the same oldest entries. Shuffled, they work through the batch
			// in different orders and rarely reach an entry at the same moment; reaching one
			// the other already claimed costs one refused write (a lost claim), no lock wait.
			mrand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			st := d.runBatch(ctx, batch)
			total.add(st)
			if progress != nil {
				progress(total)
			}
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			if len(batch) < limit || st.Claimed == 0 {
				break
			}
		}
	}
	dead, err := d.deadLetterUnknown(ctx)
	total.Dead += dead
	if err != nil {
		return total, err
	}
	return total, nil
}

// Run repeats passes until ctx is cancelled, waiting poll between passes (or less, when kicked).
// A failing store is logged and retried at the next poll. It returns nil on cancellation.
func (d *Dispatcher) Run(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.kick:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		st, err := d.RunPass(ctx, nil)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			d.log.Error("outbox pass failed; retrying at the next poll", "error", err.Error())
		} else if st.Claimed > 0 || st.Dead > 0 {
			d.log.Debug("outbox pass", "summary", st.String())
		}
		t.Reset(poll)
	}
}

func (d *Dispatcher) runBatch(ctx context.Context, batch []Entry) PassStats {
	var (
		mu    sync.Mutex
		stats PassStats
		wg    sync.WaitGroup
		sem   = make(chan struct{}, d.cfg.Concurrency)
	)
	for _, e := range batch {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(e Entry) {
			defer func() { <-sem; wg.Done() }()
			st := d.process(ctx, e)
			mu.Lock()
			stats.add(st)
			mu.Unlock()
		}(e)
	}
	wg.Wait()
	return stats
}

// process claims, runs and settles one entry.
func (d *Dispatcher) process(ctx context.Context, e Entry) PassStats {
	if e.Attempts >= d.cfg.MaxAttempts {
		return d.abandon(ctx, e)
	}
	h, found := d.handler(e.Kind)
	if !found {
		return PassStats{} // not ours (the query asked for our kinds only)
	}
	now := d.clock.Now()
	claimed, ok, err := d.store.Claim(ctx, e, d.cfg.Owner, now, now.Add(d.cfg.Lease))
	if err != nil {
		d.logFor(e).Error("cannot claim outbox entry", "error", err.Error())
		return PassStats{}
	}
	if !ok {
		d.observe(e.Kind, "lost", 0)
		return PassStats{Lost: 1}
	}
	ctx, span := d.startSpan(ctx, claimed)
	defer span.End()
	start := time.Now()
	herr := d.attempt(ctx, h, claimed)
	took := time.Since(start)
	s := d.settlementOf(ctx, claimed, herr)
	markOutcome(span, s)
	return d.record(ctx, claimed, s, took)
}

func (d *Dispatcher) logFor(e Entry) *slog.Logger { return d.log.With("entry", e.ID, "kind", e.Kind) }

// abandon dead-letters an entry whose last allowed attempt was claimed but never settled: its
// dispatcher died or the handler outlived the lease. It does not start another.
func (d *Dispatcher) abandon(ctx context.Context, e Entry) PassStats {
	msg := fmt.Sprintf("gave up after %d attempts: the last one never finished (its dispatcher stopped, or the handler outlived the %s lease)", e.Attempts, d.cfg.Lease)
	if e.LastError != "" {
		msg += "; earlier error: " + e.LastError
	}
	ok, err := d.store.Settle(ctx, e, Settlement{State: StateDead, At: d.clock.Now(), LastError: truncate(msg)})
	switch {
	case err != nil:
		d.logFor(e).Error("cannot dead-letter an abandoned entry", "error", err.Error())
		return PassStats{}
	case !ok:
		return PassStats{Lost: 1}
	}
	d.logFor(e).Warn("outbox entry dead-lettered", "attempts", e.Attempts, "lastError", msg)
	d.observe(e.Kind, "dead", 0)
	return PassStats{Dead: 1}
}

// attempt runs h on the claimed entry with half the lease, so that the settlement lands before
// the lease can expire.
func (d *Dispatcher) attempt(ctx context.Context, h Handler, claimed Entry) error {
	hctx, cancel := context.WithTimeout(ctx, d.cfg.Lease/2)
	defer cancel()
	return call(hctx, h, Delivery{Entry: claimed, IdempotencyKey: claimed.ID, Attempt: claimed.Attempts})
}

// settlementOf is how the attempt of claimed that returned herr ends.
func (d *Dispatcher) settlementOf(ctx context.Context, claimed Entry, herr error) Settlement {
	end := d.clock.Now()
	switch {
	case herr == nil:
		return Settlement{State: StateDone, At: end, ExpireAt: end.Add(d.cfg.Retention)}
	case ctx.Err() != nil:
		// We are stopping, not the entry failing: hand it back due now. The claim still counts
		// as an attempt, which bounds an entry that is interrupted over and over.
		return Settlement{State: StatePending, At: end, NextAttemptAt: end, LastError: truncate("interrupted: the dispatcher stopped during the attempt")}
	case IsPermanent(herr) || claimed.Attempts >= d.cfg.MaxAttempts:
		return Settlement{State: StateDead, At: end, LastError: truncate(Redact(herr.Error()))}
	}
	return Settlement{State: StatePending, At: end, NextAttemptAt: end.Add(d.backoff(claimed.Attempts)), LastError: truncate(Redact(herr.Error()))}
}

// record writes the settlement s of an attempt of claimed that took took, and reports it in the
// log, the metrics and the pass's counts.
func (d *Dispatcher) record(ctx context.Context, claimed Entry, s Settlement, took time.Duration) PassStats {
	log := d.logFor(claimed)
	outcome := outcomeOf(s)
	// Settle even when ctx is cancelled: the attempt happened and must be recorded.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	ok, err := d.store.Settle(sctx, claimed, s)
	cancel()
	if err != nil {
		// The entry stays leased and becomes due again when the lease expires: at least once.
		log.Error("cannot record the outcome of an outbox attempt; it will run again after its lease expires",
			"outcome", outcome, "error", err.Error())
		return PassStats{Claimed: 1}
	}
	if !ok {
		log.Warn("lost the lease before recording the outcome; another dispatcher runs the entry again",
			"outcome", outcome, "took", took.String())
		d.observe(claimed.Kind, "lost", took)
		return PassStats{Claimed: 1, Lost: 1}
	}
	d.observe(claimed.Kind, outcome, took)
	switch s.State {
	case StateDone:
		log.Debug("outbox entry done", "attempt", claimed.Attempts, "took", took.String())
		return PassStats{Claimed: 1, Done: 1}
	case StateDead:
		log.Warn("outbox entry dead-lettered", "attempt", claimed.Attempts, "lastError", s.LastError)
		return PassStats{Claimed: 1, Dead: 1}
	}
	log.Info("outbox attempt failed; retrying later", "attempt", claimed.Attempts,
		"nextAttemptAt", s.NextAttemptAt, "error", s.LastError)
	return PassStats{Claimed: 1, Retried: 1}
}

// outcomeOf names a settlement in the metrics and logs: done, dead or retry.
func outcomeOf(s Settlement) string {
	switch s.State {
	case StateDone:
		return "done"
	case StateDead:
		return "dead"
	}
	return "retry"
}

// call runs h, turning a panic into an error so that one bad entry cannot stop the dispatcher.
func call(ctx context.Context, h Handler, dl Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, dl)
}

// backoff is the delay after the attempt-th failed attempt: full jitter over an exponentially
// growing window.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	window := d.cfg.BackoffBase
	for i := 1; i < attempt && window < d.cfg.BackoffCap; i++ {
		window *= 2
	}
	window = min(window, d.cfg.BackoffCap)
	j := d.cfg.Jitter(window)
	return max(0, min(j, window))
}

// deadLetterUnknown dead-letters old pending entries of kinds no code here knows (a typo, or a
// kind from a release that was rolled back), so they show up in outbox-status instead of waiting
// silently forever. Kinds are compared here rather than with a not-in query, which Firestore
// limits to 10 values.
func (d *Dispatcher) deadLetterUnknown(ctx context.Context) (int, error) {
	now := d.clock.Now()
	if last := d.lastUnknownSweep.Load(); last != 0 && now.Sub(time.Unix(0, last)) < time.Minute {
		return 0, nil
	}
	d.lastUnknownSweep.Store(now.UnixNano())
	entries, err := d.store.PendingCreatedBetween(ctx, time.Unix(0, d.unknownCursor.Load()), now.Add(-d.cfg.UnknownKindGrace), d.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("outbox pass: list old pending entries: %w", err)
	}
	d.advanceUnknownCursor(entries)
	n := 0
	for _, e := range entries {
		if d.knows(e.Kind) {
			continue
		}
		ok, err := d.deadLetterUnknownEntry(ctx, e, now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// advanceUnknownCursor moves the sweep's cursor past entries, or back to the start after a page
// shorter than the limit (the end of the backlog).
func (d *Dispatcher) advanceUnknownCursor(entries []Entry) {
	if len(entries) < d.cfg.BatchSize {
		d.unknownCursor.Store(0)
		return
	}
	d.unknownCursor.Store(entries[len(entries)-1].CreatedAt.UnixNano())
}

func (d *Dispatcher) deadLetterUnknownEntry(ctx context.Context, e Entry, now time.Time) (bool, error) {
	msg := fmt.Sprintf("no handler for kind %q: this version knows %v; fix the writer, or deploy the handler and run `tenantry jobs outbox-retry %s`", e.Kind, d.knownKinds(), e.ID)
	ok, err := d.store.Settle(ctx, e, Settlement{State: StateDead, At: now, LastError: truncate(msg)})
	if err != nil {
		return false, fmt.Errorf("outbox pass: dead-letter %s: %w", e.ID, err)
	}
	if ok {
		d.log.Warn("outbox entry of unknown kind dead-lettered", "entry", e.ID, "kind", e.Kind)
		d.observe(e.Kind, "dead", 0)
	}
	return ok, nil
}

func (d *Dispatcher) observe(kind, outcome string, took time.Duration) {
	if d.cfg.Observe != nil {
		d.cfg.Observe(kind, outcome, took)
	}
}

// Status is what operators see.
type Status struct {
	Counts map[State]int
	Dead   []Entry // the most recently dead first
}

// Status counts entries by state and lists up to deadLimit dead-lettered entries.
func (d *Dispatcher) Status(ctx context.Context, deadLimit int) (Status, error) {
	st := Status{Counts: map[State]int{}}
	for _, s := range States {
		n, err := d.store.Count(ctx, s)
		if err != nil {
			return st, fmt.Errorf("count %s outbox entries: %w", s, err)
		}
		st.Counts[s] = n
	}
	if deadLimit > 0 {
		dead, err := d.store.Dead(ctx, deadLimit)
		if err != nil {
			return st, fmt.Errorf("list dead outbox entries: %w", err)
		}
		st.Dead = dead
	}
	return st, nil
}

// Counts counts entries by state (for metrics).
func (d *Dispatcher) Counts(ctx context.Context) (map[State]int, error) {
	st, err := d.Status(ctx, 0)
	return st.Counts, err
}

// Retry sends a dead-lettered entry back to pending, due now, with a fresh attempt budget.
func (d *Dispatcher) Retry(ctx context.Context, id string) (Entry, error) {
	e, err := d.store.Get(ctx, id)
	if err != nil {
		return Entry{}, fmt.Errorf("retry outbox entry %s: %w", id, err)
	}
	if e.State != StateDead {
		return e, fmt.Errorf("retry outbox entry %s (state %s): %w", id, e.State, ErrNotDead)
	}
	ok, err := d.store.Revive(ctx, e, d.clock.Now())
	if err != nil {
		return e, fmt.Errorf("retry outbox entry %s: %w", id, err)
	}
	if !ok {
		return e, fmt.Errorf("retry outbox entry %s: it changed while being retried; look again with outbox-status", id)
	}
	return d.store.Get(ctx, id)
}

// truncate bounds an error message by bytes, keeping valid UTF-8.
func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	cut := maxErrorLen - len("…")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
