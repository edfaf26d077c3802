package auth

import (
	"errors"
	"fmt"
	"strings"
)

// PlatformRoleClaim is the Firebase custom claim that carries a user's platform role. The server
// reads it from ID tokens; `tenantry admin grant-platform-role` sets it.
const PlatformRoleClaim = "platformRole"

// Why an account may not hold a platform role.
var (
	// ErrStaffEmailUnverified: anyone can sign up with any address, so an unverified address
	// proves nothing about who holds the account.
	ErrStaffEmailUnverified = errors.New("the account's email address is not verified")
	// ErrStaffDomain: the address is outside TENANTRY_STAFF_DOMAINS.
	ErrStaffDomain = errors.New("the account's email address is outside the staff domains")
)

// StaffPolicy says which accounts a platform role gives power to: those with a verified email
// address and, when staff domains are configured, an address at one of them. The server applies
// it to every token that carries the claim, and the admin command before granting the claim, so
// a claim set by other means (the console, another tool) cannot give more than the command would.
type StaffPolicy struct {
	domains []string // lowercase; empty: any domain
}

// NewStaffPolicy accepts email domains such as "acme.com" (case and a leading '@' are ignored);
// none means any domain. A domain matches exactly: "acme.com" does not admit "eu.acme.com".
func NewStaffPolicy(domains []string) (StaffPolicy, error) {
	var p StaffPolicy
	for _, d := range domains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" {
			continue
		}
		if !isDomain(d) {
			return StaffPolicy{}, fmt.Errorf("%q is not an email domain; write it as in the address after '@', e.g. acme.com", d)
		}
		p.domains = append(p.domains, d)
	}
	return p, nil
}

// Domains are the staff domains; empty when any domain is admitted.
func (p StaffPolicy) Domains() []string { return append([]string(nil), p.domains...) }

// Admit returns nil when an account with this email address may act with a platform role, or
// ErrStaffEmailUnverified or ErrStaffDomain.
func (p StaffPolicy) Admit(email string, verified bool) error {
	if !verified || email == "" {
		return ErrStaffEmailUnverified
	}
	if len(p.domains) == 0 {
		return nil
	}
	at := strings.LastIndexByte(email, '@')
	domain := strings.ToLower(email[at+1:])
	for _, d := range p.domains {
		if domain == d {
			return nil
		}
	}
	return ErrStaffDomain
}

// isDomain accepts dot-separated labels of letters, digits and '-', with at least one dot.
func isDomain(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 || len(s) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}
