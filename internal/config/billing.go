package config

import (
	"fmt"
	"strings"
	"time"
)

// StripeEnabled reports whether Stripe calls (billing setup, Checkout, the portal) are configured.
func (c Config) StripeEnabled() bool { return c.StripeSecretKey != "" }

// validateBilling checks the Stripe settings.
func (c Config) validateBilling() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.StripeTimeout < time.Second {
		add("TENANTRY_STRIPE_TIMEOUT=%s: allow at least 1s", c.StripeTimeout)
	}
	// The billing setup makes two calls in a row within half the outbox lease.
	if c.StripeEnabled() && c.OutboxLease < 4*c.StripeTimeout {
		add("TENANTRY_OUTBOX_LEASE=%s: use at least four times TENANTRY_STRIPE_TIMEOUT (%s): the billing setup makes two Stripe calls within half the lease", c.OutboxLease, c.StripeTimeout)
	}
	// The secret key travels in every request's Authorization header: never in clear text in
	// production (stripe-mock, locally, is plain HTTP on loopback).
	if c.Env == Production && strings.HasPrefix(strings.ToLower(c.StripeAPIURL), "http://") {
		add("STRIPE_API_URL is plain http:// with TENANTRY_ENV=production: the API key would travel in clear text; use https:// or unset it (Stripe itself)")
	}
	return problems
}
