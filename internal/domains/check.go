package domains

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// Backoff of the pending checks: the first a few minutes after the claim, then doubling, at most
// maxRetry apart (DNS changes can take up to 48 hours to be seen everywhere).
const (
	firstRetry = 5 * time.Minute
	maxRetry   = 6 * time.Hour
	// jobPage bounds the domains one run of the job checks per status.
	jobPage = 200
)

// retryAfter is the wait before the next check of a pending domain checked n times.
func retryAfter(n int) time.Duration {
	d := firstRetry
	for i := 0; i < n && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// decideCheck records one DNS check of cur (found: the challenge record is there) by actor.
//   - found: verified (again), the missing flag cleared;
//   - pending and not found: stays pending with the next check backed off, or, past PendingFor
//     since the claim, FAILED with an email to the owners;
//   - verified and not found: stays verified, flagged as missing once, with an email to the
//     owners, and checked again later (a DNS edit gone wrong is fixed by republishing);
//   - failed and not found: unchanged but for the time of the check.
func (s *Service) decideCheck(ctx context.Context, cur Domain, actor tenancy.Actor, found bool) (DomainChange, error) {
	now := s.clock.Now()
	next := cur
	next.LastCheckedAt = now
	ch := DomainChange{Domain: next}
	switch {
	case found:
		next.NextCheckAt, next.MissingSince = now.Add(s.cfg.RecheckVerified), time.Time{}
		if cur.Status != StatusVerified {
			next.Status, next.VerifiedAt = StatusVerified, now
			ch.Audit = append(ch.Audit, audit(ctx, AuditVerified, actor, now, cur, fields(Domain{Name: cur.Name, Status: cur.Status}), fields(Domain{Name: cur.Name, Status: StatusVerified})))
		}
	case cur.Status == StatusPending && !now.Before(cur.CreatedAt.Add(s.cfg.PendingFor)):
		next.Status, next.NextCheckAt = StatusFailed, time.Time{}
		ch.Audit = append(ch.Audit, audit(ctx, AuditFailed, actor, now, cur, fields(Domain{Name: cur.Name, Status: cur.Status}), fields(Domain{Name: cur.Name, Status: StatusFailed})))
		ch.Outbox = append(ch.Outbox, s.mail(cur, kinds.DomainProblemFailed, now))
	case cur.Status == StatusPending:
		next.Checks++
		next.NextCheckAt = now.Add(retryAfter(next.Checks))
	case cur.Status == StatusVerified:
		next.NextCheckAt = now.Add(s.cfg.RecheckVerified)
		if cur.MissingSince.IsZero() {
			next.MissingSince = now
			ch.Audit = append(ch.Audit, audit(ctx, AuditRecordMissing, actor, now, cur, nil, nil))
			ch.Outbox = append(ch.Outbox, s.mail(cur, kinds.DomainProblemRecordMissing, now))
		}
	}
	ch.Domain = next
	return ch, nil
}

// mail is the email to the owners about a problem with d, once per problem and occurrence.
func (s *Service) mail(d Domain, problem string, at time.Time) tenancy.OutboxEntry {
	p := kinds.DomainEmail{Domain: d.Name, Problem: problem, TXTRecordName: d.TXTRecordName(), TXTRecordValue: d.TXTRecordValue()}
	key := fmt.Sprintf("%s-%s-%d", d.Name, problem, at.Unix())
	return tenancy.NewOutboxEntry(d.TenantID, p, key, at)
}

// CheckResult counts one run of the verify-domains job.
type CheckResult struct {
	Checked, Verified, Failed, Missing, Errors int
}

func (r CheckResult) String() string {
	return fmt.Sprintf("checked %d domains: %d verified, %d failed, %d with a missing record, %d errors", r.Checked, r.Verified, r.Failed, r.Missing, r.Errors)
}

// CheckDue is the verify-domains job: it checks every pending domain whose next check is due
// (with backoff, until PendingFor has passed, then FAILED) and every verified domain due for its
// periodic re-check. A DNS error leaves a domain as it was, to be checked at the next run.
func (s *Service) CheckDue(ctx context.Context) (CheckResult, error) {
	var r CheckResult
	now := s.clock.Now()
	for _, status := range []Status{StatusPending, StatusVerified} {
		due, err := s.store.DueDomains(ctx, status, now, jobPage)
		if err != nil {
			return r, fmt.Errorf("list %s domains due for a check: %w", status, err)
		}
		for _, d := range due {
			s.checkOne(ctx, d, &r)
		}
	}
	return r, nil
}

// checkOne checks d for the job and counts the outcome in r.
func (s *Service) checkOne(ctx context.Context, d Domain, r *CheckResult) {
	r.Checked++
	found, err := s.challengeFound(ctx, d)
	if err != nil {
		r.Errors++
		return
	}
	after, err := s.change(ctx, d.Name, d.TenantID, func(cur Domain) (DomainChange, error) {
		return s.decideCheck(ctx, cur, tenancy.Actor{System: systemJob}, found)
	})
	switch {
	case err != nil:
		r.Errors++
	case after.Status == StatusVerified && !after.MissingSince.IsZero():
		r.Missing++
	case after.Status == StatusVerified:
		r.Verified++
	case after.Status == StatusFailed:
		r.Failed++
	}
}
