package domains

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Audit actions.
const (
	AuditAdded             = "domain.added"
	AuditVerified          = "domain.verified"
	AuditFailed            = "domain.failed"
	AuditRecordMissing     = "domain.record_missing"
	AuditEnrollmentChanged = "domain.enrollment_changed"
	AuditRemoved           = "domain.removed"
)

// systemJob is the audit actor of the verify-domains job.
const systemJob = "verify-domains"

// errNoop tells the store to commit nothing.
var errNoop = errors.New("domains: nothing to write")

// ErrNoop reports whether err is the "nothing to write" signal (stores use it).
func ErrNoop(err error) bool { return errors.Is(err, errNoop) }

// Limiter is a per-subject rate limiter (ratelimit.Keyed is one).
type Limiter interface {
	Allow(subject string) bool
}

// Service is the domain-capture domain.
type Service struct {
	store    Store
	tenancy  *tenancy.Service
	dns      TXTResolver
	clock    clock.Clock
	routing  Limiter // signupRouting, per client IP; nil: no limit
	cfg      Config
	newToken func() string
}

// Config tunes the job; zero values take the defaults.
type Config struct {
	PendingFor      time.Duration // how long a pending domain is retried before FAILED; 72 h
	RecheckVerified time.Duration // how often a verified domain is checked again; 24 h
}

// NewService builds the domain over the tenant domain, whose Authorize it uses.
func NewService(st Store, ten *tenancy.Service, dns TXTResolver, clk clock.Clock, routing Limiter, cfg Config) *Service {
	if cfg.PendingFor <= 0 {
		cfg.PendingFor = 72 * time.Hour
	}
	if cfg.RecheckVerified <= 0 {
		cfg.RecheckVerified = 24 * time.Hour
	}
	return &Service{store: announcingStore{Store: st, events: ten.Events()}, tenancy: ten, dns: dns, clock: clk, routing: routing, cfg: cfg, newToken: rand.Text}
}

// Add claims domain for tenantID (addDomain; owners and admins) and issues its challenge.
func (s *Service) Add(ctx context.Context, tenantID, domain string, enrollment Enrollment) (Domain, error) {
	p, err := s.manager(ctx, tenantID)
	if err != nil {
		return Domain{}, err
	}
	name, err := Normalize(domain)
	if err != nil {
		return Domain{}, err
	}
	if enrollment == "" {
		enrollment = EnrollSuggest
	}
	if !ValidEnrollment(enrollment) {
		return Domain{}, errs.Invalid("enrollment", "choose AUTOMATIC, REQUEST or SUGGEST")
	}
	now := s.clock.Now()
	d := Domain{
		Name: name, TenantID: tenantID, Status: StatusPending, Enrollment: enrollment,
		Token: strings.ToLower(s.newToken()), CreatedBy: p.UID, CreatedAt: now,
		NextCheckAt: now.Add(firstRetry),
	}
	a := audit(ctx, AuditAdded, callerActor(p), now, d, nil, fields(d))
	if err := s.store.CreateDomain(ctx, d, a); err != nil {
		return Domain{}, err
	}
	return d, nil
}

// Verify checks the domain's challenge now (verifyDomain). A record found verifies it; none
// keeps it as it was, with the time of the check, so the admin can try again once DNS has it.
func (s *Service) Verify(ctx context.Context, name string) (Domain, error) {
	d, p, err := s.managed(ctx, name)
	if err != nil {
		return Domain{}, err
	}
	found, err := s.challengeFound(ctx, d)
	if err != nil {
		return Domain{}, errs.Detail(errs.ErrInvalidInput, "the DNS server did not answer in time; try again in a minute")
	}
	return s.change(ctx, d.Name, d.TenantID, func(cur Domain) (DomainChange, error) {
		return s.decideCheck(ctx, cur, callerActor(p), found)
	})
}

// SetEnrollment changes what a signup at the domain does (setDomainEnrollment).
func (s *Service) SetEnrollment(ctx context.Context, name string, e Enrollment) (Domain, error) {
	if !ValidEnrollment(e) {
		return Domain{}, errs.Invalid("enrollment", "choose AUTOMATIC, REQUEST or SUGGEST")
	}
	d, p, err := s.managed(ctx, name)
	if err != nil {
		return Domain{}, err
	}
	return s.change(ctx, d.Name, d.TenantID, func(cur Domain) (DomainChange, error) {
		if cur.Enrollment == e {
			return DomainChange{Domain: cur}, errNoop
		}
		next := cur
		next.Enrollment = e
		a := audit(ctx, AuditEnrollmentChanged, callerActor(p), s.clock.Now(), cur,
			fields(Domain{Name: cur.Name, Enrollment: cur.Enrollment}), fields(Domain{Name: cur.Name, Enrollment: e}))
		return DomainChange{Domain: next, Audit: []tenancy.AuditEntry{a}}, nil
	})
}

// Remove gives the domain up (removeDomain): another organization may claim it afterwards.
func (s *Service) Remove(ctx context.Context, name string) (bool, error) {
	d, p, err := s.managed(ctx, name)
	if err != nil {
		return false, err
	}
	_, err = s.change(ctx, d.Name, d.TenantID, func(cur Domain) (DomainChange, error) {
		a := audit(ctx, AuditRemoved, callerActor(p), s.clock.Now(), cur, fields(cur), nil)
		return DomainChange{Domain: cur, Delete: true, Audit: []tenancy.AuditEntry{a}}, nil
	})
	return err == nil, err
}

// List is a tenant's domains (Tenant.domains), for its owners and admins.
func (s *Service) List(ctx context.Context, tenantID string) ([]Domain, error) {
	if _, err := s.tenancy.Authorize(ctx, tenantID, rules.ReadAuditLog); err != nil {
		return nil, err
	}
	return s.store.TenantDomains(ctx, tenantID)
}

// Routing answers signupRouting: the organization that owns the email's domain, only once it
// is verified; nil otherwise. Public, so rate limited per client address.
type Routing struct {
	TenantName string
	Enrollment Enrollment
}

// RouteSignup answers signupRouting for email.
func (s *Service) RouteSignup(ctx context.Context, email string) (*Routing, error) {
	if s.routing != nil && !s.routing.Allow("ip:"+reqctx.ClientIP(ctx)) {
		return nil, errs.ErrRateLimited
	}
	name := OfEmail(strings.TrimSpace(email))
	if name == "" {
		return nil, nil
	}
	d, err := s.store.Domain(ctx, name)
	if errors.Is(err, errs.ErrNotFound) || (err == nil && d.Status != StatusVerified) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tenantName, err := s.store.TenantName(ctx, d.TenantID)
	if err != nil {
		return nil, fmt.Errorf("signup routing for %s: %w", name, err)
	}
	return &Routing{TenantName: tenantName, Enrollment: d.Enrollment}, nil
}

// manager checks that the caller may manage tenantID's domains (owners and admins).
func (s *Service) manager(ctx context.Context, tenantID string) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.UID == "" {
		return auth.Principal{}, errs.ErrUnauthenticated
	}
	if _, err := s.tenancy.Authorize(ctx, tenantID, rules.ManageMembers); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// managed reads the domain named by id for a caller who manages its tenant. A domain the caller
// cannot manage is NOT_FOUND, as if it did not exist.
func (s *Service) managed(ctx context.Context, id string) (Domain, auth.Principal, error) {
	name, err := Normalize(id)
	if err != nil {
		return Domain{}, auth.Principal{}, errs.ErrNotFound
	}
	d, err := s.store.Domain(ctx, name)
	if err != nil {
		return Domain{}, auth.Principal{}, err
	}
	p, err := s.manager(ctx, d.TenantID)
	return d, p, err
}

// change runs a change of one domain of tenantID; the claim found belonging to another tenant
// (removed and claimed again meanwhile) is NOT_FOUND.
func (s *Service) change(ctx context.Context, name, tenantID string, decide func(Domain) (DomainChange, error)) (Domain, error) {
	var out Domain
	err := s.store.ChangeDomain(ctx, name, func(cur Domain) (DomainChange, error) {
		if cur.TenantID != tenantID {
			return DomainChange{}, errs.ErrNotFound
		}
		ch, err := decide(cur)
		out = ch.Domain
		return ch, err
	})
	return out, err
}

// challengeFound looks the challenge record up.
func (s *Service) challengeFound(ctx context.Context, d Domain) (bool, error) {
	values, err := s.dns.LookupTXT(ctx, d.TXTRecordName())
	if err != nil {
		return false, err
	}
	for _, v := range values {
		if strings.TrimSpace(v) == d.TXTRecordValue() {
			return true, nil
		}
	}
	return false, nil
}

func callerActor(p auth.Principal) tenancy.Actor {
	return tenancy.Actor{UID: p.UID, PlatformRole: p.PlatformRole}
}

// audit is one audit entry about d.
func audit(ctx context.Context, action string, actor tenancy.Actor, at time.Time, d Domain, before, after map[string]any) tenancy.AuditEntry {
	return tenancy.AuditEntry{
		Action: action, Actor: actor, RequestID: reqctx.RequestID(ctx), At: at,
		Details: map[string]any{"domain": d.Name}, Before: before, After: after,
	}
}

// fields is the audited state of a domain under "domains.<name>" (the token is not secret: it is
// published in DNS).
func fields(d Domain) map[string]any {
	f := map[string]any{}
	if d.Status != "" {
		f["status"] = string(d.Status)
	}
	if d.Enrollment != "" {
		f["enrollment"] = string(d.Enrollment)
	}
	return map[string]any{"domains": map[string]any{strings.ReplaceAll(d.Name, ".", "_"): f}}
}
