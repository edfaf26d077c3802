// Package config reads Tenantry's configuration from the environment into one validated struct,
// once, at start. Names follow ../shared/contract/README.md: standard names first.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Config is every setting of the process.
type Config struct {
	Env     string `env:"TENANTRY_ENV" envDefault:"development"`
	Host    string `env:"HOST" envDefault:"127.0.0.1"`
	Port    int    `env:"PORT" envDefault:"8080"`
	Project string `env:"GOOGLE_CLOUD_PROJECT" envDefault:"demo-tenantry"`

	FirestoreEmulatorHost string `env:"FIRESTORE_EMULATOR_HOST"`
	AuthEmulatorHost      string `env:"FIREBASE_AUTH_EMULATOR_HOST"`

	StripeSecretKey     string `env:"STRIPE_SECRET_KEY"`
	StripeWebhookSecret string `env:"STRIPE_WEBHOOK_SECRET"`
	StripeAPIURL        string `env:"STRIPE_API_URL"`
	SMTPURL             string `env:"SMTP_URL"`

	// StripeTimeout bounds each Stripe API call (config/billing.go).
	StripeTimeout time.Duration `env:"TENANTRY_STRIPE_TIMEOUT" envDefault:"20s"`

	LogLevel  string `env:"TENANTRY_LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"TENANTRY_LOG_FORMAT" envDefault:"json"`

	// AllowedOrigins are the SPA's origins allowed to call /graphql from a browser (CORS).
	AllowedOrigins []string `env:"TENANTRY_ALLOWED_ORIGINS" envSeparator:"," envDefault:"http://localhost:5173,http://127.0.0.1:5173,http://localhost:3000"`

	// Introspection defaults to on in development and off in production.
	Introspection *bool `env:"TENANTRY_INTROSPECTION"`

	MaxBodyBytes       int64         `env:"TENANTRY_MAX_BODY_BYTES" envDefault:"65536"`
	MaxQueryDepth      int           `env:"TENANTRY_MAX_QUERY_DEPTH" envDefault:"10"`
	MaxQueryComplexity int           `env:"TENANTRY_MAX_QUERY_COMPLEXITY" envDefault:"300"`
	ShutdownTimeout    time.Duration `env:"TENANTRY_SHUTDOWN_TIMEOUT" envDefault:"20s"`

	// Provisioning rate limit per user: a burst, then one new tenant per interval.
	ProvisionBurst    int           `env:"TENANTRY_PROVISION_BURST" envDefault:"5"`
	ProvisionInterval time.Duration `env:"TENANTRY_PROVISION_INTERVAL" envDefault:"1m"`

	// IdempotencyRetention is how long replays of a creating call are answered (at least 24h).
	IdempotencyRetention time.Duration `env:"TENANTRY_IDEMPOTENCY_RETENTION" envDefault:"48h"`

	// Email. SMTP_URL (above) is smtp://[user:pass@]host[:port] or smtps://… for implicit TLS;
	// unset, email outbox entries stay pending until a dispatcher with SMTP picks them up.
	MailFrom string `env:"TENANTRY_MAIL_FROM" envDefault:"Tenantry <no-reply@tenantry.local>"`
	// AppFile is the application's declaration of its data model (tenantry.app.yaml); "" looks
	// for that file in the working directory and runs without one when it is absent.
	AppFile string `env:"TENANTRY_APP"`
	// AppURL is the SPA's base URL; every link in an email starts with it.
	AppURL string `env:"TENANTRY_APP_URL" envDefault:"http://localhost:5173"`
	// SMTPStartTLS is mandatory, opportunistic or off for smtp:// URLs; empty means mandatory
	// when SMTP_URL carries credentials and opportunistic otherwise.
	SMTPStartTLS string        `env:"TENANTRY_SMTP_STARTTLS"`
	SMTPTimeout  time.Duration `env:"TENANTRY_SMTP_TIMEOUT" envDefault:"15s"`

	// Outbox dispatcher. `serve` runs it continuously unless TENANTRY_DISPATCHER=off (when Cloud
	// Functions dispatch instead, say).
	Dispatcher            string        `env:"TENANTRY_DISPATCHER" envDefault:"on"`
	OutboxPollInterval    time.Duration `env:"TENANTRY_OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBatchSize       int           `env:"TENANTRY_OUTBOX_BATCH_SIZE" envDefault:"50"`
	OutboxConcurrency     int           `env:"TENANTRY_OUTBOX_CONCURRENCY" envDefault:"4"`
	OutboxLease           time.Duration `env:"TENANTRY_OUTBOX_LEASE" envDefault:"2m"`
	OutboxMaxAttempts     int           `env:"TENANTRY_OUTBOX_MAX_ATTEMPTS" envDefault:"8"`
	OutboxBackoffBase     time.Duration `env:"TENANTRY_OUTBOX_BACKOFF_BASE" envDefault:"2s"`
	OutboxBackoffCap      time.Duration `env:"TENANTRY_OUTBOX_BACKOFF_CAP" envDefault:"10m"`
	OutboxRetention       time.Duration `env:"TENANTRY_OUTBOX_RETENTION" envDefault:"168h"`
	OutboxMetricsInterval time.Duration `env:"TENANTRY_OUTBOX_METRICS_INTERVAL" envDefault:"30s"`

	// Scheduler of the maintenance jobs in `serve`. JobIntervals overrides the jobs' own
	// intervals: "purge-idempotency-records=1h,expire-invitations=5m,expire-trials=off".
	Scheduler    string `env:"TENANTRY_SCHEDULER" envDefault:"on"`
	JobIntervals string `env:"TENANTRY_JOB_INTERVALS"`

	// Members (config/members.go): limits on invitation emails (per inviter and per tenant a
	// burst, then one per interval; resends per invitation; emails per address and tenant per
	// window, kept in Firestore), the default invitation lifetime and the batch size of
	// inviteMembers. The burst per inviter matches the largest batch, so one full inviteMembers
	// call fits. The blocking functions' base URL is in config/identity.go.
	InviteBurst          int           `env:"TENANTRY_INVITE_BURST" envDefault:"100"`
	InviteInterval       time.Duration `env:"TENANTRY_INVITE_INTERVAL" envDefault:"2s"`
	TenantInviteBurst    int           `env:"TENANTRY_TENANT_INVITE_BURST" envDefault:"200"`
	TenantInviteInterval time.Duration `env:"TENANTRY_TENANT_INVITE_INTERVAL" envDefault:"1s"`
	ResendBurst          int           `env:"TENANTRY_INVITE_RESEND_BURST" envDefault:"1"`
	ResendInterval       time.Duration `env:"TENANTRY_INVITE_RESEND_INTERVAL" envDefault:"1m"`
	InviteAddressLimit   int           `env:"TENANTRY_INVITE_ADDRESS_LIMIT" envDefault:"3"`
	InviteAddressWindow  time.Duration `env:"TENANTRY_INVITE_ADDRESS_WINDOW" envDefault:"24h"`
	InvitationExpiryDays int           `env:"TENANTRY_INVITATION_EXPIRY_DAYS" envDefault:"7"`
	InviteBatchMax       int           `env:"TENANTRY_INVITE_BATCH_MAX" envDefault:"100"`
	PublicURL            string        `env:"TENANTRY_PUBLIC_URL"`

	// Service tokens and the data import (config/dataimport.go): requests per token (a burst,
	// then one per interval) and the body limit of importRecords calls.
	ServiceTokenBurst    int           `env:"TENANTRY_SERVICE_TOKEN_BURST" envDefault:"60"`
	ServiceTokenInterval time.Duration `env:"TENANTRY_SERVICE_TOKEN_INTERVAL" envDefault:"100ms"`
	ImportMaxBodyBytes   int64         `env:"TENANTRY_IMPORT_MAX_BODY_BYTES" envDefault:"16777216"`

	// StaffDomains, when set, are the only email domains whose accounts a platform role gives
	// power to (config/identity.go).
	StaffDomains []string `env:"TENANTRY_STAFF_DOMAINS" envSeparator:","`

	// The Firebase web configuration the sales console at /playground signs in with
	// (config/console.go): the project's Web API key and its auth domain.
	FirebaseAPIKey     string `env:"TENANTRY_FIREBASE_API_KEY"`
	FirebaseAuthDomain string `env:"TENANTRY_FIREBASE_AUTH_DOMAIN"`
	// Domain capture (config/domains.go): the DNS server of the TXT challenges ("" is the
	// system's resolver), the timeout of one lookup, the pending period before FAILED, how often
	// a verified domain is checked again, and signupRouting's limit per client address.
	DNSResolver           string        `env:"TENANTRY_DNS_RESOLVER"`
	DNSTimeout            time.Duration `env:"TENANTRY_DNS_TIMEOUT" envDefault:"3s"`
	DomainPendingFor      time.Duration `env:"TENANTRY_DOMAIN_PENDING_FOR" envDefault:"72h"`
	DomainRecheck         time.Duration `env:"TENANTRY_DOMAIN_RECHECK" envDefault:"24h"`
	SignupRoutingBurst    int           `env:"TENANTRY_SIGNUP_ROUTING_BURST" envDefault:"20"`
	SignupRoutingInterval time.Duration `env:"TENANTRY_SIGNUP_ROUTING_INTERVAL" envDefault:"3s"`

	// Events to the application (config/events.go, docs/events.md): where they are POSTed, the
	// Standard Webhooks signing secret (whsec_…) and the timeout of one delivery attempt. Unset
	// URL: no events are made.
	EventsURL     string        `env:"TENANTRY_EVENTS_URL"`
	EventsSecret  string        `env:"TENANTRY_EVENTS_SECRET"`
	EventsTimeout time.Duration `env:"TENANTRY_EVENTS_TIMEOUT" envDefault:"15s"`
	// Retention of cancelled tenants and exports (config/retention.go).
	CancelledRetentionSetting string `env:"TENANTRY_CANCELLED_RETENTION" envDefault:"30d"`
	// tenantry doctor (and its job): how long a billing record may stay pending, and how long
	// past its due time a pending outbox entry may wait, before each is reported.
	DoctorBillingPendingFor time.Duration `env:"TENANTRY_DOCTOR_BILLING_PENDING_FOR" envDefault:"1h"`
	DoctorOutboxStuckFor    time.Duration `env:"TENANTRY_DOCTOR_OUTBOX_STUCK_FOR" envDefault:"30m"`
	// DoctorWorkers is how many tenants the doctor checks at once: a scan waits on round trips.
	DoctorWorkers int `env:"TENANTRY_DOCTOR_WORKERS" envDefault:"8"`
	// Exports (config/export.go): the Cloud Storage bucket of the archives (unset: no exports;
	// required in production), the download links' signing key (unset in development: one per
	// process) and how long a link works; STORAGE_EMULATOR_HOST points the client at an emulator.
	ExportBucket        string        `env:"TENANTRY_EXPORT_BUCKET"`
	ExportSigningKey    string        `env:"TENANTRY_EXPORT_SIGNING_KEY"`
	ExportLinkTTL       time.Duration `env:"TENANTRY_EXPORT_LINK_TTL" envDefault:"24h"`
	StorageEmulatorHost string        `env:"STORAGE_EMULATOR_HOST"`
}

// Load reads the environment (lookup is os.LookupEnv in production, a map in tests) and
// validates the result. Every problem is reported at once, each with what to do about it.
func Load(environ map[string]string) (Config, error) {
	var c Config
	opts := env.Options{Environment: environ}
	if err := env.ParseWithOptions(&c, opts); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, c.Validate()
}

// Validate checks the settings against each other.
func (c Config) Validate() error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	switch c.Env {
	case Development, Production:
	default:
		add("TENANTRY_ENV=%q: use %q or %q", c.Env, Development, Production)
	}
	if c.Env == Production {
		if c.FirestoreEmulatorHost != "" {
			add("TENANTRY_ENV=production but FIRESTORE_EMULATOR_HOST is set: production must never talk to an emulator; unset FIRESTORE_EMULATOR_HOST")
		}
		if c.AuthEmulatorHost != "" {
			add("TENANTRY_ENV=production but FIREBASE_AUTH_EMULATOR_HOST is set: production must never accept emulator tokens; unset FIREBASE_AUTH_EMULATOR_HOST")
		}
		if c.Project == "" || strings.HasPrefix(c.Project, "demo-") {
			add("GOOGLE_CLOUD_PROJECT=%q: production needs the real Firebase project id (demo- projects exist only in emulators)", c.Project)
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		add("PORT=%d: use a TCP port from 1 to 65535", c.Port)
	}
	if net.ParseIP(c.Host) == nil && c.Host != "localhost" {
		add("HOST=%q: use an IP address such as 127.0.0.1 (or 0.0.0.0 in a container)", c.Host)
	}
	for name, hostport := range map[string]string{"FIRESTORE_EMULATOR_HOST": c.FirestoreEmulatorHost, "FIREBASE_AUTH_EMULATOR_HOST": c.AuthEmulatorHost} {
		if hostport == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(hostport); err != nil {
			add("%s=%q: use host:port, e.g. 127.0.0.1:8181", name, hostport)
		}
	}
	for name, raw := range map[string]string{"STRIPE_API_URL": c.StripeAPIURL, "SMTP_URL": c.SMTPURL} {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || u.Scheme == "" || u.Host == "" {
			add("%s: not a URL with scheme and host (e.g. http://127.0.0.1:12111 or smtp://127.0.0.1:1025)", name)
		}
	}
	if _, err := c.SlogLevel(); err != nil {
		add("TENANTRY_LOG_LEVEL=%q: use debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		add("TENANTRY_LOG_FORMAT=%q: use json or text", c.LogFormat)
	}
	if c.MaxBodyBytes < 1024 {
		add("TENANTRY_MAX_BODY_BYTES=%d: allow at least 1024 bytes", c.MaxBodyBytes)
	}
	if c.MaxQueryDepth < 2 || c.MaxQueryComplexity < 10 {
		add("TENANTRY_MAX_QUERY_DEPTH (>= 2) and TENANTRY_MAX_QUERY_COMPLEXITY (>= 10) are too low for the API's own queries")
	}
	if c.ProvisionBurst < 1 || c.ProvisionInterval <= 0 {
		add("TENANTRY_PROVISION_BURST (>= 1) and TENANTRY_PROVISION_INTERVAL (> 0) must be positive")
	}
	if c.IdempotencyRetention < 24*time.Hour {
		add("TENANTRY_IDEMPOTENCY_RETENTION=%s: keep idempotency records at least 24h", c.IdempotencyRetention)
	}
	problems = append(problems, c.validateBackground()...)
	problems = append(problems, c.validateMembers()...)
	problems = append(problems, c.validateIdentity()...)
	problems = append(problems, c.validateBilling()...)
	problems = append(problems, c.validateConsole()...)
	problems = append(problems, c.validateDomains()...)
	problems = append(problems, c.validateImport()...)
	problems = append(problems, c.validateEvents()...)
	problems = append(problems, c.validateRetention()...)
	problems = append(problems, c.validateExport()...)
	return errors.Join(problems...)
}

// Addr is the listen address.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// IntrospectionEnabled applies the environment's default.
func (c Config) IntrospectionEnabled() bool {
	if c.Introspection != nil {
		return *c.Introspection
	}
	return c.Env != Production
}

// SlogLevel parses LogLevel.
func (c Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(c.LogLevel))
	return l, err
}

// LogValue masks secrets, so logging the config at start is safe.
func (c Config) LogValue() slog.Value {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	smtp := c.SMTPURL
	if u, err := url.Parse(smtp); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		smtp = u.String()
	}
	return slog.GroupValue(
		slog.String("env", c.Env), slog.String("addr", c.Addr()), slog.String("project", c.Project),
		slog.String("firestoreEmulator", c.FirestoreEmulatorHost), slog.String("authEmulator", c.AuthEmulatorHost),
		slog.String("stripeSecretKey", mask(c.StripeSecretKey)), slog.String("stripeWebhookSecret", mask(c.StripeWebhookSecret)),
		slog.String("stripeAPIURL", c.StripeAPIURL), slog.String("smtpURL", smtp),
		slog.Bool("introspection", c.IntrospectionEnabled()),
		slog.String("mailFrom", c.MailFrom), slog.String("appURL", c.AppURL), slog.String("app", c.AppFile),
		slog.Bool("dispatcher", c.DispatcherOn()), slog.Bool("scheduler", c.SchedulerOn()),
		slog.String("jobIntervals", c.JobIntervals),
		slog.String("eventsURL", c.eventsOrigin()), slog.String("eventsSecret", mask(c.EventsSecret)),
		slog.String("exportBucket", c.ExportBucket), slog.String("exportSigningKey", mask(c.ExportSigningKey)),
		slog.String("storageEmulator", c.StorageEmulatorHost),
	)
}
