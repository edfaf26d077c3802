package config

import (
	"fmt"
	netmail "net/mail"
	"net/url"
	"time"

	"github.com/tenantry/tenantry/internal/jobs"
)

// DispatcherOn reports whether `serve` runs the outbox dispatcher.
func (c Config) DispatcherOn() bool { return c.Dispatcher == "on" }

// SchedulerOn reports whether `serve` runs the maintenance jobs on their intervals.
func (c Config) SchedulerOn() bool { return c.Scheduler == "on" }

// Intervals parses JobIntervals (validated by Validate).
func (c Config) Intervals() map[string]time.Duration {
	m, _ := jobs.ParseIntervals(c.JobIntervals)
	return m
}

// validateBackground checks the email, outbox and scheduler settings.
func (c Config) validateBackground() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err == nil && u.Scheme != "smtp" && u.Scheme != "smtps" {
			add("SMTP_URL: scheme %q is not supported; use smtp://host:port (STARTTLS) or smtps://host:port (implicit TLS)", u.Scheme)
		}
	}
	switch c.SMTPStartTLS {
	case "", "mandatory", "opportunistic", "off":
	default:
		add("TENANTRY_SMTP_STARTTLS=%q: use mandatory, opportunistic or off (empty: mandatory when SMTP_URL has credentials)", c.SMTPStartTLS)
	}
	if c.SMTPTimeout < time.Second {
		add("TENANTRY_SMTP_TIMEOUT=%s: allow at least 1s", c.SMTPTimeout)
	}
	if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
		add("TENANTRY_MAIL_FROM=%q: not an address (e.g. \"Tenantry <no-reply@example.com>\")", c.MailFrom)
	}
	if u, err := url.Parse(c.AppURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("TENANTRY_APP_URL=%q: use the SPA's absolute URL, e.g. https://app.example.com", c.AppURL)
	}
	for name, v := range map[string]string{"TENANTRY_DISPATCHER": c.Dispatcher, "TENANTRY_SCHEDULER": c.Scheduler} {
		if v != "on" && v != "off" {
			add("%s=%q: use on or off", name, v)
		}
	}
	if c.OutboxPollInterval < 10*time.Millisecond {
		add("TENANTRY_OUTBOX_POLL_INTERVAL=%s: poll at most every 10ms", c.OutboxPollInterval)
	}
	if c.OutboxBatchSize < 1 || c.OutboxBatchSize > 500 {
		add("TENANTRY_OUTBOX_BATCH_SIZE=%d: use 1 to 500", c.OutboxBatchSize)
	}
	if c.OutboxConcurrency < 1 || c.OutboxConcurrency > 64 {
		add("TENANTRY_OUTBOX_CONCURRENCY=%d: use 1 to 64", c.OutboxConcurrency)
	}
	// The handler gets half the lease; an SMTP exchange needs the SMTP timeout at least.
	if c.OutboxLease < 2*c.SMTPTimeout || c.OutboxLease < 10*time.Second {
		add("TENANTRY_OUTBOX_LEASE=%s: use at least 10s and twice TENANTRY_SMTP_TIMEOUT (%s)", c.OutboxLease, c.SMTPTimeout)
	}
	if c.OutboxMaxAttempts < 1 || c.OutboxMaxAttempts > 100 {
		add("TENANTRY_OUTBOX_MAX_ATTEMPTS=%d: use 1 to 100", c.OutboxMaxAttempts)
	}
	if c.OutboxBackoffBase <= 0 || c.OutboxBackoffCap < c.OutboxBackoffBase {
		add("TENANTRY_OUTBOX_BACKOFF_BASE (%s) must be positive and TENANTRY_OUTBOX_BACKOFF_CAP (%s) at least as large", c.OutboxBackoffBase, c.OutboxBackoffCap)
	}
	if c.OutboxRetention < time.Hour {
		add("TENANTRY_OUTBOX_RETENTION=%s: keep done entries at least 1h", c.OutboxRetention)
	}
	if c.OutboxMetricsInterval < time.Second {
		add("TENANTRY_OUTBOX_METRICS_INTERVAL=%s: refresh at most every second", c.OutboxMetricsInterval)
	}
	if c.DoctorWorkers < 1 || c.DoctorWorkers > 64 {
		add("TENANTRY_DOCTOR_WORKERS=%d: use 1 to 64", c.DoctorWorkers)
	}
	if _, err := jobs.ParseIntervals(c.JobIntervals); err != nil {
		add("TENANTRY_JOB_INTERVALS: %v", err)
	}
	return problems
}
