//go:build soak

// Package soak is the load run behind `make soak` (issue 17): three `tenantry serve` replicas
// behind a round-robin balancer on 127.0.0.1, a mix of requests at concurrency 32 for
// SOAK_DURATION (default 3m, at most 10m) or SOAK_MAX_REQUESTS requests (default 100000), with
// faults injected on a schedule between the replicas and Firestore, stripe-mock and mailpit
// (internal/faults). At the end it waits for the outbox to drain and checks the invariants,
// runs `tenantry doctor`, counts emails and Stripe customers per intent, and prints a table. It
// fails when an invariant broke or a side effect was duplicated or lost.
//
// It is a test behind the soak build tag, so `make test` never runs it and it reuses testenv's
// helpers (users, mailpit, signed webhooks); run it with `make soak`.
package soak

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/faults"
	"github.com/tenantry/tenantry/internal/testenv"
)

const (
	concurrency = 32
	maxDuration = 10 * time.Minute
)

// limits reads SOAK_DURATION and SOAK_MAX_REQUESTS.
func limits(t *testing.T) (time.Duration, int) {
	t.Helper()
	d, n := 3*time.Minute, 100000
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 || d > maxDuration {
			t.Fatalf("SOAK_DURATION=%q: use a duration up to %s, e.g. 3m", v, maxDuration)
		}
	}
	if v := os.Getenv("SOAK_MAX_REQUESTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("SOAK_MAX_REQUESTS=%q: use a positive count", v)
		}
	}
	return d, n
}

func TestSoak(t *testing.T) {
	duration, maxRequests := limits(t)
	env := testenv.Require(t).IsolatedProject(t)
	rules, err := os.ReadFile("../../firestore.rules")
	if err != nil {
		t.Fatal(err)
	}
	env.SetRules(t, string(rules)) // the isolated project's only
	mock, mail := testenv.StripeMock(t), testenv.Mailpit(t)
	px, rec, err := faults.Around(env.FirestoreHost, mock.URL, mail.SMTPURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	t.Cleanup(px.Close)

	bin := buildTenantry(t)
	replicas := startReplicas(t, bin, serveEnv(env, mock, px), 3, logDir(t))
	base := startBalancer(t, replicas)
	w := &workload{
		t: t, env: env, api: testenv.GraphQL{URL: base}, base: base, stripe: mock, mail: mail,
		box: mail.NewMailbox(), staff: staffUser(t, env), fs: env.Firestore(t), st: newStats(),
		want: &intents{emails: map[string]string{}, maybe: map[string]bool{}},
		rng:  rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17)),
	}
	t.Logf("soak: project %s, replicas %v, balancer %s, mailbox @%s, for %s or %d requests", env.Project, replicas, base, w.box.Domain, duration, maxRequests)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); injectFaults(ctx, t, px) }()
	go func() { defer bg.Done(); expireTrials(ctx, bin, directEnv(env), w.st) }()
	var workers sync.WaitGroup
	for range concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for ctx.Err() == nil && w.st.requests() < maxRequests {
				w.pick().run(w)
			}
		}()
	}
	workers.Wait()
	cancel()
	bg.Wait()
	elapsed := time.Since(start)
	healAll(t, px)

	effects, doctor := w.verify(bin, rec)
	w.st.print(os.Stdout, elapsed, px.Injected(), effects, doctor)
	if n := len(w.st.problems); n > 0 {
		t.Errorf("%d invariants broken (listed above)", n)
	}
	for _, e := range effects {
		if e.dup > 0 || e.missed > 0 {
			t.Errorf("%s: %d duplicated, %d lost", e.name, e.dup, e.missed)
		}
	}
}

// logDir is SOAK_LOG_DIR when set (the replicas' logs are kept), else a temporary directory.
func logDir(t *testing.T) string {
	if d := os.Getenv("SOAK_LOG_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// directEnv is the environment of a tenantry command that talks to the soak's project directly,
// not through the fault proxies (the trial job, doctor).
func directEnv(env testenv.Env) []string {
	return append(os.Environ(), "GOOGLE_CLOUD_PROJECT="+env.Project, "FIRESTORE_EMULATOR_HOST="+env.FirestoreHost,
		"FIREBASE_AUTH_EMULATOR_HOST="+env.AuthHost, "TENANTRY_LOG_FORMAT=text", "TENANTRY_LOG_LEVEL=warn")
}

// serveEnv is the replicas' environment: the soak's project, every dependency through its fault
// proxy, and outbox retries quick enough that a 10-second outage is recovered within the run.
func serveEnv(env testenv.Env, mock testenv.StripeEnv, px *faults.Proxies) []string {
	return append(os.Environ(),
		"GOOGLE_CLOUD_PROJECT="+env.Project,
		"FIRESTORE_EMULATOR_HOST="+px.Addr("firestore"),
		"FIREBASE_AUTH_EMULATOR_HOST="+env.AuthHost,
		"STRIPE_API_URL=http://"+px.Addr("stripe"),
		"STRIPE_SECRET_KEY="+mock.SecretKey,
		"STRIPE_WEBHOOK_SECRET="+mock.WebhookSecret,
		"SMTP_URL=smtp://"+px.Addr("smtp"),
		"TENANTRY_STRIPE_TIMEOUT=3s", "TENANTRY_SMTP_TIMEOUT=3s",
		"TENANTRY_OUTBOX_POLL_INTERVAL=250ms", "TENANTRY_OUTBOX_BACKOFF_BASE=250ms", "TENANTRY_OUTBOX_BACKOFF_CAP=3s",
		"TENANTRY_OUTBOX_MAX_ATTEMPTS=100", "TENANTRY_PROVISION_BURST=1000", "TENANTRY_PROVISION_INTERVAL=10ms",
		"TENANTRY_LOG_FORMAT=text", "TENANTRY_LOG_LEVEL=warn",
	)
}
