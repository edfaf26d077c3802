package config

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/tenantry/tenantry/internal/auth"
)

// AuthEmulator reports whether tokens and blocking-function events come from the Auth emulator:
// only then are unsigned ones accepted. Trust follows the emulator variable, never TENANTRY_ENV:
// without it Tenantry verifies as in production, in any environment.
func (c Config) AuthEmulator() bool { return c.AuthEmulatorHost != "" }

// StaffPolicy is TENANTRY_STAFF_DOMAINS as the server and the admin command apply it.
func (c Config) StaffPolicy() (auth.StaffPolicy, error) {
	return auth.NewStaffPolicy(c.StaffDomains)
}

// BlockingFunctionsServed reports whether POST /auth/beforeCreate and /auth/beforeSignIn are
// mounted: with the Auth emulator, or when TENANTRY_PUBLIC_URL says which audience Google's
// event tokens carry. Without either, no event could be verified, so none is accepted.
func (c Config) BlockingFunctionsServed() bool { return c.AuthEmulator() || c.PublicURL != "" }

// ValidateServe adds what `tenantry serve` needs beyond Validate (jobs, admin commands and the
// Cloud Functions serve no HTTP and do not need it): in production the blocking functions must be
// served, or a deployment that registered them with Identity Platform would fail every signup,
// so TENANTRY_PUBLIC_URL is required there.
func (c Config) ValidateServe() error {
	if c.Env == Production && c.PublicURL == "" {
		return errors.New("TENANTRY_PUBLIC_URL is unset: production serves the Identity Platform blocking functions, whose event tokens are addressed to <TENANTRY_PUBLIC_URL>/auth/beforeCreate; set it to the base URL Identity Platform calls, e.g. https://api.example.com")
	}
	return nil
}

// validateIdentity checks the settings that decide whom Tenantry trusts.
func (c Config) validateIdentity() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.AuthEmulatorHost != "" && c.FirestoreEmulatorHost == "" {
		add("FIREBASE_AUTH_EMULATOR_HOST is set but FIRESTORE_EMULATOR_HOST is not: anyone can mint the Auth emulator's unsigned tokens, and they would act on real Firestore data; set both (local work) or neither")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			add("TENANTRY_PUBLIC_URL=%q: use the absolute base URL Identity Platform calls, e.g. https://api.example.com", c.PublicURL)
		}
	}
	if _, err := c.StaffPolicy(); err != nil {
		add("TENANTRY_STAFF_DOMAINS: %v", err)
	}
	return problems
}
