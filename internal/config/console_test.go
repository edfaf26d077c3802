package config

import (
	"strings"
	"testing"
)

// The sales console's Firebase configuration follows the project, the Auth emulator and the two
// TENANTRY_FIREBASE_* settings.
func TestFirebaseWebConfig(t *testing.T) {
	t.Parallel()
	emulators := map[string]string{"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099", "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8181"}
	prod := map[string]string{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod", "TENANTRY_PUBLIC_URL": "https://api.acme.example"}
	for _, c := range []struct {
		name string
		env  map[string]string
		want FirebaseWeb
	}{
		{"the emulator: any key works there", emulators, FirebaseWeb{ProjectID: "demo-tenantry", APIKey: localAPIKey, AuthEmulatorURL: "http://127.0.0.1:9099"}},
		{"production without a key: sign-in is not configured", prod, FirebaseWeb{ProjectID: "acme-prod"}},
		{"production with a key: Firebase's default auth domain", with(prod, "TENANTRY_FIREBASE_API_KEY", "AIzaSyExample"), FirebaseWeb{ProjectID: "acme-prod", APIKey: "AIzaSyExample", AuthDomain: "acme-prod.firebaseapp.com"}},
		{"production with a custom auth domain", with(with(prod, "TENANTRY_FIREBASE_API_KEY", "AIzaSyExample"), "TENANTRY_FIREBASE_AUTH_DOMAIN", "login.acme.example"), FirebaseWeb{ProjectID: "acme-prod", APIKey: "AIzaSyExample", AuthDomain: "login.acme.example"}},
	} {
		cfg, err := Load(c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := cfg.FirebaseWeb(); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}

	for _, bad := range []struct{ key, value string }{
		{"TENANTRY_FIREBASE_AUTH_DOMAIN", "https://acme-prod.firebaseapp.com"},
		{"TENANTRY_FIREBASE_AUTH_DOMAIN", "acme-prod.firebaseapp.com:443"},
		{"TENANTRY_FIREBASE_API_KEY", `"AIzaSyExample"`},
	} {
		_, err := Load(map[string]string{bad.key: bad.value})
		if err == nil || !strings.Contains(err.Error(), bad.key) {
			t.Errorf("%s=%s: %v, want an error naming the setting", bad.key, bad.value, err)
		}
	}
}
