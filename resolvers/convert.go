package resolvers

import (
	"strings"

	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Domain values are lowercase snake case (as stored in Firestore, where the rules read them);
// GraphQL enums are their upper-case spelling. These converters are the one place that knows it.

func toGraphStatus(s rules.Status) model.TenantStatus {
	return model.TenantStatus(strings.ToUpper(string(s)))
}

func fromGraphStatus(s model.TenantStatus) rules.Status {
	return rules.Status(strings.ToLower(string(s)))
}

func toGraphRole(r rules.Role) model.Role { return model.Role(strings.ToUpper(string(r))) }

func toGraphSource(s tenancy.Source) model.ProvisioningSource {
	return model.ProvisioningSource(strings.ToUpper(string(s)))
}

func toGraphPlatformRole(r auth.PlatformRole) *model.PlatformRole {
	if r == auth.PlatformNone {
		return nil
	}
	g := model.PlatformRole(strings.ToUpper(string(r)))
	return &g
}

func toGraphPlan(p plans.Plan) *model.Plan {
	return &model.Plan{ID: p.ID, Name: p.Name, SeatCap: p.SeatCap, PendingInvitationLimit: p.PendingInvitationLimit, TrialDays: p.TrialDays, SelfServe: p.SelfServe,
		GraceDays: p.GraceDays, PerSeat: p.PerSeat}
}

// toGraphTenant converts a tenant as the caller sees it; access depends on the caller's role.
func (r *Resolver) toGraphTenant(v tenancy.TenantView) *model.Tenant {
	t := v.Tenant
	plan := r.Tenancy.Plans().ForDisplay(t.PlanID, t.SeatCap)
	a := r.Tenancy.Access(v)
	g := &model.Tenant{
		ID:                 t.ID,
		Name:               t.Name,
		Status:             toGraphStatus(t.Status),
		Plan:               toGraphPlan(plan),
		SeatCap:            t.SeatCap,
		SeatsUsed:          t.SeatsUsed,
		PendingInvitations: t.PendingInvitations,
		PendingExpiryFloor: t.PendingExpiryFloor,
		Source:             toGraphSource(t.Source),
		CreatedAt:          t.CreatedAt,
		Access:             &model.TenantAccess{CanRead: a.CanRead, CanWrite: a.CanWrite},
		OwnerlessSince:     optionalTime(t.OwnerlessSince),
	}
	if t.Subdomain != "" {
		g.Subdomain = &t.Subdomain
	}
	if !t.TrialEndsAt.IsZero() {
		g.TrialEndsAt = &t.TrialEndsAt
	}
	if end := r.Tenancy.PurgeAfter(t); !end.IsZero() {
		g.PurgeAfter = &end
	}
	if t.Status == rules.StatusPastDue && !t.GraceEndsAt.IsZero() {
		g.GraceEndsAt = &t.GraceEndsAt
	}
	if a.Reason != "" {
		g.Access.Reason = &a.Reason
	}
	return g
}

func toGraphMember(m tenancy.Member) *model.Member {
	return &model.Member{
		User: &model.User{ID: m.UID, Email: m.Email}, Role: toGraphRole(m.Role), JoinedAt: m.JoinedAt,
		AppRoles: toGraphAppRoles(m.AppRoles),
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func toGraphStatusChange(e tenancy.HistoryEntry) *model.TenantStatusChange {
	g := &model.TenantStatusChange{
		From: toGraphStatus(e.From), To: toGraphStatus(e.To), At: e.At, Reason: e.Reason,
		ActorPlatformRole: toGraphPlatformRole(e.Actor.PlatformRole),
	}
	if e.Actor.UID != "" {
		g.ActorUserID = &e.Actor.UID
	}
	if e.Actor.System != "" {
		g.ActorSystem = &e.Actor.System
	}
	if e.RequestID != "" {
		g.RequestID = &e.RequestID
	}
	if !e.TrialEndsAt.IsZero() {
		g.TrialEndsAt = &e.TrialEndsAt
	}
	return g
}
