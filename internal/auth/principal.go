// Package auth carries the authenticated caller through a request. It knows nothing of HTTP or
// Firebase: the server's middleware verifies the token and stores the Principal here.
package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// PlatformRole is a Tenantry staff role, from the PlatformRoleClaim custom claim.
type PlatformRole string

// Platform roles.
const (
	PlatformNone       PlatformRole = ""
	PlatformSuperAdmin PlatformRole = "super_admin"
	PlatformSales      PlatformRole = "sales"
	PlatformSupport    PlatformRole = "support"
)

// PlatformRoles are the staff roles, in the order help texts list them.
var PlatformRoles = []PlatformRole{PlatformSuperAdmin, PlatformSales, PlatformSupport}

// IsStaff reports whether r is one of PlatformRoles.
func (r PlatformRole) IsStaff() bool { return slices.Contains(PlatformRoles, r) }

// ParsePlatformRole accepts the claim's value; unknown values mean no platform role.
func ParsePlatformRole(s string) PlatformRole {
	if r := PlatformRole(strings.TrimSpace(s)); r.IsStaff() {
		return r
	}
	return PlatformNone
}

// Principal is a verified caller.
type Principal struct {
	UID           string
	Email         string
	EmailVerified bool
	PlatformRole  PlatformRole
}

// String is for logs: it never prints the token or the email.
func (p Principal) String() string {
	return fmt.Sprintf("uid=%s platformRole=%s", p.UID, p.PlatformRole)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller and whether one is signed in.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

type recheckKey struct{}

// WithRecheck stores how to re-verify the caller's token with the identity provider (revocation,
// disabled or deleted user). Verifying on every request would cost a network call; only operations
// that create or hand out something valuable ask for it, through RequireFresh.
func WithRecheck(ctx context.Context, recheck func(context.Context) error) context.Context {
	return context.WithValue(ctx, recheckKey{}, recheck)
}

// RequireFresh re-verifies the caller's token; it returns errs.ErrUnauthenticated (wrapped by the
// recheck function) when the token was revoked or the user disabled. Without a stored recheck, as
// in domain tests that build a Principal by hand, it succeeds.
func RequireFresh(ctx context.Context) error {
	if f, ok := ctx.Value(recheckKey{}).(func(context.Context) error); ok && f != nil {
		return f(ctx)
	}
	return nil
}
