package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
)

func TestProductionRefusesEmulators(t *testing.T) {
	t.Parallel()
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name  string
		env   map[string]string
		names []string
	}{
		{"firestore emulator", base(map[string]string{"FIRESTORE_EMULATOR_HOST": "127.0.0.1:8181"}), []string{"FIRESTORE_EMULATOR_HOST"}},
		{"auth emulator", base(map[string]string{"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}), []string{"FIREBASE_AUTH_EMULATOR_HOST"}},
		{"both", base(map[string]string{"FIRESTORE_EMULATOR_HOST": "127.0.0.1:8181", "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}),
			[]string{"FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Load(c.env)
			if err == nil {
				t.Fatal("production config with an emulator variable loaded, want an error")
			}
			msg := err.Error()
			for _, name := range c.names {
				if !strings.Contains(msg, name) || !strings.Contains(msg, "unset "+name) {
					t.Errorf("error does not name %s and tell to unset it: %q", name, msg)
				}
			}
		})
	}

	t.Run("demo project", func(t *testing.T) {
		_, err := config.Load(map[string]string{"TENANTRY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "demo-tenantry"})
		if err == nil || !strings.Contains(err.Error(), "GOOGLE_CLOUD_PROJECT") {
			t.Errorf("production with a demo- project: err = %v, want one naming GOOGLE_CLOUD_PROJECT", err)
		}
	})

	t.Run("clean production config", func(t *testing.T) {
		cfg, err := config.Load(base(nil))
		if err != nil {
			t.Fatalf("clean production config: %v", err)
		}
		if cfg.Env != config.Production || cfg.Project != "acme-prod" || cfg.FirestoreEmulatorHost != "" || cfg.AuthEmulatorHost != "" {
			t.Errorf("loaded %+v", cfg)
		}
		if cfg.IntrospectionEnabled() {
			t.Error("introspection is on by default in production")
		}
	})
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

// tenantryBinary builds ./cmd/tenantry once per package run.
func tenantryBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tenantry-bin-")
		if err != nil {
			binErr = err
			return
		}
		closersMu.Lock()
		closers = append(closers, func() { _ = os.RemoveAll(dir) })
		closersMu.Unlock()
		// ".." is the module root: go test runs in the package directory.
		binPath, binOut, binErr = testenv.BuildTenantry(dir, "..")
	})
	if binErr != nil {
		t.Fatalf("go build ./cmd/tenantry: %v\n%s", binErr, binOut)
	}
	return binPath
}

func TestServeRefusesEmulatorsInProduction(t *testing.T) {
	t.Parallel()
	bin := tenantryBinary(t)

	for _, c := range []struct{ name, set, want string }{
		{"FIRESTORE_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST=127.0.0.1:8181", "unset FIRESTORE_EMULATOR_HOST"},
		{"FIREBASE_AUTH_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:8181", "unset FIREBASE_AUTH_EMULATOR_HOST"},
		{"STORAGE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST=127.0.0.1:9199", "unset STORAGE_EMULATOR_HOST"},
		// The blocking functions' event tokens are addressed to URLs under it.
		{"no TENANTRY_PUBLIC_URL", "TENANTRY_PUBLIC_URL=", "TENANTRY_PUBLIC_URL is unset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var env []string
			for _, kv := range os.Environ() {
				k, _, _ := strings.Cut(kv, "=")
				switch k {
				case "FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT",
					"TENANTRY_ENV", "PORT", "HOST", "TENANTRY_PUBLIC_URL", "STRIPE_API_URL",
					"STORAGE_EMULATOR_HOST", "TENANTRY_EXPORT_BUCKET":
					continue
				}
				env = append(env, kv)
			}
			env = append(env, "TENANTRY_ENV=production", "GOOGLE_CLOUD_PROJECT=acme-prod", "TENANTRY_PUBLIC_URL=https://api.acme.example",
				c.set, "HOST=127.0.0.1", "PORT="+strconv.Itoa(testenv.FreePort(t)))

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve")
			cmd.Env = env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			t.Logf("tenantry serve exited: %v", err)

			// Not a timing check: a serve that did not refuse would run until killed.
			if ctx.Err() != nil {
				t.Fatalf("tenantry serve was still running after 10s, so it did not refuse to start; stderr:\n%s", stderr.String())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("tenantry serve: err %v, want a non-zero exit; stderr:\n%s", err, stderr.String())
			}
			if msg := stderr.String(); !strings.Contains(msg, c.want) {
				t.Errorf("stderr does not say %q:\n%s", c.want, msg)
			}
		})
	}
}
