package dataimport

import (
	"context"
	"errors"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// caller is who imports: a service token, or a user signed in with an ID token.
type caller struct {
	// key scopes idempotency keys: "service-token:<id>" or "user:<uid>".
	key string
	// uid is the user's, whose membership the checks read; "" for a service token.
	uid     string
	staff   bool // the user has a platform role
	service *auth.Service
	actor   tenancy.Actor
}

// callerOf identifies the caller of an import into in.TenantID. A service token acts only in its
// own tenant (any other is NOT_FOUND, as for a user who is no member), and only with a scope that
// allows the call: import, or validate for a dry run.
func callerOf(ctx context.Context, in Input) (caller, error) {
	if _, err := validate.ID("tenantId", in.TenantID); err != nil {
		return caller{}, errs.ErrNotFound
	}
	if svc, ok := auth.ServiceFromContext(ctx); ok {
		if svc.TenantID != in.TenantID {
			return caller{}, errs.ErrNotFound
		}
		if !svc.HasScope(servicetokens.ScopeImport) && !(in.DryRun && svc.HasScope(servicetokens.ScopeValidate)) {
			return caller{}, errs.Detail(errs.ErrForbidden, "this service token's scopes do not allow importing (only dry runs need no more than validate); ask an owner or admin for a token with the import scope")
		}
		return caller{key: "service-token:" + svc.TokenID, service: &svc, actor: tenancy.Actor{System: "service-token:" + svc.TokenID}}, nil
	}
	p, ok := auth.FromContext(ctx)
	if !ok || p.UID == "" {
		return caller{}, errs.ErrUnauthenticated
	}
	return caller{key: "user:" + p.UID, uid: p.UID, staff: p.PlatformRole.IsStaff(), actor: tenancy.Actor{UID: p.UID, PlatformRole: p.PlatformRole}}, nil
}

// check applies the policy table to the caller on the tenant as read (again in every write
// transaction, so a status change committed meanwhile stops the import). A service token has no
// role: the status alone decides, as for the import_data action.
func (s *Service) check(c caller, a servicetokens.Access) error {
	status := a.Tenant.AccessStatus(s.clock.Now())
	if c.service != nil {
		return rules.CheckStatus(status, rules.ImportData)
	}
	if !a.IsMember && c.staff {
		return errs.Detail(errs.ErrForbidden, "platform staff do not import an organization's data; an owner or admin does, or a service token they create")
	}
	if !a.IsMember {
		return errs.ErrNotFound
	}
	err := rules.Check(status, a.Member.Role, rules.ImportData)
	if errors.Is(err, errs.ErrForbidden) {
		return errs.Detail(errs.ErrForbidden, "only owners and admins import data; ask one of them, or for a service token with the import scope")
	}
	return err
}
