package resolvers

import (
	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/billing"
)

// toGraphBilling converts the owner's billing view.
func (r *Resolver) toGraphBilling(v billing.View) *model.TenantBilling {
	plan := r.Tenancy.Plans().ForDisplay(v.PlanID, 0) // the billing view has no seat cap of its own
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
