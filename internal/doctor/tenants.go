package doctor

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// allTenants checks every tenant, a page at a time.
func (sc *scan) allTenants(ctx context.Context) error {
	return sc.s.store.TenantPages(ctx, sc.s.cfg.PageSize, func(page []Tenant) error {
		return sc.tenants(ctx, page)
	})
}

// namedTenant checks one tenant of Options.TenantIDs; a missing one has nothing of its own to
// check (references() still looks for documents naming it).
func (sc *scan) namedTenant(ctx context.Context, id string) error {
	found, err := sc.s.store.Tenants(ctx, []string{id})
	if err != nil {
		return err
	}
	if t, ok := found[id]; ok {
		return sc.tenants(ctx, []Tenant{t})
	}
	return nil
}

// tenants checks a page of tenants: each one's own documents (Config.Workers at a time), then
// their subdomain claims in one read. The first error stops the page.
func (sc *scan) tenants(ctx context.Context, page []Tenant) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sc.s.cfg.Workers)
	for _, t := range page {
		g.Go(func() error { return sc.tenant(gctx, t) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	sc.scanned(ScannedTenants, len(page))
	return sc.tenantSubdomains(ctx, page)
}

// tenant checks one tenant: its owner, its counters, its members' user links and its history.
// A tenant being purged is half deleted by design; the purge job finishes it.
func (sc *scan) tenant(ctx context.Context, t Tenant) error {
	if t.Purging {
		return nil
	}
	owners, members := 0, 0
	err := sc.s.store.MemberPages(ctx, t.ID, sc.s.cfg.PageSize, func(page []Member) error {
		members += len(page)
		for _, m := range page {
			if m.Role == rules.RoleOwner {
				owners++
			}
		}
		sc.scanned(ScannedMembers, len(page))
		return sc.memberLinks(ctx, t, page)
	})
	if err != nil {
		return err
	}
	pending, ownerInvitations, err := sc.s.store.PendingInvitations(ctx, t.ID)
	if err != nil {
		return err
	}
	sc.checkOwners(t, owners, ownerInvitations)
	if err := sc.checkCounters(ctx, t, members, pending); err != nil {
		return err
	}
	return sc.checkHistory(ctx, t)
}

// checkOwners wants exactly one owner. A sales contract's tenant has none until its named admin
// accepts the owner invitation, so no owner is right while such an invitation is pending.
func (sc *scan) checkOwners(t Tenant, owners, ownerInvitations int) {
	switch {
	case owners == 1, owners == 0 && ownerInvitations > 0:
		return
	case owners == 0:
		sc.find(KindOwnerCount, t.Path, "the organization has no owner and no pending owner invitation")
	default:
		sc.find(KindOwnerCount, t.Path, "the organization has %d owners, where there must be exactly one", owners)
	}
}

// checkCounters compares seatsUsed and pendingInvitations with the documents they count, and with
// Options.Repair recounts them in a transaction.
func (sc *scan) checkCounters(ctx context.Context, t Tenant, members, pending int) error {
	var found []int
	if t.SeatsUsed != members {
		found = append(found, sc.find(KindSeatsUsed, t.Path, "seatsUsed is %d but the organization has %d members", t.SeatsUsed, members))
	}
	if t.PendingInvitations != pending {
		found = append(found, sc.find(KindPendingInvitations, t.Path, "pendingInvitations is %d but %d invitations are pending", t.PendingInvitations, pending))
	}
	if len(found) == 0 || !sc.opts.Repair {
		return nil
	}
	if err := sc.repairCounters(ctx, t.ID); err != nil {
		return err
	}
	sc.repaired(found...)
	return nil
}

// memberLinks checks that every member of page has its users/{uid} link to t.
func (sc *scan) memberLinks(ctx context.Context, t Tenant, page []Member) error {
	uids := make([]string, len(page))
	for i, m := range page {
		uids[i] = m.UID
	}
	linked, err := sc.s.store.LinkedUIDs(ctx, t.ID, uids)
	if err != nil {
		return err
	}
	for _, m := range page {
		if linked[m.UID] {
			continue
		}
		f := sc.find(KindMissingUserLink, m.Path, "users/%s.tenantIds does not name tenant %s", m.UID, t.ID)
		if err := sc.repairLink(ctx, f, Link{Path: "users/" + m.UID, UID: m.UID, TenantID: t.ID}); err != nil {
			return err
		}
	}
	return nil
}

// checkHistory replays t's history from the status every tenant is provisioned in, through the
// lifecycle table: each entry must start where the previous one ended and be a move the table
// allows (or stay in place: a trial extension, a plan change), and the last must end at t's status.
func (sc *scan) checkHistory(ctx context.Context, t Tenant) error {
	at, path, broken := rules.StatusTrial, t.Path, ""
	err := sc.s.store.HistoryPages(ctx, t.ID, sc.s.cfg.PageSize, func(page []HistoryEntry) error {
		sc.scanned(ScannedHistory, len(page))
		for _, h := range page {
			if broken != "" {
				return nil
			}
			switch {
			case h.From != at:
				broken = fmt.Sprintf("this entry moves from %s, but the history before it leaves the organization %s", h.From, at)
			case h.From != h.To && !tenancy.CanTransition(h.From, h.To):
				broken = fmt.Sprintf("this entry moves from %s to %s, which the lifecycle does not allow", h.From, h.To)
			}
			at, path = h.To, h.Path
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case broken != "":
		sc.find(KindStatusHistory, path, "%s", broken)
	case at != t.Status:
		sc.find(KindStatusHistory, t.Path, "the history ends at %s but the organization is %s", at, t.Status)
	}
	return nil
}

// tenantSubdomains checks that the subdomain of each tenant of page is claimed for it.
func (sc *scan) tenantSubdomains(ctx context.Context, page []Tenant) error {
	var names []string
	for _, t := range page {
		if t.Subdomain != "" {
			names = append(names, t.Subdomain)
		}
	}
	if len(names) == 0 {
		return nil
	}
	claims, err := sc.s.store.SubdomainClaims(ctx, names)
	if err != nil {
		return err
	}
	for _, t := range page {
		if t.Subdomain == "" {
			continue
		}
		switch c, ok := claims[t.Subdomain]; {
		case !ok:
			sc.find(KindSubdomainUnclaimed, t.Path, "the organization's subdomain %q has no claim (subdomains/%s is missing)", t.Subdomain, t.Subdomain)
		case c.TenantID != t.ID:
			sc.find(KindSubdomainUnclaimed, t.Path, "the organization's subdomain %q is claimed by tenant %q", t.Subdomain, c.TenantID)
		}
	}
	return nil
}
