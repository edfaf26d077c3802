//go:build soak

package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/faults"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/store"
)

// fault is one entry of the schedule: on for hold, then off.
type fault struct {
	on   func(px *faults.Proxies) error
	off  func(px *faults.Proxies) error
	hold time.Duration
}

var schedule = []fault{
	{func(px *faults.Proxies) error { return px.Latency("firestore", 150*time.Millisecond) }, clear("firestore"), 5 * time.Second},
	{func(px *faults.Proxies) error { return px.ResetAnswers("stripe") }, clear("stripe"), 5 * time.Second},
	{func(px *faults.Proxies) error { px.Down("smtp"); return nil }, up("smtp"), 10 * time.Second},
	{func(px *faults.Proxies) error { return px.Stall("firestore", 2*time.Second) }, clear("firestore"), 3 * time.Second},
	{func(px *faults.Proxies) error { px.Down("stripe"); return nil }, up("stripe"), 10 * time.Second},
	{func(px *faults.Proxies) error { return px.Latency("smtp", time.Second) }, clear("smtp"), 5 * time.Second},
}

func clear(name string) func(*faults.Proxies) error {
	return func(px *faults.Proxies) error { px.Clear(name); return nil }
}

func up(name string) func(*faults.Proxies) error {
	return func(px *faults.Proxies) error { return px.Up(name) }
}

// injectFaults runs the schedule round and round, 5 seconds apart, until ctx ends.
func injectFaults(ctx context.Context, t *testing.T, px *faults.Proxies) {
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
		f := schedule[i%len(schedule)]
		if err := f.on(px); err != nil {
			t.Errorf("inject a fault: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(f.hold):
		}
		if err := f.off(px); err != nil {
			t.Errorf("end a fault: %v", err)
		}
	}
}

// healAll ends every fault.
func healAll(t *testing.T, px *faults.Proxies) {
	for _, name := range []string{"firestore", "stripe", "smtp"} {
		px.Clear(name)
		if err := px.Up(name); err != nil {
			t.Error(err)
		}
	}
}

// expireTrials runs `tenantry jobs run expire-trials` every 20 seconds until ctx ends, as a
// scheduler would, alongside the replicas' own.
func expireTrials(ctx context.Context, bin string, env []string, st *stats) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Second):
		}
		start := time.Now()
		cmd := exec.Command(bin, "jobs", "run", "expire-trials")
		cmd.Env = env
		code := ""
		if out, err := cmd.CombinedOutput(); err != nil {
			code = "EXIT"
			st.broke("tenantry jobs run expire-trials: %v: %.300s", err, out)
		}
		st.observe("job expire-trials", time.Since(start), code)
	}
}

// verify waits for the outbox to drain, then checks what the soak promises: no outbox entry
// dead, counters equal documents, one tenant per provisioning intent, one email per email intent,
// one Stripe customer and one subscription per tenant, and doctor clean. It returns the side effects' counts and
// doctor's verdict; broken invariants go to w.st.
func (w *workload) verify(bin string, rec *faults.StripeRecorder) ([]sideEffects, string) {
	ctx := context.Background()
	w.t.Logf("soak: load over; waiting for the outbox to drain")
	w.settle(ctx)
	w.t.Logf("soak: outbox: %s; checking every tenant's counters", w.st.drain)
	began := time.Now()
	tenants := w.allTenants(ctx)
	w.checkCounters(ctx, tenants)
	w.t.Logf("soak: counters of %d tenants checked in %s; counting emails and Stripe creations, then `tenantry doctor`", len(tenants), time.Since(began).Round(time.Second))
	w.mu.Lock()
	known := len(w.tenants)
	w.mu.Unlock()
	if len(tenants) < known || len(tenants) > known+w.want.unsettled {
		w.st.broke("%d tenants stored for %d provisioned and %d calls without an answer", len(tenants), known, w.want.unsettled)
	}
	effects := []sideEffects{w.emailEffects()}
	for _, created := range []struct {
		what string
		keys map[string][]string
	}{{"customer", rec.CustomerKeys()}, {"subscription", rec.SubscriptionKeys()}} {
		e := stripeEffects("Stripe "+created.what+"s", w.want, created.keys)
		for _, id := range e.lost {
			snap, _ := w.fs.Doc("billing/" + id).Get(ctx)
			entry, _ := w.fs.Doc("outbox/billing.setup-" + id).Get(ctx)
			w.st.broke("no Stripe %s created for tenant %s: billing %v, setup entry %v", created.what, id, snap.Data(), entry.Data())
		}
		effects = append(effects, e.sideEffects)
	}
	return effects, w.doctor(bin)
}

// settle waits until no outbox entry is pending, for as long as the backlog keeps shrinking: a
// minute without progress (or 15 minutes in all) is a stuck outbox. It polls a count, never the
// entries: reading thousands of pending documents every second would itself slow the dispatchers
// down. It records the backlog and its drain time, and reports dead entries.
func (w *workload) settle(ctx context.Context) {
	entries := store.NewOutboxStore(w.fs)
	start, backlog := time.Now(), -1
	least, progressAt := math.MaxInt, start
	for {
		n, err := entries.Count(ctx, outbox.StatePending)
		if err == nil && backlog < 0 {
			backlog = n
		}
		if err == nil && n == 0 {
			break
		}
		if err == nil && n < least {
			least, progressAt = n, time.Now()
		}
		if time.Since(progressAt) > time.Minute || time.Since(start) > 15*time.Minute {
			w.st.broke("%d outbox entries still pending %s after the load, the last minute without progress (%v)", n, time.Since(start).Round(time.Second), err)
			break
		}
		time.Sleep(2 * time.Second)
	}
	w.st.drain = fmt.Sprintf("%d entries pending when the load stopped, none after %s", backlog, time.Since(start).Round(time.Second))
	dead, err := w.fs.Collection("outbox").Where("state", "==", "dead").Documents(ctx).GetAll()
	for _, d := range dead {
		w.st.broke("outbox entry %s dead-lettered: %v", d.Ref.ID, d.Data()["lastError"])
	}
	if err != nil {
		w.st.broke("list the dead outbox entries: %v", err)
	}
}

// checkCounters compares every tenant's counters with its documents, eight tenants at a time:
// one after another, thousands of tenants take longer than the load itself.
func (w *workload) checkCounters(ctx context.Context, tenants []string) {
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if drift, err := faults.CounterDrift(ctx, w.fs, id); err != nil || drift != "" {
					w.st.broke("counters: %s %v", drift, err)
				}
			}
		}()
	}
	for _, id := range tenants {
		ids <- id
	}
	close(ids)
	wg.Wait()
}

func (w *workload) allTenants(ctx context.Context) []string {
	refs, err := w.fs.Collection("tenants").DocumentRefs(ctx).GetAll()
	if err != nil {
		w.st.broke("list the tenants: %v", err)
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return ids
}

// emailEffects counts the messages mailpit received per address of the soak's mailbox. An
// intent is one message: one Message-ID, which Tenantry derives from the outbox entry. A copy
// with the same Message-ID is the same message sent again because a fault cut the connection
// after the server took it and before its "250 OK" came back; no SMTP client can tell that from
// a message that never arrived, and mail systems collapse copies by Message-ID. Those copies are
// counted apart (resent); two different messages for one intent are a duplicate.
func (w *workload) emailEffects() sideEffects {
	ids := map[string]map[string]int{} // address → Message-ID → copies
	for _, m := range w.box.Messages() {
		for _, to := range m.To {
			addr := strings.ToLower(to.Address)
			if ids[addr] == nil {
				ids[addr] = map[string]int{}
			}
			ids[addr][m.MessageID]++
		}
	}
	e := sideEffects{name: "emails (welcome, invitation, owner invitation)"}
	for _, copies := range ids {
		for _, n := range copies {
			e.resent += n - 1
		}
	}
	w.want.mu.Lock()
	defer w.want.mu.Unlock()
	for addr := range w.want.emails {
		e.intents++
		switch n := len(ids[strings.ToLower(addr)]); {
		case n == 1:
			e.exact++
		case n == 0:
			e.missed++
			w.st.broke("no email to %s (%s)", addr, w.want.emails[addr])
		default:
			e.dup++
			w.st.broke("%d different emails to %s (%s)", n, addr, w.want.emails[addr])
		}
		delete(ids, strings.ToLower(addr))
	}
	for addr, copies := range ids {
		if !w.want.maybe[addr] || len(copies) > 1 {
			e.dup++
			w.st.broke("%d different emails to %s, which no answered call asked for", len(copies), addr)
		}
	}
	return e
}

// stripeEffects counts, for every tenant, the Stripe objects of one kind created for it: the
// distinct idempotency keys of their creations. The soak's tenants each get exactly one
// customer and one subscription from their billing setup (its webhooks come only after it).
func stripeEffects(name string, want *intents, keys map[string][]string) (e struct {
	sideEffects
	lost []string
}) {
	e.name = name
	want.mu.Lock()
	defer want.mu.Unlock()
	for _, id := range want.customers {
		e.intents++
		switch len(keys[id]) {
		case 1:
			e.exact++
		case 0:
			e.missed++
			e.lost = append(e.lost, id)
		default:
			e.dup++
		}
	}
	return e
}

// doctorReport is `tenantry doctor --json`'s output.
type doctorReport struct {
	Clean    bool `json:"clean"`
	Findings []struct {
		Kind, Path, Detail string
		Repaired           bool
	} `json:"findings"`
	Scanned map[string]any `json:"scanned"`
}

// doctor runs `tenantry doctor --json` on the soak's project (it holds only the soak's tenants)
// and reports each finding as a broken invariant.
func (w *workload) doctor(bin string) string {
	began := time.Now()
	defer func() { w.t.Logf("soak: tenantry doctor ran for %s", time.Since(began).Round(time.Second)) }()
	cmd := exec.Command(bin, "doctor", "--json")
	cmd.Env = directEnv(w.env)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var rep doctorReport
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			first, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
			w.st.broke("`tenantry doctor --json` is missing or failed (exit %d): %.300s", exit.ExitCode(), first)
			return "MISSING (the binary has no working doctor command)"
		}
		w.st.broke("`tenantry doctor --json` printed no report (%v): %.300s", jerr, out)
		return "no report"
	}
	for _, f := range rep.Findings {
		w.st.broke("doctor: %s at %s: %s", f.Kind, f.Path, f.Detail)
	}
	if rep.Clean && err == nil {
		return fmt.Sprintf("clean (scanned %v in %s)", rep.Scanned, time.Since(began).Round(time.Second))
	}
	return fmt.Sprintf("%d findings (exit %v)", len(rep.Findings), err)
}
