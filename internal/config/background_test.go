package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBackgroundDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(map[string]string{})
	if err != nil {
		t.Fatalf("defaults are invalid: %v", err)
	}
	if !c.DispatcherOn() || !c.SchedulerOn() || c.MailFrom != "Tenantry <no-reply@tenantry.local>" || c.AppURL != "http://localhost:5173" ||
		c.OutboxMaxAttempts != 8 || c.OutboxBackoffBase != 2*time.Second || c.OutboxBackoffCap != 10*time.Minute ||
		len(c.Intervals()) != 0 {
		t.Errorf("unexpected defaults: %+v", c)
	}
	c, err = Load(map[string]string{"TENANTRY_DISPATCHER": "off", "TENANTRY_JOB_INTERVALS": "outbox=5s,expire-trials=24h,expire-invitations=off"})
	if err != nil || c.DispatcherOn() || c.Intervals()["expire-trials"] != 24*time.Hour || c.Intervals()["expire-invitations"] != 0 {
		t.Errorf("overrides: %+v, %v", c.Intervals(), err)
	}
}

func TestBackgroundValidation(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]string{
		"SMTP_URL=http://mail:25":              "SMTP_URL",
		"TENANTRY_SMTP_STARTTLS=sometimes":     "TENANTRY_SMTP_STARTTLS",
		"TENANTRY_MAIL_FROM=nobody":            "TENANTRY_MAIL_FROM",
		"TENANTRY_APP_URL=localhost:5173":      "TENANTRY_APP_URL",
		"TENANTRY_DISPATCHER=yes":              "TENANTRY_DISPATCHER",
		"TENANTRY_SCHEDULER=1":                 "TENANTRY_SCHEDULER",
		"TENANTRY_OUTBOX_LEASE=5s":             "TENANTRY_OUTBOX_LEASE",
		"TENANTRY_OUTBOX_MAX_ATTEMPTS=0":       "TENANTRY_OUTBOX_MAX_ATTEMPTS",
		"TENANTRY_OUTBOX_BACKOFF_CAP=1s":       "TENANTRY_OUTBOX_BACKOFF_BASE",
		"TENANTRY_OUTBOX_BATCH_SIZE=1000":      "TENANTRY_OUTBOX_BATCH_SIZE",
		"TENANTRY_JOB_INTERVALS=outbox":        "TENANTRY_JOB_INTERVALS",
		"TENANTRY_OUTBOX_METRICS_INTERVAL=1ms": "TENANTRY_OUTBOX_METRICS_INTERVAL",
		"TENANTRY_OUTBOX_POLL_INTERVAL=1ms":    "TENANTRY_OUTBOX_POLL_INTERVAL",
		"TENANTRY_OUTBOX_CONCURRENCY=0":        "TENANTRY_OUTBOX_CONCURRENCY",
		"TENANTRY_SMTP_TIMEOUT=10ms":           "TENANTRY_SMTP_TIMEOUT",
		"TENANTRY_OUTBOX_RETENTION=1m":         "TENANTRY_OUTBOX_RETENTION",
		"TENANTRY_DOCTOR_WORKERS=0":            "TENANTRY_DOCTOR_WORKERS",
	} {
		k, v, _ := strings.Cut(env, "=")
		_, err := Load(map[string]string{k: v})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", env, err, want)
		}
	}
}

func TestLogValueMasksTheSMTPPassword(t *testing.T) {
	t.Parallel()
	c, err := Load(map[string]string{"SMTP_URL": "smtps://mailer:hunter2@smtp.example.com:465"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", "config", c)
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), "mailer@smtp.example.com") {
		t.Errorf("logged config: %s", buf.String())
	}
}
