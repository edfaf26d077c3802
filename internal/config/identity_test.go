package config

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// Trust follows the emulator variable, never TENANTRY_ENV.
func TestIdentitySettings(t *testing.T) {
	t.Parallel()
	const authEmu, fsEmu = "127.0.0.1:9099", "127.0.0.1:8181"
	prod := map[string]string{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"}
	for _, c := range []struct {
		name     string
		env      map[string]string
		emulator bool
		blocking bool
	}{
		{"development without emulators verifies as production", map[string]string{}, false, false},
		{"development with TENANTRY_PUBLIC_URL", map[string]string{"TENANTRY_PUBLIC_URL": "https://api.example.com"}, false, true},
		{"the emulators", map[string]string{"FIREBASE_AUTH_EMULATOR_HOST": authEmu, "FIRESTORE_EMULATOR_HOST": fsEmu}, true, true},
		{"production", with(prod, "TENANTRY_PUBLIC_URL", "https://api.example.com"), false, true},
	} {
		cfg, err := Load(c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cfg.AuthEmulator() != c.emulator || cfg.BlockingFunctionsServed() != c.blocking {
			t.Errorf("%s: emulator %v, blocking functions served %v; want %v, %v", c.name, cfg.AuthEmulator(), cfg.BlockingFunctionsServed(), c.emulator, c.blocking)
		}
	}

	for _, bad := range []struct {
		env  map[string]string
		want string
	}{
		// Unsigned emulator tokens must never act on real data.
		{map[string]string{"FIREBASE_AUTH_EMULATOR_HOST": authEmu}, "FIREBASE_AUTH_EMULATOR_HOST is set but FIRESTORE_EMULATOR_HOST is not"},
		{map[string]string{"TENANTRY_PUBLIC_URL": "api.example.com"}, "TENANTRY_PUBLIC_URL"},
		{map[string]string{"TENANTRY_STAFF_DOMAINS": "acme.com,not a domain"}, "TENANTRY_STAFF_DOMAINS"},
		{map[string]string{"TENANTRY_STAFF_DOMAINS": "ada@acme.com"}, "TENANTRY_STAFF_DOMAINS"},
	} {
		if _, err := Load(bad.env); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want an error with %q", bad.env, err, bad.want)
		}
	}

	cfg, err := Load(map[string]string{"TENANTRY_STAFF_DOMAINS": " Acme.COM, @acme.example ,"})
	if err != nil {
		t.Fatal(err)
	}
	staff, err := cfg.StaffPolicy()
	if err != nil || !slices.Equal(staff.Domains(), []string{"acme.com", "acme.example"}) {
		t.Errorf("staff domains %v, %v", staff.Domains(), err)
	}
}

// `tenantry serve` in production needs TENANTRY_PUBLIC_URL, the blocking functions' audience; the
// other commands do not serve them and do not need it.
func TestValidateServe(t *testing.T) {
	t.Parallel()
	prod := map[string]string{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"}
	cfg, err := Load(prod)
	if err != nil {
		t.Fatalf("production without TENANTRY_PUBLIC_URL must load (jobs, admin commands): %v", err)
	}
	if err := cfg.ValidateServe(); err == nil || !strings.Contains(err.Error(), "TENANTRY_PUBLIC_URL") {
		t.Errorf("serve in production without TENANTRY_PUBLIC_URL: %v, want an error naming it", err)
	}
	cfg.PublicURL = "https://api.example.com"
	if err := cfg.ValidateServe(); err != nil {
		t.Errorf("serve in production with TENANTRY_PUBLIC_URL: %v", err)
	}
	dev, _ := Load(map[string]string{})
	if err := dev.ValidateServe(); err != nil {
		t.Errorf("serve in development: %v", err)
	}
}

// with is a copy of env with one more variable.
func with(env map[string]string, k, v string) map[string]string {
	out := maps.Clone(env)
	out[k] = v
	return out
}
