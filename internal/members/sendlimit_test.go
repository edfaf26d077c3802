package members

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/ratelimit"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func limitedService(limits Limits) *Service {
	return &Service{limits: limits, cfg: Config{AddressLimit: 3, AddressWindow: 24 * time.Hour}}
}

func TestAdmitSendCountsTheWindow(t *testing.T) {
	s := limitedService(Limits{})
	for _, c := range []struct {
		name  string
		prev  Invitation
		now   time.Time
		sends int       // stored times after admission; 0 means refused
		next  time.Time // when refused: the time the message names
	}{
		{"no earlier invitation", Invitation{}, t0, 1, time.Time{}},
		{"two recent emails", Invitation{Sends: []time.Time{t0.Add(-2 * time.Hour), t0.Add(-time.Hour)}}, t0, 3, time.Time{}},
		{"three recent emails", Invitation{Sends: []time.Time{t0.Add(-3 * time.Hour), t0.Add(-2 * time.Hour), t0.Add(-time.Hour)}}, t0, 0, t0.Add(21 * time.Hour)},
		{"stored out of order", Invitation{Sends: []time.Time{t0.Add(-time.Hour), t0.Add(-5 * time.Hour), t0.Add(-2 * time.Hour)}}, t0, 0, t0.Add(19 * time.Hour)},
		{"the oldest left the window", Invitation{Sends: []time.Time{t0.Add(-24 * time.Hour), t0.Add(-2 * time.Hour), t0.Add(-time.Hour)}}, t0, 3, time.Time{}},
		{"more than the limit kept (the limit was lowered)", Invitation{Sends: []time.Time{t0.Add(-5 * time.Hour), t0.Add(-4 * time.Hour), t0.Add(-3 * time.Hour), t0.Add(-2 * time.Hour)}}, t0, 0, t0.Add(20 * time.Hour)},
		{"an invitation from before the log counts its last email", Invitation{SentAt: t0.Add(-time.Hour), Sends: nil}, t0, 2, time.Time{}},
		{"an old one does not", Invitation{SentAt: t0.Add(-48 * time.Hour)}, t0, 1, time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sends, err := s.admitSend("a@example.test", c.prev, c.now)
			if c.sends == 0 {
				if !errors.Is(err, errs.ErrRateLimited) {
					t.Fatalf("err %v, want RATE_LIMITED", err)
				}
				if at := c.next.Format("15:04:05 UTC on 2 Jan 2006"); !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), "a@example.test") {
					t.Errorf("message %q does not name the address and %s", err, at)
				}
				return
			}
			if err != nil || len(sends) != c.sends || !sends[len(sends)-1].Equal(c.now) {
				t.Fatalf("sends %v, err %v; want %d times ending now", sends, err, c.sends)
			}
		})
	}
}

// The in-memory limits are spent once per call, however often the transaction runs decide.
func TestSpendSendsOncePerCall(t *testing.T) {
	clk := func() time.Time { return t0 }
	s := limitedService(Limits{PerInviter: ratelimit.NewKeyed(time.Hour, 3, clk), PerTenant: ratelimit.NewKeyed(time.Hour, 100, clk)})
	for range 5 { // a transaction retried five times
		if err := s.spendSends(context.Background(), "call-1", "T", "u1", 2, t0); err != nil {
			t.Fatalf("retry of an admitted call refused: %v", err)
		}
	}
	if err := s.spendSends(context.Background(), "call-2", "T", "u1", 0, t0); err != nil {
		t.Fatalf("a call sending nothing refused: %v", err)
	}
	if err := s.spendSends(context.Background(), "call-3", "T", "u1", 1, t0); err != nil {
		t.Fatalf("the third email of a burst of 3 refused: %v", err)
	}
	err := s.spendSends(context.Background(), "call-4", "T", "u1", 1, t0)
	if !errors.Is(err, errs.ErrRateLimited) || !strings.Contains(err.Error(), "after 13:00:00 UTC") {
		t.Fatalf("err %v, want RATE_LIMITED naming 13:00:00 UTC", err)
	}
	if err := s.spendSends(context.Background(), "call-5", "T", "u2", 4, t0); !errors.Is(err, errs.ErrRateLimited) || !strings.Contains(err.Error(), "smaller batches") {
		t.Fatalf("a batch above the burst: %v, want RATE_LIMITED saying to split it", err)
	}
}

func TestRequireVerifiedSender(t *testing.T) {
	if err := requireVerifiedSender(auth.Principal{UID: "u", Email: "a@example.test", EmailVerified: true}); err != nil {
		t.Fatalf("verified: %v", err)
	}
	err := requireVerifiedSender(auth.Principal{UID: "u", Email: "a@example.test"})
	if !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), "verify your email address") {
		t.Fatalf("unverified: %v, want FORBIDDEN telling to verify", err)
	}
}

func TestRoughly(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "1 second", 1500 * time.Millisecond: "2 seconds", 90 * time.Second: "90 seconds",
		10 * time.Minute: "10 minutes", 24 * time.Hour: "24 hours", 21*time.Hour + time.Second: "22 hours",
	} {
		if got := roughly(d); got != want {
			t.Errorf("roughly(%s) = %q, want %q", d, got, want)
		}
	}
}
