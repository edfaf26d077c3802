package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantry/tenantry/internal/billing"
	"github.com/tenantry/tenantry/internal/billing/stripeapi"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/server"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// wireBilling builds the billing domain on stripe-go (stripeapi) when STRIPE_SECRET_KEY is set,
// and the webhook verifier when STRIPE_WEBHOOK_SECRET is. Either may be missing in development:
// provisioning never needs Stripe, billing.setup entries then stay pending, and the webhook
// answers 500 (so Stripe keeps its events) until the secret is configured.
func wireBilling(cfg config.Config, st *store.Store, ten *tenancy.Service, catalog *plans.Catalog, clk clock.Clock) (*billing.Service, error) {
	deps := billing.Deps{Store: st.Billing(), Lifecycle: ten, Plans: catalog, Clock: clk}
	if cfg.StripeEnabled() {
		c, err := stripeapi.New(stripeapi.Config{SecretKey: cfg.StripeSecretKey, APIURL: cfg.StripeAPIURL, Timeout: cfg.StripeTimeout})
		if err != nil {
			return nil, fmt.Errorf("billing: %w", err)
		}
		deps.Stripe = c
	} else {
		slog.Warn("STRIPE_SECRET_KEY is not set: billing setup entries stay pending, and Checkout and the billing portal fail")
	}
	if cfg.StripeWebhookSecret != "" {
		v, err := stripeapi.NewVerifier(cfg.StripeWebhookSecret)
		if err != nil {
			return nil, fmt.Errorf("billing: %w", err)
		}
		deps.Verifier = v
	} else {
		slog.Warn("STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe answers 500 until it is")
	}
	return billing.NewService(deps, billing.Config{AppURL: cfg.AppURL})
}

// instrumentedWebhook counts deliveries by event type (the types Tenantry acts on; "other" for
// the rest, to bound the label's values) and outcome, and wakes this process's dispatcher after
// an event that may have queued an email, so it leaves at once rather than at the next poll.
func instrumentedWebhook(svc *billing.Service, reg *prometheus.Registry, kick *outboxKicker) (server.StripeWebhook, error) {
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenantry_stripe_webhook_events_total",
		Help: "Stripe webhook deliveries by event type and outcome (applied, no_change, stale, refused, duplicate, ignored, ..., invalid, error).",
	}, []string{"type", "outcome"})
	if err := registerAll(reg, events); err != nil {
		return nil, err
	}
	return func(ctx context.Context, payload []byte, signature string) (billing.Result, error) {
		res, err := svc.HandleWebhook(ctx, payload, signature)
		outcome := string(res.Outcome)
		switch {
		case errors.Is(err, billing.ErrInvalidEvent):
			outcome = "invalid"
		case err != nil:
			outcome = "error"
		}
		typ := "other"
		switch res.Type {
		case billing.EventSubscriptionCreated, billing.EventSubscriptionUpdated, billing.EventSubscriptionDeleted,
			billing.EventTrialWillEnd, billing.EventInvoicePaid, billing.EventInvoicePaymentFailed:
			typ = res.Type
		}
		events.WithLabelValues(typ, outcome).Inc()
		if err == nil && res.Outcome == billing.OutcomeApplied {
			kick.kick()
		}
		return res, err
	}, nil
}
