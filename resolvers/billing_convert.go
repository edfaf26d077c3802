package resolvers

import (
	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/plans"
)

// toGraphBilling converts the owner's billing view.
func (r *Resolver) toGraphBilling(v billing.View) *model.TenantBilling {
	plan, ok := r.Tenancy.Plans().Get(v.PlanID)
	if !ok {
		// A plan retired from the catalog keeps its id so the billing still renders.
		plan = plans.Plan{ID: v.PlanID, Name: v.PlanID}
	}
	g := &model.TenantBilling{Plan: toGraphPlan(plan), Warning: v.Warning}
	if v.StripeStatus != "" {
		g.StripeStatus = &v.StripeStatus
	}
	if !v.NextRenewalAt.IsZero() {
		g.NextRenewalAt = &v.NextRenewalAt
	}
	if v.Message != "" {
		g.Message = &v.Message
	}
	return g
}
