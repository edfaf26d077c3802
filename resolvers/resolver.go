//go:generate go tool gqlgen generate

// Package resolvers holds the thin GraphQL resolvers: each parses its input, calls one domain
// method and converts the result. Helpers live in files other than *.resolvers.go, which gqlgen
// regenerates.
package resolvers

import (
	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/dataimport"
	"github.com/tenantry/tenantry/internal/domains"
	"github.com/tenantry/tenantry/internal/export"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// Resolver is the root resolver; its fields are the domain services.
type Resolver struct {
	Tenancy *tenancy.Service
	// Membership is the members domain (invitations, roles, ownership); not "Members", which
	// would collide with the Tenant.members field resolver.
	Membership *members.Service
	// Billing is the Stripe billing domain (Checkout, the portal, Tenant.billing).
	Billing *billing.Service
	// DomainCapture is the email-domain domain (addDomain, verifyDomain, signupRouting); not
	// "Domains", which would collide with the Tenant.domains field resolver.
	DomainCapture *domains.Service
	// ServiceTokens and Import are the service tokens' and the data import's domains.
	ServiceTokens *servicetokens.Service
	Import        *dataimport.Service
	// Export is the tenant export's domain (exportTenant, Tenant.exports).
	Export *export.Service
}
