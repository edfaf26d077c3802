package members

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
)

// Limits on invitation emails. Every email the server would send for an invitation (a new one, one
// after a revocation or expiry, a resend) counts, wherever it comes from:
//
//   - per address and tenant: at most Config.AddressLimit per Config.AddressWindow. The times are
//     kept on the address's invitation document, which every later invitation of that address in
//     that tenant rewrites, and checked in the transaction that queues the email, so the limit
//     holds across replicas, revocations and resends.
//   - per inviter and per tenant (Limits.PerInviter, Limits.PerTenant), and per invitation for
//     resends (Limits.PerInvitation): token buckets (shared by the replicas, in Firestore), spent
//     from the same transaction by the number of emails it queues, after the caller's right to
//     send them was checked.

// recentSends are the times of the emails to prev's address within the window before now, oldest
// first. An invitation written before the times were kept counts its last email (SentAt).
func (s *Service) recentSends(prev Invitation, now time.Time) []time.Time {
	log := prev.Sends
	if len(log) == 0 && !prev.SentAt.IsZero() {
		log = []time.Time{prev.SentAt}
	}
	from := now.Add(-s.cfg.AddressWindow)
	out := make([]time.Time, 0, len(log)+1)
	for _, at := range log {
		if at.After(from) {
			out = append(out, at)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// admitSend returns the send times to store with an email queued to email at now, where prev is
// the address's invitation document as the transaction read it (zero when there is none), or
// RATE_LIMITED, saying when the next email may go, when the address has had its share.
func (s *Service) admitSend(email string, prev Invitation, now time.Time) ([]time.Time, error) {
	recent := s.recentSends(prev, now)
	if n := len(recent); n >= s.cfg.AddressLimit {
		next := recent[n-s.cfg.AddressLimit].Add(s.cfg.AddressWindow)
		return nil, errs.Detail(errs.ErrRateLimited,
			"%s already received %d invitation emails from this organization in the last %s; so that invitations cannot be used to flood a mailbox, the next one can be sent %s",
			email, n, roughly(s.cfg.AddressWindow), tryAgain(now, next))
	}
	return append(recent, now), nil
}

// spendSends charges n emails to the inviter's and the tenant's buckets, once per call (key): the
// transaction may run decide again, which asks with the same key.
func (s *Service) spendSends(ctx context.Context, key, tenantID, inviterUID string, n int, now time.Time) error {
	for _, l := range []struct {
		lim     Limiter
		subject string
		who     string
	}{
		{s.limits.PerInviter, "inviter:" + inviterUID, "you"},
		{s.limits.PerTenant, "tenant:" + tenantID, "this organization"},
	} {
		if l.lim == nil {
			continue
		}
		ok, wait, err := l.lim.Spend(ctx, l.subject, key, n)
		if err != nil {
			return err
		}
		if !ok {
			if wait < 0 {
				return errs.Detail(errs.ErrRateLimited, "%d invitation emails are more than can be sent at once; send the addresses in smaller batches, a little apart", n)
			}
			return errs.Detail(errs.ErrRateLimited, "%s sent many invitation emails in a short time; wait, then send the rest %s", l.who, tryAgain(now, now.Add(wait)))
		}
	}
	return nil
}

// admitResend applies the limits to a resend of inv by inviterUID, once per call (key): the
// address's share, the spacing between resends of one invitation, then the inviter's and the
// tenant's budgets. It returns the send times to store.
func (s *Service) admitResend(ctx context.Context, key string, inv Invitation, inviterUID string, now time.Time) ([]time.Time, error) {
	sends, err := s.admitSend(inv.Email, inv, now)
	if err != nil {
		return nil, err
	}
	if s.limits.PerInvitation != nil {
		ok, wait, err := s.limits.PerInvitation.Spend(ctx, "resend:"+inv.ID, key, 1)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Detail(errs.ErrRateLimited, "this invitation was sent again a moment ago; give the email a few minutes to arrive, and resend it %s if it has not", tryAgain(now, now.Add(max(wait, 0))))
		}
	}
	if err := s.spendSends(ctx, key, inv.TenantID, inviterUID, 1, now); err != nil {
		return nil, err
	}
	return sends, nil
}

// tryAgain says when: "after 15:04:05 UTC on 2 Jan 2026 (in about 3 hours)".
func tryAgain(now, at time.Time) string {
	return fmt.Sprintf("after %s (in about %s)", at.UTC().Format("15:04:05 MST on 2 Jan 2006"), roughly(at.Sub(now)))
}

// roughly is a duration for people, rounded up: "24 hours", "3 minutes", "1 second".
func roughly(d time.Duration) string {
	unit, name := time.Second, "second"
	switch {
	case d > 2*time.Hour:
		unit, name = time.Hour, "hour"
	case d > 2*time.Minute:
		unit, name = time.Minute, "minute"
	}
	n := int64(math.Ceil(float64(d) / float64(unit)))
	if n <= 1 {
		return "1 " + name
	}
	return fmt.Sprintf("%d %ss", n, name)
}
