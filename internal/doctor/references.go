package doctor

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/outbox"
)

// references checks the documents outside tenants/{id} that name a tenant: every one of them, or
// (tenantID not "") the ones that name tenantID.
func (sc *scan) references(ctx context.Context, tenantID string) error {
	steps := []func(context.Context, string) error{
		sc.userLinks, sc.idempotencyRecords, sc.subdomainClaims, sc.domainClaims, sc.pendingBilling, sc.outbox,
	}
	for _, step := range steps {
		if err := step(ctx, tenantID); err != nil {
			return err
		}
	}
	return nil
}

// userLinks checks that each users/{uid}.tenantIds entry has its membership.
func (sc *scan) userLinks(ctx context.Context, tenantID string) error {
	return sc.s.store.UserLinkPages(ctx, tenantID, sc.s.cfg.PageSize, func(page []Link) error {
		sc.scanned(ScannedUserLinks, len(page))
		exists, err := sc.s.store.Memberships(ctx, page)
		if err != nil {
			return err
		}
		for i, l := range page {
			if exists[i] {
				continue
			}
			f := sc.find(KindDanglingUserLink, l.Path, "tenantIds names tenant %s, where user %s is not a member", l.TenantID, l.UID)
			if err := sc.repairLink(ctx, f, l); err != nil {
				return err
			}
		}
		return nil
	})
}

// idempotencyRecords checks that each idempotency record names an existing tenant: a replay of
// its call would otherwise fail to read the tenant it promises.
func (sc *scan) idempotencyRecords(ctx context.Context, tenantID string) error {
	return sc.s.store.IdempotencyPages(ctx, tenantID, sc.s.cfg.PageSize, func(page []Ref) error {
		sc.scanned(ScannedIdempotency, len(page))
		return sc.missingTenants(ctx, page, func(r Ref, _ Tenant, found bool) {
			switch {
			case r.TenantID == "":
				sc.find(KindOrphanIdempotency, r.Path, "the record names no tenant")
			case !found:
				sc.find(KindOrphanIdempotency, r.Path, "the record names tenant %s, which does not exist", r.TenantID)
			}
		})
	})
}

// subdomainClaims checks that each subdomain claim's tenant exists and holds that subdomain.
func (sc *scan) subdomainClaims(ctx context.Context, tenantID string) error {
	return sc.s.store.SubdomainClaimPages(ctx, tenantID, sc.s.cfg.PageSize, func(page []Ref) error {
		sc.scanned(ScannedSubdomains, len(page))
		return sc.missingTenants(ctx, page, func(r Ref, t Tenant, found bool) {
			switch {
			case !found:
				sc.find(KindSubdomainClaim, r.Path, "the claim names tenant %q, which does not exist", r.TenantID)
			case t.Subdomain != r.Name:
				sc.find(KindSubdomainClaim, r.Path, "the claim names tenant %s, whose subdomain is %q", r.TenantID, t.Subdomain)
			}
		})
	})
}

// domainClaims checks that each domain claim's tenant exists.
func (sc *scan) domainClaims(ctx context.Context, tenantID string) error {
	return sc.s.store.DomainClaimPages(ctx, tenantID, sc.s.cfg.PageSize, func(page []Ref) error {
		sc.scanned(ScannedDomains, len(page))
		return sc.missingTenants(ctx, page, func(r Ref, _ Tenant, found bool) {
			if !found {
				sc.find(KindDomainClaim, r.Path, "the claim names tenant %q, which does not exist", r.TenantID)
			}
		})
	})
}

// missingTenants reads the tenants page names and calls check with each document and its tenant.
func (sc *scan) missingTenants(ctx context.Context, page []Ref, check func(r Ref, t Tenant, found bool)) error {
	ids := make([]string, 0, len(page))
	for _, r := range page {
		if r.TenantID != "" {
			ids = append(ids, r.TenantID)
		}
	}
	tenants, err := sc.s.store.Tenants(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range page {
		t, found := tenants[r.TenantID]
		check(r, t, found)
	}
	return nil
}

// pendingBilling reports billing records whose Stripe setup has not run within
// Config.BillingPendingFor: the tenant has no customer or subscription.
func (sc *scan) pendingBilling(ctx context.Context, tenantID string) error {
	cutoff := sc.now.Add(-sc.s.cfg.BillingPendingFor)
	return sc.s.store.PendingBillingPages(ctx, tenantID, sc.s.cfg.PageSize, func(page []Ref) error {
		sc.scanned(ScannedBilling, len(page))
		for _, r := range page {
			if r.At.Before(cutoff) {
				sc.find(KindBillingPending, r.Path, "the billing record has been pending since %s (more than %s): its Stripe setup has not run",
					r.At.UTC().Format(time.RFC3339), sc.s.cfg.BillingPendingFor)
			}
		}
		return nil
	})
}

// outbox reports dead-lettered entries, and pending ones overdue by more than
// Config.OutboxStuckFor: a claim moves an entry's due time to its lease's expiry, so an overdue
// entry is one nobody has run since its lease expired, or since it was due.
func (sc *scan) outbox(ctx context.Context, tenantID string) error {
	cutoff := sc.now.Add(-sc.s.cfg.OutboxStuckFor)
	return sc.s.store.OutboxPages(ctx, tenantID, sc.s.cfg.PageSize, func(page []OutboxEntry) error {
		sc.scanned(ScannedOutbox, len(page))
		for _, e := range page {
			switch {
			case e.State == string(outbox.StateDead):
				sc.find(KindOutboxDead, e.Path, "the %s entry of tenant %s was dead-lettered after %d attempts", e.Kind, e.TenantID, e.Attempts)
			case e.State == string(outbox.StatePending) && e.NextAttemptAt.Before(cutoff):
				sc.find(KindOutboxStuck, e.Path, "the %s entry of tenant %s has been due since %s (more than %s) after %d attempts",
					e.Kind, e.TenantID, e.NextAttemptAt.UTC().Format(time.RFC3339), sc.s.cfg.OutboxStuckFor, e.Attempts)
			}
		}
		return nil
	})
}
