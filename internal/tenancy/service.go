package tenancy

import (
	"crypto/rand"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/plans"
)

// RateLimiter admits provisioning attempts per caller. AllowOnce lets repeats of a request key
// it already admitted pass for free, so replays of one idempotent call are never limited.
type RateLimiter interface {
	AllowOnce(subject, requestKey string) bool
}

// Config tunes the domain; zero values take the defaults.
type Config struct {
	// IdempotencyRetention is how long an idempotency record answers replays (at least 24 h).
	IdempotencyRetention time.Duration
	// Events makes the events to the application (off: none, when TENANTRY_EVENTS_URL is unset).
	Events Events
	// CancelledRetention is how long a cancelled tenant is kept, and may be reactivated, before
	// the purge job deletes it (TENANTRY_CANCELLED_RETENTION; default 30 days).
	CancelledRetention time.Duration
}

// DefaultCancelledRetention keeps a cancelled tenant for 30 days.
const DefaultCancelledRetention = 30 * 24 * time.Hour

// DefaultIdempotencyRetention keeps records for 48 hours: a client that retries the next day,
// after a laptop slept through the answer, still gets its first result.
const DefaultIdempotencyRetention = 48 * time.Hour

// Service is the tenant domain.
type Service struct {
	store   Store
	plans   *plans.Catalog
	clock   clock.Clock
	limiter RateLimiter
	newID   func() string
	cfg     Config
}

// Option adjusts a Service; tests use them to pin ids.
type Option func(*Service)

// WithIDGenerator replaces the random tenant id generator.
func WithIDGenerator(f func() string) Option { return func(s *Service) { s.newID = f } }

// NewService builds the domain service. limiter may be nil (no rate limit).
func NewService(store Store, catalog *plans.Catalog, clk clock.Clock, limiter RateLimiter, cfg Config, opts ...Option) *Service {
	if cfg.IdempotencyRetention < 24*time.Hour {
		cfg.IdempotencyRetention = DefaultIdempotencyRetention
	}
	if cfg.CancelledRetention <= 0 {
		cfg.CancelledRetention = DefaultCancelledRetention
	}
	s := &Service{store: store, plans: catalog, clock: clk, limiter: limiter, newID: NewID, cfg: cfg}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Events makes the events to the application; the members and domains domains emit theirs
// through it too. A nil Service (unit tests of those domains) makes none.
func (s *Service) Events() Events {
	if s == nil {
		return Events{}
	}
	return s.cfg.Events
}

// Plans returns the catalog the service provisions from.
func (s *Service) Plans() *plans.Catalog { return s.plans }

// NewID returns a random tenant id: 26 base32 characters, 128 bits from crypto/rand.
func NewID() string { return rand.Text() }
