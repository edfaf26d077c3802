// Package domains is domain capture: an organization proves it owns an email domain with a DNS
// TXT challenge, and signups at that domain are routed to it (signupRouting). One organization
// per domain: the claim is a create-only document keyed by the normalized domain. The package
// knows nothing of GraphQL, HTTP or Firestore; DNS is reached through TXTResolver.
package domains

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// Status is a domain's verification state.
type Status string

// Domain states.
const (
	StatusPending  Status = "pending"
	StatusVerified Status = "verified"
	StatusFailed   Status = "failed"
)

// Enrollment is what a signup at a verified domain does.
type Enrollment string

// Enrollments.
const (
	EnrollAutomatic Enrollment = "automatic" // join with the default role, within the seat cap
	EnrollRequest   Enrollment = "request"   // a join request an owner or admin approves
	EnrollSuggest   Enrollment = "suggest"   // the SPA is told; nothing is joined
)

// ValidEnrollment reports whether e is known.
func ValidEnrollment(e Enrollment) bool {
	return e == EnrollAutomatic || e == EnrollRequest || e == EnrollSuggest
}

// ChallengePrefix is the label under which the TXT record is published.
const ChallengePrefix = "_tenantry-challenge."

// challengeValuePrefix starts every challenge value, so an admin can tell it from other records.
const challengeValuePrefix = "tenantry-verification="

// Domain is one organization's claim on an email domain, stored at domainClaims/{Name}.
type Domain struct {
	Name       string // normalized (punycode, lowercase); also the id
	TenantID   string
	Status     Status
	Enrollment Enrollment
	Token      string // the challenge's random part
	CreatedBy  string
	CreatedAt  time.Time
	VerifiedAt time.Time
	// LastCheckedAt is the last DNS check; NextCheckAt when the job checks again.
	LastCheckedAt time.Time
	NextCheckAt   time.Time
	Checks        int // DNS checks while pending (drives the backoff)
	// MissingSince is set while a verified domain's record is absent (the admins were told).
	MissingSince time.Time
}

// TXTRecordName is where the challenge record is published.
func (d Domain) TXTRecordName() string { return ChallengePrefix + d.Name }

// TXTRecordValue is the challenge record's value.
func (d Domain) TXTRecordValue() string { return challengeValuePrefix + d.Token }

// DomainChange is what a change of one domain writes: the domain whole, or its deletion, with
// audit entries and outbox entries, in one transaction with the read.
type DomainChange struct {
	Domain Domain
	Delete bool
	Audit  []tenancy.AuditEntry
	Outbox []tenancy.OutboxEntry
}

// Store is the persistence the domain needs.
type Store interface {
	// CreateDomain creates domainClaims/{d.Name} with its audit entry, create-only: a domain
	// another tenant (or this one) holds is errs.ErrDomainTaken.
	CreateDomain(ctx context.Context, d Domain, audit tenancy.AuditEntry) error
	// Domain reads one claim (errs.ErrNotFound when none).
	Domain(ctx context.Context, name string) (Domain, error)
	// ChangeDomain reads the claim in a transaction and writes what decide returns (errNoop:
	// nothing). A missing claim is errs.ErrNotFound.
	ChangeDomain(ctx context.Context, name string, decide func(Domain) (DomainChange, error)) error
	// TenantDomains lists a tenant's claims, by name.
	TenantDomains(ctx context.Context, tenantID string) ([]Domain, error)
	// DueDomains lists up to limit claims in status whose nextCheckAt <= cutoff.
	DueDomains(ctx context.Context, status Status, cutoff time.Time, limit int) ([]Domain, error)
	// ChangeEnrollment reads the tenant, uid's membership and join request in a transaction
	// (queued per tenant) and writes what decide returns (errNoop: nothing). A missing tenant is
	// errs.ErrNotFound.
	ChangeEnrollment(ctx context.Context, tenantID, uid string, decide func(EnrollState) (EnrollChange, error)) error
	// JoinRequests lists a tenant's join requests, oldest first.
	JoinRequests(ctx context.Context, tenantID string) ([]JoinRequest, error)
	// TenantName reads a tenant's display name.
	TenantName(ctx context.Context, tenantID string) (string, error)
}
