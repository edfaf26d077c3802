package resolvers

import (
	"strings"

	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Converters of the staff surface: provisionContractTenant, tenants, Tenant.contract and
// Tenant.auditLog.

func toContractInput(in model.ProvisionContractTenantInput) tenancy.ContractInput {
	out := tenancy.ContractInput{
		IdempotencyKey:    in.IdempotencyKey,
		OrganizationName:  in.OrganizationName,
		PlanID:            in.PlanID,
		SeatCap:           in.SeatCap,
		GoLiveDate:        in.GoLiveDate,
		Subdomain:         deref(in.Subdomain),
		ContractReference: in.ContractReference,
		ExistingTenantID:  deref(in.ExistingTenantID),
		GraceDays:         in.GraceDays,
	}
	if in.AdminContact != nil {
		out.AdminContact = tenancy.Contact{Email: in.AdminContact.Email, Name: deref(in.AdminContact.Name)}
	}
	return out
}

func toTenantFilter(f *model.TenantFilter) tenancy.TenantFilter {
	if f == nil {
		return tenancy.TenantFilter{}
	}
	out := tenancy.TenantFilter{Search: deref(f.Search)}
	if f.Status != nil {
		out.Status = fromGraphStatus(*f.Status)
	}
	if f.Source != nil {
		out.Source = tenancy.Source(strings.ToLower(string(*f.Source)))
	}
	return out
}

// toGraphTenantConnection converts a page of the staff list; staff see every tenant as staff.
func (r *Resolver) toGraphTenantConnection(p tenancy.TenantPage) *model.TenantConnection {
	c := &model.TenantConnection{Edges: make([]*model.TenantEdge, 0, len(p.Tenants)), PageInfo: &model.PageInfo{HasNextPage: p.HasNextPage}}
	for _, e := range p.Tenants {
		c.Edges = append(c.Edges, &model.TenantEdge{Cursor: e.Cursor, Node: r.toGraphTenant(tenancy.TenantView{Tenant: e.Tenant, Staff: true})})
	}
	if p.EndCursor != "" {
		c.PageInfo.EndCursor = &p.EndCursor
	}
	return c
}

func (r *Resolver) toGraphContract(c *tenancy.ContractRecord) *model.Contract {
	if c == nil {
		return nil
	}
	plan := r.Tenancy.Plans().ForDisplay(c.PlanID, c.SeatCap)
	g := &model.Contract{
		Reference: c.Reference, Plan: toGraphPlan(plan), SeatCap: c.SeatCap, GoLiveDate: c.GoLiveDate, SignedAt: c.SignedAt,
		GraceDays:    c.GraceDays,
		AdminContact: &model.Contact{Email: c.AdminContact.Email},
		ProvisionedBy: &model.ContractActor{
			UserID: c.ProvisionedBy.UID, Email: c.ProvisionedBy.Email,
			PlatformRole: toGraphPlatformRole(auth.ParsePlatformRole(c.ProvisionedBy.PlatformRole)),
		},
	}
	if c.AdminContact.Name != "" {
		g.AdminContact.Name = &c.AdminContact.Name
	}
	return g
}

func toGraphAuditEntry(e tenancy.AuditEntry) *model.AuditEntry {
	g := &model.AuditEntry{
		ID: e.ID, Action: e.Action, At: e.At, Reason: e.Reason,
		ActorPlatformRole: toGraphPlatformRole(e.Actor.PlatformRole),
		Changes:           []*model.AuditChange{},
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
	for _, c := range e.Changes() {
		gc := &model.AuditChange{Field: c.Field}
		if c.HasBefore {
			gc.Before = &c.Before
		}
		if c.HasAfter {
			gc.After = &c.After
		}
		g.Changes = append(g.Changes, gc)
	}
	return g
}

// provisionedView is how the caller of a provisioning sees its tenant: the owner of a self-serve
// tenant, platform staff for a contract tenant (the rep is not a member).
func provisionedView(t tenancy.Tenant, contract bool) tenancy.TenantView {
	if contract {
		return tenancy.TenantView{Tenant: t, Staff: true}
	}
	return tenancy.TenantView{Tenant: t, Role: rules.RoleOwner}
}
