package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBillingValidation(t *testing.T) {
	t.Parallel()
	c, err := Load(map[string]string{"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_API_URL": "http://127.0.0.1:12111"})
	if err != nil || !c.StripeEnabled() || c.StripeTimeout != 20*time.Second {
		t.Fatalf("stripe-mock settings: %+v, %v", c, err)
	}
	for _, bad := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TENANTRY_STRIPE_TIMEOUT": "10ms"}, "TENANTRY_STRIPE_TIMEOUT"},
		{map[string]string{"STRIPE_SECRET_KEY": "sk_test_x", "TENANTRY_STRIPE_TIMEOUT": "1m"}, "TENANTRY_OUTBOX_LEASE"},
		{map[string]string{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod", "STRIPE_API_URL": "http://stripe.internal"}, "STRIPE_API_URL"},
	} {
		_, err := Load(bad.env)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want an error naming %s", bad.env, err, bad.want)
		}
	}
}

func TestStripeSecretsAreMaskedInLogs(t *testing.T) {
	t.Parallel()
	c, err := Load(map[string]string{"STRIPE_SECRET_KEY": "sk_test_SECRETKEY", "STRIPE_WEBHOOK_SECRET": "whsec_SECRETHOOK"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	if strings.Contains(buf.String(), "SECRETKEY") || strings.Contains(buf.String(), "SECRETHOOK") {
		t.Errorf("secrets in the log line: %s", buf.String())
	}
}
