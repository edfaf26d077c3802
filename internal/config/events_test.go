package config

import (
	"strings"
	"testing"
)

const goodEventsSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestEventsSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(map[string]string{})
	if err != nil || c.EventsEnabled() {
		t.Fatalf("defaults: events enabled %v (%v); want off without TENANTRY_EVENTS_URL", c.EventsEnabled(), err)
	}
	c, err = Load(map[string]string{"TENANTRY_EVENTS_URL": "https://app.example.com/hooks?token=tok_secret", "TENANTRY_EVENTS_SECRET": goodEventsSecret})
	if err != nil || !c.EventsEnabled() {
		t.Fatalf("a URL and a secret: enabled %v (%v)", c.EventsEnabled(), err)
	}
	if logged := c.LogValue().String(); strings.Contains(logged, "LaSw") || strings.Contains(logged, "tok_secret") {
		t.Errorf("the start-up log shows the secret or the URL's token: %s", logged)
	}
	for _, bad := range []map[string]string{
		{"TENANTRY_EVENTS_URL": "https://app.example.com/hooks"},                                                  // no secret
		{"TENANTRY_EVENTS_URL": "https://app.example.com/hooks", "TENANTRY_EVENTS_SECRET": "MfKQ9r8GKYqrTwjUPD8"}, // no whsec_
		{"TENANTRY_EVENTS_URL": "https://app.example.com/hooks", "TENANTRY_EVENTS_SECRET": "whsec_%%%notbase64"},
		{"TENANTRY_EVENTS_URL": "https://app.example.com/hooks", "TENANTRY_EVENTS_SECRET": "whsec_c2hvcnQ="}, // 5 bytes
		{"TENANTRY_EVENTS_URL": "/hooks", "TENANTRY_EVENTS_SECRET": goodEventsSecret},
		{"TENANTRY_EVENTS_URL": "ftp://app.example.com/hooks", "TENANTRY_EVENTS_SECRET": goodEventsSecret},
		{"TENANTRY_EVENTS_URL": "https://app.example.com/hooks", "TENANTRY_EVENTS_SECRET": goodEventsSecret, "TENANTRY_EVENTS_TIMEOUT": "10m"},
		{"TENANTRY_EVENTS_SECRET": goodEventsSecret}, // a secret for no URL
		{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme", "TENANTRY_EVENTS_URL": "http://app.example.com/hooks", "TENANTRY_EVENTS_SECRET": goodEventsSecret},
	} {
		_, err := Load(bad)
		if err == nil || !strings.Contains(err.Error(), "TENANTRY_EVENTS_") {
			t.Errorf("%v: %v, want an error naming the setting", bad, err)
			continue
		}
		if s := bad["TENANTRY_EVENTS_SECRET"]; s != "" && strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}
