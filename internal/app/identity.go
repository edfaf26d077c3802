package app

import (
	"net/http"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/identity"
	"github.com/tenantry/tenantry/internal/server"
)

// identityWiring is whom the server trusts and how it checks them.
type identityWiring struct {
	verifier server.TokenVerifier
	emulator bool
	keys     identity.KeySource // Google's securetoken certificates: ID tokens and blocking events
	users    identity.AuthUsers
	staff    auth.StaffPolicy
}

// wireIdentity decides trust from FIREBASE_AUTH_EMULATOR_HOST alone (config.AuthEmulator), never
// from TENANTRY_ENV. With the emulator, the Admin SDK verifies ID tokens: it checks no signature
// but asks the emulator about the user on every call, and the server takes only the emulator's
// unsigned tokens. Without it, identity.IDTokens verifies Google's signatures and asks Firebase
// Auth (users) when the server rechecks a token.
func wireIdentity(cfg config.Config, users *fbauth.Client, opts Options) (identityWiring, error) {
	staff, err := cfg.StaffPolicy()
	if err != nil {
		return identityWiring{}, err
	}
	w := identityWiring{emulator: cfg.AuthEmulator(), keys: &identity.GoogleKeys{URL: opts.GoogleCertsURL}, users: users, staff: staff}
	if w.emulator {
		w.verifier = users
	} else {
		w.verifier = identity.NewIDTokens(identity.IDTokenConfig{Project: cfg.Project, Keys: w.keys, Users: users})
	}
	return w, nil
}

// blocking builds the blocking functions' endpoints, or nil when they are not served
// (config.BlockingFunctionsServed).
func (w identityWiring) blocking(cfg config.Config, signup identity.Signup) *identity.Blocking {
	if !cfg.BlockingFunctionsServed() {
		return nil
	}
	return identity.NewBlocking(identity.BlockingConfig{
		Project: cfg.Project, PublicURL: cfg.PublicURL, Emulator: w.emulator, Users: w.users, Keys: w.keys,
	}, signup)
}

// blockingHandler serves one blocking function; nil (not mounted) when b is.
func blockingHandler(b *identity.Blocking, event identity.Event) http.Handler {
	if b == nil {
		return nil
	}
	return b.Handler(event)
}
