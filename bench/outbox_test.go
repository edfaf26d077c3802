package bench

// Outbox benchmarks against the Firestore emulator and mailpit (scripts/stack.sh up):
//
//	go test -run '^$' -bench Outbox -benchtime 1x ./bench/
//
// BenchmarkOutboxThroughput: welcome-email entries per second, end to end (claim, render, SMTP to
// mailpit, mark done), with one and with two dispatchers on one project.
// BenchmarkOutboxProvisionToEmail: from a provisioning commit to the welcome email's arrival in
// mailpit (mailpit's receive time), p50 and p99: when the replica that provisions also dispatches
// (it kicks its dispatcher at commit), and when another replica dispatches (it finds the entry at
// its next poll, TENANTRY_OUTBOX_POLL_INTERVAL=1s).
//
// Figures are printed and reported as benchmark metrics, never asserted. Each benchmark uses a
// Firestore project of its own, so a dispatcher here never touches other tests' entries.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/email"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

const outboxBenchEntries = 300

func BenchmarkOutboxThroughput(b *testing.B) {
	for _, dispatchers := range []int{1, 2} {
		b.Run(fmt.Sprintf("dispatchers=%d", dispatchers), func(b *testing.B) {
			env := testenv.Require(b).IsolatedProject(b)
			mp := testenv.Mailpit(b)
			st := store.New(env.Firestore(b))
			ob := st.Outbox()
			sender, err := email.NewSMTPSender(email.SMTPConfig{URL: mp.SMTPURL, From: "Tenantry <no-reply@tenantry.local>"})
			if err != nil {
				b.Fatal(err)
			}
			mailer, err := email.NewMailer(sender, st, "http://localhost:5173", "Tenantry")
			if err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			var lost atomic.Int64
			for range b.N {
				b.StopTimer()
				box := mp.NewMailbox()
				enqueueBench(b, ob, box, outboxBenchEntries)
				var done atomic.Int64
				all := make(chan struct{})
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				ds := make([]*outbox.Dispatcher, dispatchers)
				for i := range ds {
					ds[i] = outbox.NewDispatcher(ob, clock.System{}, outbox.Config{
						Owner: fmt.Sprintf("bench-%d", i), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
						Observe: func(_, outcome string, _ time.Duration) {
							switch outcome {
							case "done":
								if done.Add(1) == outboxBenchEntries {
									close(all)
								}
							case "lost":
								lost.Add(1)
							}
						},
					})
					mailer.Register(ds[i])
				}
				b.StartTimer()
				start := time.Now()
				for _, d := range ds {
					wg.Add(1)
					go func() { defer wg.Done(); _ = d.Run(ctx, 20*time.Millisecond) }()
				}
				select {
				case <-all:
				case <-time.After(5 * time.Minute):
					b.Fatalf("only %d of %d entries done after 5 minutes", done.Load(), outboxBenchEntries)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				cancel()
				wg.Wait()
				total += elapsed
				if got := len(box.WaitFor(outboxBenchEntries, time.Minute)); got != outboxBenchEntries {
					b.Fatalf("mailpit has %d emails, want %d", got, outboxBenchEntries)
				}
			}
			perSec := float64(outboxBenchEntries*b.N) / total.Seconds()
			b.ReportMetric(perSec, "entries/s")
			b.ReportMetric(float64(lost.Load())/float64(b.N), "lost-claims/run")
			fmt.Printf("outbox throughput, %d dispatcher(s), concurrency %d each: %d entries in %s per run = %.0f entries/s (claims lost to the other dispatcher: %d per run)\n",
				dispatchers, outbox.DefaultConcurrency, outboxBenchEntries, (total / time.Duration(b.N)).Round(time.Millisecond), perSec, lost.Load()/int64(b.N))
		})
	}
}

func enqueueBench(b *testing.B, ob *store.OutboxStore, box testenv.Mailbox, n int) {
	b.Helper()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, 16)
	now := clock.System{}.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			id := testenv.UniqueID("t")
			if err := ob.Enqueue(context.Background(), kinds.ID(kinds.WelcomeEmail{}, id), kinds.WelcomeEmail{}.Kind(), id,
				map[string]any{"to": box.Address(fmt.Sprintf("b%04d", i)), "uid": "u" + id, "organizationName": "Bench Org"}, now); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
}

const latencyProvisions = 100

func BenchmarkOutboxProvisionToEmail(b *testing.B) {
	for _, mode := range []string{"same-replica", "other-replica"} {
		b.Run(mode, func(b *testing.B) {
			env := testenv.Require(b).IsolatedProject(b)
			mp := testenv.Mailpit(b)
			cfg, err := config.Load(nil)
			if err != nil {
				b.Fatal(err)
			}
			cfg.Project, cfg.SMTPURL = env.Project, mp.SMTPURL
			cfg.JobIntervals = "purge-idempotency-records=off,expire-trials=off"
			quiet := app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			dispatching, err := app.New(context.Background(), cfg, quiet)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = dispatching.Close() })
			provisioning := dispatching
			if mode == "other-replica" {
				// A second process provisions; its kick wakes nobody, so the first finds the
				// entry at its next poll.
				if provisioning, err = app.New(context.Background(), cfg, quiet); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = provisioning.Close() })
			}
			ctx, cancel := context.WithCancel(context.Background())
			wait, err := dispatching.StartBackground(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { cancel(); wait(10 * time.Second) })

			var lat []time.Duration
			for range b.N {
				box := mp.NewMailbox()
				committed := make(map[string]time.Time, latencyProvisions)
				for i := range latencyProvisions {
					addr := box.Address(fmt.Sprintf("o%03d", i))
					p := auth.Principal{UID: testenv.UniqueID("uid-"), Email: addr, EmailVerified: true}
					in := tenancy.SelfServeInput{IdempotencyKey: testenv.UniqueID("key-") + "-bench", OrganizationName: fmt.Sprintf("Latency %03d", i)}
					if _, err := provisioning.Tenancy.ProvisionSelfServe(auth.WithPrincipal(context.Background(), p), in); err != nil {
						b.Fatal(err)
					}
					committed[addr] = time.Now()
					// Spread the commits out, as signups are, instead of a burst.
					time.Sleep(time.Duration(7+i%13) * time.Millisecond)
				}
				for _, m := range box.WaitFor(latencyProvisions, 2*time.Minute) {
					for _, to := range m.To {
						if at, ok := committed[to.Address]; ok {
							lat = append(lat, m.Created.Sub(at))
						}
					}
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) time.Duration {
				i := int(p/100*float64(len(lat))+0.5) - 1
				return lat[max(0, min(i, len(lat)-1))]
			}
			b.ReportMetric(float64(pct(50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(pct(99).Microseconds())/1000, "p99-ms")
			fmt.Printf("provisioning commit -> welcome email in mailpit, %s (poll %s): n=%d p50 %s p99 %s max %s\n",
				mode, cfg.OutboxPollInterval, len(lat), pct(50).Round(100*time.Microsecond), pct(99).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
		})
	}
}
