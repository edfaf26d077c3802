// Package faults_test proves what Tenantry guarantees while its dependencies misbehave: a Tenantry
// runs in-process against the local emulators, stripe-mock and mailpit, each reached through a
// toxiproxy (internal/faults) that the test slows, resets, stalls or takes down, and stripe-mock
// behind a recorder that counts what Stripe was asked to do.
//
// Each test has a Firestore project of its own (testenv.IsolatedProject), with its users in the
// Auth emulator under that project, because the dispatcher it runs claims every due outbox entry
// of its project. The tests change FIRESTORE_EMULATOR_HOST while a server starts, so they do not
// run in parallel.
package faults_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/faults"
	"github.com/tenantry/tenantry/internal/testenv"
)

// stack is one Tenantry under test with its fault proxies.
type stack struct {
	env    testenv.Env // the test's own project
	px     *faults.Proxies
	stripe *faults.StripeRecorder
	api    testenv.GraphQL
	fs     *firestore.Client // the test's own client, straight to the emulator
	app    *app.App
}

// newStack starts the proxies (firestore, stripe, smtp), and a Tenantry with its dispatcher,
// configured through them, until the test ends.
func newStack(t *testing.T) *stack {
	t.Helper()
	env := testenv.Require(t).IsolatedProject(t)
	mock := testenv.StripeMock(t)
	px, rec, err := faults.Around(env.FirestoreHost, mock.URL, testenv.Mailpit(t).SMTPURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	t.Cleanup(px.Close)
	s := &stack{env: env, px: px, stripe: rec, fs: env.Firestore(t)}
	s.app = startApp(t, s.config(t), px.Addr("firestore"))
	hs := httptest.NewServer(s.app.Handler())
	t.Cleanup(hs.Close)
	s.api = testenv.GraphQL{URL: hs.URL}
	return s
}

// config is the stack's configuration pointed at the proxies, with retries fast enough for a test.
func (s *stack) config(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Project = s.env.Project
	cfg.StripeAPIURL = "http://" + s.px.Addr("stripe")
	cfg.SMTPURL = "smtp://" + s.px.Addr("smtp")
	cfg.StripeTimeout, cfg.SMTPTimeout = 2*time.Second, 2*time.Second
	cfg.OutboxPollInterval = 50 * time.Millisecond
	cfg.OutboxBackoffBase, cfg.OutboxBackoffCap = 20*time.Millisecond, 200*time.Millisecond
	cfg.OutboxMaxAttempts = 100
	cfg.Scheduler = "off"
	return cfg
}

// startApp wires Tenantry with its Firestore client on firestoreAddr (the SDK reads the address
// from FIRESTORE_EMULATOR_HOST when the client is made, and only then), and starts its dispatcher.
func startApp(t *testing.T, cfg config.Config, firestoreAddr string) *app.App {
	t.Helper()
	t.Setenv("FIRESTORE_EMULATOR_HOST", firestoreAddr)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TENANTRY_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a, err := app.New(context.Background(), cfg, app.Options{Logger: logger})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := a.StartBackground(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		wait(5 * time.Second)
		_ = a.Close()
	})
	return a
}

// owner is a verified user of the stack's project.
func (s *stack) owner(t *testing.T, email string) testenv.User {
	t.Helper()
	return s.env.NewProjectUser(t, testenv.UserOptions{Email: email, EmailVerified: true})
}

// eventually polls cond every 50ms until it holds, or fails the test after timeout with what.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// doc reads a document of the stack's project (nil when absent).
func (s *stack) doc(t *testing.T, path string) map[string]any {
	t.Helper()
	snap, err := s.fs.Doc(path).Get(context.Background())
	if err != nil {
		if !snap.Exists() {
			return nil
		}
		t.Fatalf("read %s: %v", path, err)
	}
	return snap.Data()
}
