package members

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// App roles are the application's own roles (tenantry.app.yaml, given to the domain as
// Config.AppRoles), held by members besides their tenant role at
// tenants/{t}/members/{uid}.appRoles, where the generated rules read them. They only open
// application data: administration stays with the tenant roles, and only those who manage
// members (owners and admins) hand app roles out, by invitation or with SetAppRoles.

// fieldAppRoles is the input field of the app roles in every call that takes them.
const fieldAppRoles = "appRoles"

// maxQuotedRole bounds how much of an unknown app role an error message repeats.
const maxQuotedRole = 40

// appRolesIn normalizes app roles from the API: sorted, without duplicates, nil when empty, each
// one declared by the application (BAD_USER_INPUT on appRoles otherwise).
func (s *Service) appRolesIn(roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if !slices.Contains(s.cfg.AppRoles, r) {
			return nil, errs.Invalid(fieldAppRoles, undeclaredAppRole(r, s.cfg.AppRoles))
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// undeclaredAppRole says why r is refused and which roles may be used instead.
func undeclaredAppRole(r string, declared []string) string {
	if len(r) > maxQuotedRole {
		r = r[:maxQuotedRole] + "…"
	}
	if len(declared) == 0 {
		return fmt.Sprintf("the app role %q is not declared: this application declares no app roles; leave appRoles empty, or declare the role under roles in tenantry.app.yaml (TENANTRY_APP) and restart the server", r)
	}
	return fmt.Sprintf("the app role %q is not declared; use one of %s, or declare it under roles in tenantry.app.yaml (TENANTRY_APP)", r, strings.Join(declared, ", "))
}

// mayGrantAppRoles says whether a member with role actor may hand out app roles: those who
// manage members. (A manager may invite, but only without app roles.)
func mayGrantAppRoles(actor rules.Role) bool { return roleMayTake(actor, rules.ManageMembers) }

func appRolesGrantError() error {
	return errs.Detail(errs.ErrForbidden, "only owners and admins grant app roles; invite without appRoles, or ask an owner or admin")
}

// auditedAppRoles is a list of app roles as an audit entry keeps it: a list even when empty, so
// that "[]" tells "none" apart from "not recorded".
func auditedAppRoles(roles []string) []string {
	if roles == nil {
		return []string{}
	}
	return roles
}

// SetAppRoles replaces a member's app roles (setMemberAppRoles); an empty list removes them all.
// Owners and admins may, while the tenant is writable, on members whose tenant role is not above
// their own. The change and its audit entry (member.app_roles_changed) commit together; setting
// the roles the member already holds writes nothing.
func (s *Service) SetAppRoles(ctx context.Context, tenantID, userID string, appRoles []string) (tenancy.Member, error) {
	p, err := principalFor(ctx, tenantID, userID)
	if err != nil {
		return tenancy.Member{}, err
	}
	roles, err := s.appRolesIn(appRoles)
	if err != nil {
		return tenancy.Member{}, err
	}
	return s.changeOtherMember(ctx, p, tenantID, userID, func(st MembersState) (tenancy.Member, MembersChange, error) {
		target := st.Target
		if rank(target.Role) > rank(st.Actor.Role) {
			return target, MembersChange{}, errs.Detail(errs.ErrForbidden, "you cannot change the app roles of a member whose role is above yours; ask the owner")
		}
		if slices.Equal(target.AppRoles, roles) {
			return target, MembersChange{}, errNoop
		}
		ch := s.fieldChange(ctx, st, tenancy.AuditMemberAppRolesChanged, "appRoles", auditedAppRoles(target.AppRoles), auditedAppRoles(roles))
		target.AppRoles = roles
		ch.SetAppRoles = []tenancy.Member{target}
		return target, ch, nil
	})
}
