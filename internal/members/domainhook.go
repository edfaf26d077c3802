package members

import (
	"context"
	"fmt"
)

// DomainEnroller routes a signup by its email's domain (package domains: AUTOMATIC joins within
// the seat cap, REQUEST files a join request). The signup logic calls it for verified emails,
// after accepting invitations; it must be idempotent, as OnSignup is.
type DomainEnroller interface {
	EnrollAtSignup(ctx context.Context, uid, email string, verified bool) error
}

// SetDomainEnroller plugs domain capture into the signup logic (the app's wiring, before
// serving); without it, signups join only by invitation.
func (s *Service) SetDomainEnroller(e DomainEnroller) { s.domains = e }

// enrollByDomain runs domain capture for u, when plugged in.
func (s *Service) enrollByDomain(ctx context.Context, u User) error {
	if s.domains == nil || !u.EmailVerified {
		return nil
	}
	if err := s.domains.EnrollAtSignup(ctx, u.UID, u.Email, u.EmailVerified); err != nil {
		return fmt.Errorf("enroll by domain: %w", err)
	}
	return nil
}
