package config

import (
	"fmt"
	"net"
	"strings"
)

// FirebaseWeb is the Firebase web configuration a browser page signs in with: what the sales
// console at /playground fetches from /playground/config.json. Nothing in it is secret: a Web API
// key only identifies the project to Firebase Auth.
type FirebaseWeb struct {
	ProjectID  string
	APIKey     string
	AuthDomain string
	// AuthEmulatorURL is the Auth emulator's base URL (http://host:port) when
	// FIREBASE_AUTH_EMULATOR_HOST is set, else "".
	AuthEmulatorURL string
}

// localAPIKey is the API key the console uses against the Auth emulator, which accepts any key.
const localAPIKey = "local-emulator-key"

// FirebaseWeb builds the console's Firebase configuration from GOOGLE_CLOUD_PROJECT, the Auth
// emulator host and TENANTRY_FIREBASE_API_KEY / TENANTRY_FIREBASE_AUTH_DOMAIN. The auth domain
// defaults to Firebase's <project>.firebaseapp.com once an API key is set.
func (c Config) FirebaseWeb() FirebaseWeb {
	w := FirebaseWeb{ProjectID: c.Project, APIKey: c.FirebaseAPIKey, AuthDomain: c.FirebaseAuthDomain}
	if c.AuthEmulatorHost != "" {
		w.AuthEmulatorURL = "http://" + c.AuthEmulatorHost
		if w.APIKey == "" {
			w.APIKey = localAPIKey
		}
	}
	if w.AuthDomain == "" && c.FirebaseAPIKey != "" {
		w.AuthDomain = c.Project + ".firebaseapp.com"
	}
	return w
}

// validateConsole checks the console's Firebase settings.
func (c Config) validateConsole() []error {
	var problems []error
	if d := c.FirebaseAuthDomain; d != "" {
		if strings.Contains(d, "/") || strings.Contains(d, ":") || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
			problems = append(problems, fmt.Errorf("TENANTRY_FIREBASE_AUTH_DOMAIN=%q: use the host name alone, e.g. your-project.firebaseapp.com (no scheme, port or path)", d))
		}
	}
	if k := c.FirebaseAPIKey; k != "" && strings.ContainsAny(k, " \t\n\"'<>") {
		problems = append(problems, fmt.Errorf("TENANTRY_FIREBASE_API_KEY: not a Web API key (it has spaces or quotes); copy it from the Firebase console, Project settings"))
	}
	return problems
}
