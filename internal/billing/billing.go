// Package billing is Tenantry's Stripe billing domain: the billing-setup outbox handler that gives
// every tenant a Stripe customer and subscription off the critical path, the webhook events that
// move tenants between trial, active, past_due, suspended and cancelled through the one lifecycle
// function, and the owner's ways to pay: Checkout and the billing portal.
//
// It knows nothing of HTTP, GraphQL, Firestore or stripe-go: Stripe is reached through the Stripe
// interface (package stripeapi implements it with stripe-go), persistence through Store, and
// webhook payloads arrive already verified and flattened into Event (stripeapi.Verifier).
package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tenantry/tenantry/internal/applink"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// APIVersion is the Stripe API version Tenantry's webhook endpoint must be pinned to: stripe-go
// v76's. Events rendered in another version are still processed when they parse, with a warning
// in the log, because the fields Tenantry reads have not changed shape in years; the pin keeps it
// that way (see the README's Billing section).
const APIVersion = "2023-10-16"

// Record statuses (billing/{tenantId}.status): pending until the billing-setup entry has created
// the customer and the subscription.
const (
	RecordPending = tenancy.BillingPending
	RecordReady   = "ready"
)

// Kinds lists the outbox kinds this package performs (Register).
var Kinds = kinds.Names(kinds.BillingSetup{}, kinds.CancelSuperseded{}, kinds.CancelSubscription{})

// Stripe subscription statuses, as Stripe spells them.
const (
	SubTrialing          = "trialing"
	SubActive            = "active"
	SubPastDue           = "past_due"
	SubUnpaid            = "unpaid"
	SubCanceled          = "canceled"
	SubIncomplete        = "incomplete"
	SubIncompleteExpired = "incomplete_expired"
	SubPaused            = "paused"
)

// Record is billing/{tenantId}: the tenant's Stripe state as Tenantry knows it.
type Record struct {
	TenantID          string
	PlanID            string
	Status            string // RecordPending or RecordReady
	CustomerID        string
	SubscriptionID    string    // the current subscription; events about others move nothing
	SubscriptionSince time.Time // when the current subscription was adopted (its event's created)
	StripeStatus      string    // the current subscription's status, "" before setup
	CurrentPeriodEnd  time.Time
	TrialEnd          time.Time
	CancelAtPeriodEnd bool
	// EventClock holds, per subscription id, the created time of the newest event applied for it:
	// an older event changes nothing.
	EventClock  map[string]time.Time
	LastEventID string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	SetupAt     time.Time // when the billing setup saved its subscription
}

// withCustomer is r with the Stripe customer the billing setup created, unless r has one already:
// the first one saved stands (the setup's idempotency key made the same one anyway). changed is
// false when r stays as it was.
func (r Record) withCustomer(customerID string, at time.Time) (_ Record, changed bool) {
	if r.CustomerID != "" {
		return r, false
	}
	r.CustomerID, r.UpdatedAt = customerID, at
	return r, true
}

// withSubscription is r with the subscription the billing setup created: the record is ready, and
// the subscription is the current one unless a webhook event adopted one first. What the creation
// answer says of the subscription's state is taken only while no event about it has been applied:
// an event is newer, so it wins.
func (r Record) withSubscription(sub Subscription, at time.Time) Record {
	r.Status, r.SetupAt, r.UpdatedAt = RecordReady, at, at
	if r.CustomerID == "" && sub.CustomerID != "" {
		r.CustomerID = sub.CustomerID
	}
	if r.SubscriptionID == "" {
		r.SubscriptionID, r.SubscriptionSince = sub.ID, sub.Created
		if sub.Created.IsZero() {
			r.SubscriptionSince = at
		}
	}
	if _, seen := r.EventClock[sub.ID]; seen || r.SubscriptionID != sub.ID {
		return r
	}
	r.StripeStatus, r.CancelAtPeriodEnd = sub.Status, sub.CancelAtPeriodEnd
	if !sub.CurrentPeriodEnd.IsZero() {
		r.CurrentPeriodEnd = sub.CurrentPeriodEnd
	}
	if !sub.TrialEnd.IsZero() {
		r.TrialEnd = sub.TrialEnd
	}
	return r
}

// Customer is a Stripe customer Tenantry created.
type Customer struct{ ID string }

// Subscription is a Stripe subscription as Tenantry needs it.
type Subscription struct {
	ID                string
	CustomerID        string
	Status            string
	Created           time.Time
	CurrentPeriodEnd  time.Time
	TrialEnd          time.Time
	CancelAtPeriodEnd bool
}

// CustomerParams creates a customer.
type CustomerParams struct {
	TenantID       string // metadata.tenant_id
	Email          string
	IdempotencyKey string
}

// SubscriptionParams creates a subscription for one price.
type SubscriptionParams struct {
	CustomerID string
	PriceID    string
	TenantID   string // metadata.tenant_id
	PlanID     string // metadata.plan_id
	// TrialEnd is the trial's end; zero ends the trial at once ("now").
	TrialEnd       time.Time
	IdempotencyKey string
}

// CheckoutParams creates a Checkout session that starts a subscription.
type CheckoutParams struct {
	CustomerID string
	PriceID    string
	TenantID   string
	PlanID     string
	SuccessURL string
	CancelURL  string
}

// PortalParams creates a billing-portal session.
type PortalParams struct {
	CustomerID string
	ReturnURL  string
}

// Stripe is what the domain needs of Stripe. Implementations return errors wrapping ErrRejected
// when Stripe refused the request itself (retrying the same request cannot succeed), and carry no
// secret in any error.
type Stripe interface {
	CreateCustomer(ctx context.Context, p CustomerParams) (Customer, error)
	CreateSubscription(ctx context.Context, p SubscriptionParams) (Subscription, error)
	CancelSubscription(ctx context.Context, subscriptionID, idempotencyKey string) error
	CreateCheckoutSession(ctx context.Context, p CheckoutParams) (url string, err error)
	CreatePortalSession(ctx context.Context, p PortalParams) (url string, err error)
}

// ErrRejected marks a request Stripe refused as invalid (HTTP 400, 402, 404): the outbox
// dead-letters it instead of retrying.
var ErrRejected = errors.New("stripe rejected the request")

// ErrInvalidEvent marks a webhook delivery that is not a Stripe event signed with our secret
// within the tolerance, or that does not parse: the endpoint answers 400 and changes nothing.
var ErrInvalidEvent = errors.New("invalid Stripe webhook event")

// Lifecycle is the tenant lifecycle's decision, which the webhook commits with its own writes.
type Lifecycle interface {
	DecideTransition(ctx context.Context, t tenancy.Tenant, to rules.Status, actor tenancy.Actor, cause tenancy.Cause, reason string) (tenancy.StatusChange, error)
	Authorize(ctx context.Context, tenantID string, action rules.Action) (tenancy.TenantView, error)
}

// SetupRequest is a tenant's billing.setup entry.
type SetupRequest struct {
	kinds.BillingSetup
	EntryID   string    // the entry id: the base of the Stripe idempotency keys
	CreatedAt time.Time // when provisioning wrote the entry
}

// Store is the persistence billing needs. Implementations translate their own not-found into
// errs.ErrNotFound.
type Store interface {
	// Record reads billing/{tenantID}.
	Record(ctx context.Context, tenantID string) (Record, error)
	// SetupRequest reads the tenant's billing.setup entry (errs.ErrNotFound when there is none).
	SetupRequest(ctx context.Context, tenantID string) (SetupRequest, error)
	// UpdateRecord reads billing/{tenantID} in a transaction, hands it to change (which may run
	// more than once, so it only computes) and, when change reports a change, writes the fields
	// it changed. It returns the record as stored.
	UpdateRecord(ctx context.Context, tenantID string, change func(Record) (_ Record, changed bool)) (Record, error)
	// TenantByCustomer finds the tenant whose billing record holds customerID (errs.ErrNotFound).
	TenantByCustomer(ctx context.Context, customerID string) (string, error)
	// ApplyEvent runs one transaction: it reads the tenant, its billing record and
	// stripeEvents/{ev.ID}; when the event was seen before it writes nothing and returns
	// duplicate=true; otherwise it asks decide (which may run more than once, so it only
	// computes) and writes, in the same commit, the event record (create-only), the billing
	// record, the tenant's status change and the outbox entries. t is nil when the tenant does
	// not exist, rec when the billing record does not.
	ApplyEvent(ctx context.Context, tenantID string, ev EventRecord, decide func(t *tenancy.Tenant, rec *Record) (Decision, error)) (d Decision, duplicate bool, err error)
	// RecordEvent writes stripeEvents/{ev.ID} alone (create-only), for an event that matches no
	// tenant; duplicate=true when it was already there.
	RecordEvent(ctx context.Context, ev EventRecord) (duplicate bool, err error)
}

// EventRecord is stripeEvents/{eventId}: an event seen, and what it did.
type EventRecord struct {
	ID             string
	Type           string
	Created        time.Time
	APIVersion     string
	TenantID       string
	SubscriptionID string
	Outcome        Outcome
	Detail         string // why an event was refused or ignored, for operators
	ReceivedAt     time.Time
	ExpireAt       time.Time // for a TTL policy
}

// Decision is what one event does to a tenant, decided inside the transaction.
type Decision struct {
	Outcome Outcome
	Detail  string
	Record  *Record               // the billing record to write; nil: unchanged
	Change  *tenancy.StatusChange // the tenant's status change; nil: none
	Outbox  []tenancy.OutboxEntry // entries emitted besides the status change's own
	Prior   rules.Status          // the tenant's status before the event
	// BillingStatus, when set, is the tenant's new billingStatus without a status change: the
	// status the event asks for, recorded also when a staff suspension holds the tenant
	// elsewhere; "" when the event asks for none, or for the one recorded already.
	BillingStatus rules.Status
	// Plan moves the tenant to the plan of its subscription's price; nil: unchanged.
	Plan *PlanChange
	// UnknownPriceID is the subscription's price when it matches no plan in the catalog (the
	// tenant's plan is then unchanged); "" otherwise.
	UnknownPriceID string
	// BelowContractPlanID is the plan of a price that would take a contract tenant below its
	// contracted plan (the tenant's plan is then unchanged); "" otherwise.
	BelowContractPlanID string
}

// PlanChange is the tenant's plan and seat cap following its current subscription's price (and,
// for a per-seat price, its quantity),
// written to the tenant in the event's transaction with a history and an audit entry.
type PlanChange struct {
	PlanID  string
	SeatCap int // the plan's, or the contracted seat cap when higher; never below the seats in use
	// PlanSeatCap is the plan's own seat cap; SeatCapHeld is true when SeatCap was kept at the
	// seats in use (members and pending invitations) because the plan's is lower.
	PlanSeatCap int
	SeatCapHeld bool
	// SeatsInUse is the tenant's members and pending invitations when the change was decided: a
	// per-seat cap below it removes nobody and refuses new invitations.
	SeatsInUse int
	History    tenancy.HistoryEntry
	Audit      tenancy.AuditEntry
}

// Config tunes the service.
type Config struct {
	// AppURL is the SPA's base URL; Checkout and the portal return there.
	AppURL string
	// EventRetention is how long stripeEvents records are kept (their expireAt, for a TTL
	// policy): longer than Stripe's 3 days of retries. Default 30 days.
	EventRetention time.Duration
	Logger         *slog.Logger
}

// Service is the billing domain.
type Service struct {
	stripe    Stripe
	verifier  Verifier
	store     Store
	lifecycle Lifecycle
	plans     *plans.Catalog
	clock     clock.Clock
	app       applink.Base
	cfg       Config
	log       *slog.Logger
}

// Deps is what the service is built from. Stripe is nil when STRIPE_SECRET_KEY is not set: the
// sessions then fail and no setup handler is registered. Verifier is nil when
// STRIPE_WEBHOOK_SECRET is not set: webhook deliveries then fail (500, so Stripe keeps them).
type Deps struct {
	Stripe    Stripe
	Verifier  Verifier
	Store     Store
	Lifecycle Lifecycle
	Plans     *plans.Catalog
	Clock     clock.Clock
}

// NewService builds the billing domain.
func NewService(d Deps, cfg Config) (*Service, error) {
	app, err := applink.Parse(cfg.AppURL)
	if err != nil {
		return nil, fmt.Errorf("billing: %w", err)
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = 30 * 24 * time.Hour
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	return &Service{
		stripe: d.Stripe, verifier: d.Verifier, store: d.Store, lifecycle: d.Lifecycle, plans: d.Plans,
		clock: d.Clock, app: app, cfg: cfg, log: lg,
	}, nil
}

// Enabled reports whether Stripe is configured.
func (s *Service) Enabled() bool { return s.stripe != nil }
