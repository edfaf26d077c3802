package app

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/domains"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/ratelimit"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// JobVerifyDomains re-checks the DNS challenges of pending and verified domains.
const JobVerifyDomains = "verify-domains"

// wireDomains builds domain capture over miekg/dns and TENANTRY_DNS_RESOLVER (or the system
// resolver), with signupRouting's limit per client address (in memory, per replica).
func wireDomains(cfg config.Config, st *store.Store, ten *tenancy.Service, clk clock.Clock, kick *outboxKicker) (*domains.Service, error) {
	resolver, err := domains.NewDNSResolver(cfg.DNSResolver, cfg.DNSTimeout)
	if err != nil {
		return nil, err
	}
	limiter := ratelimit.NewKeyed(cfg.SignupRoutingInterval, cfg.SignupRoutingBurst, clk.Now)
	return domains.NewService(kickingDomainsStore{st.DomainsStore(), kick}, ten, resolver, clk, limiter, domains.Config{
		PendingFor: cfg.DomainPendingFor, RecheckVerified: cfg.DomainRecheck,
	}), nil
}

// verifyDomainsJob checks the domains due for a check; every 5 minutes, which the backoff of the
// pending checks (5 minutes doubling to 6 hours) makes cheap.
func verifyDomainsJob(svc *domains.Service) jobs.Job {
	return jobs.Job{
		Name:        JobVerifyDomains,
		Description: "check the DNS challenge of pending domains (with backoff; FAILED and an email after 72h) and re-check verified ones; every 5 minutes",
		Interval:    5 * time.Minute,
		Run: func(ctx context.Context, progress func(string)) (string, error) {
			r, err := svc.CheckDue(ctx)
			return r.String(), err
		},
	}
}

// kickingDomainsStore wakes this process's outbox dispatcher after a change that may have queued
// an email to the owners.
type kickingDomainsStore struct {
	*store.DomainsStore
	k *outboxKicker
}

// ChangeDomain implements domains.Store.
func (s kickingDomainsStore) ChangeDomain(ctx context.Context, name string, decide func(domains.Domain) (domains.DomainChange, error)) error {
	err := s.DomainsStore.ChangeDomain(ctx, name, decide)
	if err == nil {
		s.k.kick()
	}
	return err
}
