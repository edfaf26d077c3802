package config

import (
	"fmt"
	"net"
	"time"
)

// validateDomains checks the domain-capture settings.
func (c Config) validateDomains() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.DNSResolver != "" {
		if _, _, err := net.SplitHostPort(c.DNSResolver); err != nil {
			add("TENANTRY_DNS_RESOLVER=%q: use host:port, such as 8.8.8.8:53, or leave it unset for the system resolver", c.DNSResolver)
		}
	}
	if c.DNSTimeout < 100*time.Millisecond || c.DNSTimeout > 30*time.Second {
		add("TENANTRY_DNS_TIMEOUT=%s: use 100ms to 30s", c.DNSTimeout)
	}
	if c.DomainPendingFor < time.Hour || c.DomainRecheck < time.Hour {
		add("TENANTRY_DOMAIN_PENDING_FOR=%s and TENANTRY_DOMAIN_RECHECK=%s: use at least 1h each", c.DomainPendingFor, c.DomainRecheck)
	}
	if c.SignupRoutingBurst < 1 || c.SignupRoutingInterval <= 0 {
		add("TENANTRY_SIGNUP_ROUTING_BURST=%d and TENANTRY_SIGNUP_ROUTING_INTERVAL=%s: use a burst of at least 1 and a positive interval", c.SignupRoutingBurst, c.SignupRoutingInterval)
	}
	return problems
}
