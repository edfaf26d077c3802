package config

import (
	"strings"
	"testing"
	"time"
)

func TestExportSettings(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", MinExportSigningKey)
	cfg, err := Load(map[string]string{})
	if err != nil || cfg.ExportsEnabled() || cfg.ExportLinkTTL != 24*time.Hour || cfg.ExportBaseURL() != "http://127.0.0.1:8080" {
		t.Fatalf("defaults: enabled %v, TTL %s, base %s, %v", cfg.ExportsEnabled(), cfg.ExportLinkTTL, cfg.ExportBaseURL(), err)
	}
	prod := map[string]string{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod", "TENANTRY_EXPORT_BUCKET": "acme-exports"}
	for _, bad := range []struct {
		env  map[string]string
		want string
	}{
		{prod, "TENANTRY_EXPORT_SIGNING_KEY"},
		{with(with(prod, "TENANTRY_EXPORT_SIGNING_KEY", key), "STORAGE_EMULATOR_HOST", "127.0.0.1:9199"), "STORAGE_EMULATOR_HOST"},
		{map[string]string{"TENANTRY_EXPORT_BUCKET": "Not A Bucket"}, "TENANTRY_EXPORT_BUCKET"},
		{map[string]string{"TENANTRY_EXPORT_SIGNING_KEY": "short"}, "too short"},
		{map[string]string{"TENANTRY_EXPORT_LINK_TTL": "1m"}, "TENANTRY_EXPORT_LINK_TTL"},
		{map[string]string{"TENANTRY_EXPORT_LINK_TTL": "720h"}, "TENANTRY_EXPORT_LINK_TTL"},
		{map[string]string{"STORAGE_EMULATOR_HOST": "localhost"}, "STORAGE_EMULATOR_HOST"},
	} {
		_, err := Load(bad.env)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want an error naming %s", bad.env, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%v: the error repeats the signing key", bad.env)
		}
	}
	cfg, err = Load(with(with(prod, "TENANTRY_EXPORT_SIGNING_KEY", key), "TENANTRY_PUBLIC_URL", "https://api.acme.example"))
	if err != nil || !cfg.ExportsEnabled() || cfg.ExportBaseURL() != "https://api.acme.example" {
		t.Errorf("production with bucket and key: enabled %v, base %s, %v", cfg.ExportsEnabled(), cfg.ExportBaseURL(), err)
	}
}
