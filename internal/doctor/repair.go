package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// repairCounters recounts a tenant's members and pending invitations inside a transaction that
// also reads the tenant: every change of a counter writes the tenant document, so a change racing
// the repair makes the transaction retry on fresh reads instead of being overwritten.
func (sc *scan) repairCounters(ctx context.Context, tenantID string) error {
	err := sc.s.store.RepairCounters(ctx, tenantID, func(st CounterState) (CounterFix, error) {
		if !st.Found || (st.SeatsUsed == st.Members && st.PendingInvitations == st.Pending) {
			return CounterFix{}, errNothingToRepair
		}
		now := sc.s.clock.Now()
		return CounterFix{
			SeatsUsed: st.Members, PendingInvitations: st.Pending, PendingExpiryFloor: st.EarliestExpiry,
			Audit: sc.audit(AuditCountersRepaired, now, "the counters disagreed with the member and invitation documents",
				map[string]any{"seatsUsed": st.SeatsUsed, "pendingInvitations": st.PendingInvitations},
				map[string]any{"seatsUsed": st.Members, "pendingInvitations": st.Pending}),
		}, nil
	})
	if err != nil {
		return fmt.Errorf("repair the counters of tenant %s: %w", tenantID, err)
	}
	return nil
}

// repairLink, with Options.Repair, makes users/{uid}.tenantIds agree with the membership of l as
// read again in a transaction, and marks finding repaired.
func (sc *scan) repairLink(ctx context.Context, finding int, l Link) error {
	if !sc.opts.Repair {
		return nil
	}
	err := sc.s.store.RepairLink(ctx, l, func(st LinkState) (LinkFix, error) {
		now := sc.s.clock.Now()
		fix := LinkFix{At: now, Email: st.MemberEmail}
		switch {
		case st.MemberFound && !st.Linked:
			fix.Link = true
		case !st.MemberFound && st.Linked:
			fix.Unlink = true
		default:
			return LinkFix{}, errNothingToRepair
		}
		if st.TenantFound {
			// A link to a tenant that no longer exists has no audit log to go to; the report
			// records its removal.
			a := sc.audit(AuditUserLinkRepaired, now, "users/{uid}.tenantIds disagreed with the membership",
				map[string]any{"linked": st.Linked}, map[string]any{"linked": fix.Link})
			a.Details = map[string]any{"uid": l.UID}
			fix.Audit = &a
		}
		return fix, nil
	})
	if err != nil {
		return fmt.Errorf("repair %s: %w", l.Path, err)
	}
	sc.repaired(finding)
	return nil
}

// audit is the audit entry of one repair of this run.
func (sc *scan) audit(action string, at time.Time, why string, before, after map[string]any) tenancy.AuditEntry {
	return tenancy.AuditEntry{
		Action: action, Actor: tenancy.Actor{System: Actor}, Reason: "tenantry doctor --repair: " + why,
		RequestID: sc.runID, At: at, Before: before, After: after,
	}
}
