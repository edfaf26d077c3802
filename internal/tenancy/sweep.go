package tenancy

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
)

// DefaultSweepAfter is how long a tenant may stay in `provisioning` before the sweeper removes it.
const DefaultSweepAfter = 30 * time.Minute

// SweepStore is the persistence the provisioning sweeper needs.
type SweepStore interface {
	// StaleProvisioning lists up to limit tenants in status provisioning created before cutoff.
	StaleProvisioning(ctx context.Context, cutoff time.Time, limit int) ([]Tenant, error)
	// RemoveProvisioning deletes, in one transaction, the tenant and the server-owned documents
	// that provisioning created for it (members and other subcollections, billing record,
	// subdomain claim, users' links, its pending outbox entries and idempotency records), and
	// writes rec to the top-level audit log, with who created the tenant (its StaffRecord's
	// CreatedBy, removed with it). It re-checks inside the transaction that the tenant
	// is still in provisioning and was created before cutoff, and removes nothing (removed=false)
	// otherwise, so a tenant finished concurrently is never swept.
	RemoveProvisioning(ctx context.Context, tenantID string, cutoff time.Time, rec SweepRecord) (removed bool, err error)
}

// SweepRecord is the audit entry of one swept tenant. It lives in the top-level audit log because
// the tenant, and with it tenants/{id}/audit, is gone.
type SweepRecord struct {
	Action    string // "tenant.swept"
	Actor     string // "job:sweep-provisioning"
	Reason    string
	At        time.Time
	TenantID  string
	Name      string
	CreatedAt time.Time
}

// Sweeper removes tenants left in `provisioning`. Self-serve provisioning commits atomically in
// `trial`, so nothing it writes is ever left half-made; a multi-step flow (sales conversion) may
// park a tenant in `provisioning`, and if that flow dies the tenant would stay invisible and hold
// its subdomain forever. The sweeper removes such a tenant after a grace period.
type Sweeper struct {
	store SweepStore
	clock clock.Clock
	after time.Duration
}

// NewSweeper builds a sweeper for tenants older than after (DefaultSweepAfter when <= 0).
func NewSweeper(store SweepStore, clk clock.Clock, after time.Duration) *Sweeper {
	if after <= 0 {
		after = DefaultSweepAfter
	}
	return &Sweeper{store: store, clock: clk, after: after}
}

// After is the grace period.
func (s *Sweeper) After() time.Duration { return s.after }

// SweepProvisioning removes every tenant that has been in provisioning for longer than the grace
// period, reporting progress after each page. It is idempotent and safe to interrupt.
func (s *Sweeper) SweepProvisioning(ctx context.Context, progress func(removed, skipped int)) (removed, skipped int, err error) {
	const page = 50
	now := s.clock.Now()
	cutoff := now.Add(-s.after)
	seen := map[string]bool{}
	for {
		stale, err := s.store.StaleProvisioning(ctx, cutoff, page)
		if err != nil {
			return removed, skipped, fmt.Errorf("sweep provisioning: list stale tenants: %w", err)
		}
		fresh := 0
		for _, t := range stale {
			if seen[t.ID] {
				continue // not removed on an earlier page (it changed meanwhile); do not loop on it
			}
			seen[t.ID] = true
			fresh++
			ok, err := s.store.RemoveProvisioning(ctx, t.ID, cutoff, SweepRecord{
				Action: "tenant.swept", Actor: "job:sweep-provisioning",
				Reason: fmt.Sprintf("left in provisioning for more than %s", s.after),
				At:     now, TenantID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt,
			})
			if err != nil {
				return removed, skipped, fmt.Errorf("sweep provisioning: remove tenant %s: %w", t.ID, err)
			}
			if ok {
				removed++
			} else {
				skipped++
			}
		}
		if progress != nil && fresh > 0 {
			progress(removed, skipped)
		}
		if len(stale) < page || fresh == 0 {
			return removed, skipped, nil
		}
	}
}
