package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
)

// cliEnv points the CLI at a Firestore project of the test's own and at mailpit.
func cliEnv(t *testing.T) (testenv.Env, testenv.Mailbox, *store.OutboxStore) {
	t.Helper()
	env := testenv.Require(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	t.Setenv("GOOGLE_CLOUD_PROJECT", env.Project)
	t.Setenv("SMTP_URL", mp.SMTPURL)
	t.Setenv("TENANTRY_LOG_LEVEL", "error")
	return env, mp.NewMailbox(), store.New(env.Firestore(t)).Outbox()
}

func enqueueWelcome(t *testing.T, ob *store.OutboxStore, box testenv.Mailbox, n int) {
	t.Helper()
	for i := range n {
		id := testenv.UniqueID("t")
		if err := ob.Enqueue(context.Background(), kinds.ID(kinds.WelcomeEmail{}, id), kinds.WelcomeEmail{}.Kind(), id,
			map[string]any{"to": box.Address(fmt.Sprintf("cli%d", i)), "organizationName": "CLI Org"}, clock.System{}.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestJobsCLI(t *testing.T) {
	_, box, ob := cliEnv(t)
	enqueueWelcome(t, ob, box, 3)
	ctx := context.Background()

	code, out, errs := runCLI("jobs", "list")
	if code != 0 {
		t.Fatalf("jobs list: exit %d: %s", code, errs)
	}
	for _, name := range []string{"outbox", "purge-idempotency-records", "expire-trials"} {
		if !strings.Contains(out, name) {
			t.Errorf("jobs list does not show %s:\n%s", name, out)
		}
	}

	code, out, errs = runCLI("jobs", "run", "outbox")
	if code != 0 || !strings.Contains(out, "outbox: claimed 3, done 3") || !strings.Contains(out, "outbox: done in") {
		t.Fatalf("jobs run outbox: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if n := len(box.WaitFor(3, 10*time.Second)); n != 3 {
		t.Errorf("%d emails, want 3", n)
	}

	// A dead-lettered entry, as a dispatcher would leave it.
	if err := ob.Enqueue(ctx, "email.welcome-dead", kinds.WelcomeEmail{}.Kind(), "dead", map[string]any{"to": "not an address", "organizationName": "X"}, clock.System{}.Now()); err != nil {
		t.Fatal(err)
	}
	if code, out, errs = runCLI("jobs", "run", "outbox"); code != 0 || !strings.Contains(out, "dead-lettered 1") {
		t.Fatalf("jobs run outbox: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI("jobs", "outbox-status")
	if code != 0 || !strings.Contains(out, "outbox: pending 0, done 3, dead 1") || !strings.Contains(out, "email.welcome-dead") ||
		!strings.Contains(out, "not an email address") {
		t.Fatalf("jobs outbox-status: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if code, out, errs = runCLI("jobs", "outbox-retry", "email.welcome-dead"); code != 0 || !strings.Contains(out, "is pending again") {
		t.Fatalf("jobs outbox-retry: exit %d\n%s\n%s", code, out, errs)
	}
	if e, err := ob.Get(ctx, "email.welcome-dead"); err != nil || e.State != outbox.StatePending || e.Attempts != 0 {
		t.Errorf("after outbox-retry: %+v, %v", e, err)
	}
	if code, _, errs = runCLI("jobs", "outbox-retry", "email.welcome-dead"); code != 1 || !strings.Contains(errs, "not dead") {
		t.Errorf("retrying a pending entry: exit %d, %s", code, errs)
	}
	if code, _, errs = runCLI("jobs", "outbox-retry", "no-such-entry"); code != 1 || !strings.Contains(errs, "no outbox entry") {
		t.Errorf("retrying a missing entry: exit %d, %s", code, errs)
	}
	if code, _, errs = runCLI("jobs", "run", "nope"); code != 2 || !strings.Contains(errs, `no job named "nope"`) {
		t.Errorf("unknown job: exit %d, %s", code, errs)
	}
	if code, out, errs = runCLI("jobs", "run", "purge-idempotency-records"); code != 0 || !strings.Contains(out, "deleted 0 expired idempotency records") {
		t.Errorf("jobs run purge-idempotency-records: exit %d\n%s\n%s", code, out, errs)
	}
}

// The built binary, as an operator runs it: `jobs run outbox --loop` delivers what arrives and
// stops cleanly on SIGINT.
func TestJobsRunOutboxLoopBinary(t *testing.T) {
	_, box, ob := cliEnv(t)
	bin := filepath.Join(t.TempDir(), "tenantry")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "jobs", "run", "outbox", "--loop", "--interval", "100ms")
	cmd.Env = os.Environ()
	var stdout, stderr testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("stderr of the loop:\n%s", stderr.String())
		}
	})

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), "running every"); {
		select {
		case err := <-exited:
			t.Fatalf("the loop exited at once (%v): %s", err, stdout.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the loop did not start: %s", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	enqueueWelcome(t, ob, box, 2) // arrives while the loop runs
	box.WaitFor(2, 15*time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the loop exited with %v after SIGINT\n%s", err, stdout.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not stop within 10s of SIGINT")
	}
	out := stdout.String()
	if !strings.Contains(out, "done 1") && !strings.Contains(out, "done 2") || !strings.Contains(out, "outbox: stopped after") {
		t.Errorf("loop output:\n%s", out)
	}
	// Whatever run the signal interrupted recorded its outcome before the process exited.
	st, err := outbox.NewDispatcher(ob, clock.System{}, outbox.Config{}).Status(context.Background(), 0)
	if err != nil || st.Counts[outbox.StateDone] != 2 || st.Counts[outbox.StatePending] != 0 {
		t.Errorf("outbox after the loop: %v, %v; want both entries done", st.Counts, err)
	}
}
