package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// TenantView is a tenant as one caller sees it.
type TenantView struct {
	Tenant Tenant
	// Role is the caller's role; "" when the caller sees the tenant as platform staff only.
	Role rules.Role
	// Staff is set when the caller reads as platform staff rather than as a member.
	Staff bool
}

// Viewer is the signed-in caller with their memberships.
type Viewer struct {
	UID          string
	Email        string
	PlatformRole auth.PlatformRole
	Memberships  []TenantView
}

// staffCanRead reports whether r may look at any tenant: every platform role may.
func staffCanRead(r auth.PlatformRole) bool { return r.IsStaff() }

// Me returns the caller and the tenants they belong to.
func (s *Service) Me(ctx context.Context) (Viewer, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return Viewer{}, errs.ErrUnauthenticated
	}
	ms, err := s.store.MembershipsOf(ctx, p.UID)
	if err != nil {
		return Viewer{}, fmt.Errorf("list memberships: %w", err)
	}
	v := Viewer{UID: p.UID, Email: p.Email, PlatformRole: p.PlatformRole}
	memo := memoFrom(ctx)
	for _, m := range ms {
		tv := TenantView{Tenant: m.Tenant, Role: m.Role}
		v.Memberships = append(v.Memberships, tv)
		if memo != nil {
			memo.seed(p.UID, tv) // the tenant fields under me.memberships need no second read
		}
	}
	return v, nil
}

// Tenant returns a tenant the caller belongs to (or any tenant, for platform staff). A tenant the
// caller cannot see is errs.ErrNotFound, never errs.ErrForbidden, so its existence does not leak.
// The tenant document itself stays visible to members in every status, so the SPA can say why
// access is closed; its data follows the status table (see Members).
func (s *Service) Tenant(ctx context.Context, id string) (TenantView, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return TenantView{}, errs.ErrUnauthenticated
	}
	if _, err := validate.ID("id", id); err != nil {
		return TenantView{}, errs.ErrNotFound
	}
	if memo := memoFrom(ctx); memo != nil {
		return memo.load(p.UID, id, func() (TenantView, error) { return s.readTenant(ctx, p, id) })
	}
	return s.readTenant(ctx, p, id)
}

// readTenant reads a tenant with the caller's membership in it and decides what they see.
func (s *Service) readTenant(ctx context.Context, p auth.Principal, id string) (TenantView, error) {
	t, m, isMember, err := s.store.TenantAndMember(ctx, id, p.UID)
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			return TenantView{}, errs.ErrNotFound
		}
		return TenantView{}, fmt.Errorf("read tenant %s: %w", id, err)
	}
	switch {
	case isMember:
		return TenantView{Tenant: t, Role: m.Role}, nil
	case staffCanRead(p.PlatformRole):
		return TenantView{Tenant: t, Staff: true}, nil
	}
	return TenantView{}, errs.ErrNotFound
}

// Members lists a tenant's members, for callers allowed to read its data.
func (s *Service) Members(ctx context.Context, tenantID string) ([]Member, error) {
	if _, err := s.Authorize(ctx, tenantID, rules.ReadData); err != nil {
		return nil, err
	}
	ms, err := s.store.Members(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", tenantID, err)
	}
	return ms, nil
}
