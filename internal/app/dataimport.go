package app

import (
	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/dataimport"
	"github.com/tenantry/tenantry/internal/ratelimit"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// importWiring is the service tokens' domain, which authenticates `tnt_` tokens on every
// request, and the data import's, which checks records against the application's declaration.
type importWiring struct {
	tokens *servicetokens.Service
	imp    *dataimport.Service
}

// wireImport builds both on the store; each token's requests are rate limited in memory, per
// replica, like provisioning's.
func wireImport(cfg config.Config, st *store.Store, ten *tenancy.Service, decl *appdecl.Declaration, clk clock.Clock) importWiring {
	limiter := ratelimit.NewKeyed(cfg.ServiceTokenInterval, cfg.ServiceTokenBurst, clk.Now)
	return importWiring{
		tokens: servicetokens.NewService(st.ServiceTokens(), ten, clk, limiter),
		imp:    dataimport.NewService(st.Imports(), decl, clk, dataimport.Config{IdempotencyRetention: cfg.IdempotencyRetention}),
	}
}
