package outbox

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tenantry/tenantry/internal/clock"
)

func TestBackoffWindowGrowsToTheCap(t *testing.T) {
	t.Parallel()
	d := NewDispatcher(nil, clock.NewManual(time.Now()), Config{
		BackoffBase: 2 * time.Second, BackoffCap: 10 * time.Minute,
		Jitter: func(max time.Duration) time.Duration { return max },
	})
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second,
		64 * time.Second, 128 * time.Second, 256 * time.Second, 512 * time.Second, 10 * time.Minute, 10 * time.Minute}
	for i, w := range want {
		if got := d.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) with maximal jitter = %s, want %s", i+1, got, w)
		}
	}
	if got := d.backoff(1000); got != 10*time.Minute {
		t.Errorf("backoff(1000) = %s, want the cap", got)
	}
}

func TestBackoffFullJitterStaysInTheWindow(t *testing.T) {
	t.Parallel()
	d := NewDispatcher(nil, clock.NewManual(time.Now()), Config{BackoffBase: time.Second, BackoffCap: time.Minute})
	for attempt := 1; attempt <= 10; attempt++ {
		window := min(time.Second<<(attempt-1), time.Minute)
		var lo, hi time.Duration = window, 0
		for range 200 {
			b := d.backoff(attempt)
			if b < 0 || b > window {
				t.Fatalf("backoff(%d) = %s, outside [0, %s]", attempt, b, window)
			}
			lo, hi = min(lo, b), max(hi, b)
		}
		// Full jitter spreads retries over the whole window, not around one point.
		if hi-lo < window/2 {
			t.Errorf("backoff(%d): 200 draws spread over [%s, %s] only, want most of [0, %s]", attempt, lo, hi, window)
		}
	}
}

func TestRedactRemovesCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, leak string }{
		{"dial smtp://mailer:s3cret@smtp.example.com:587: refused", "s3cret"},
		{"smtps://a%40b:p%23w@host:465 timeout", "p%23w"},
		{"stripe: invalid key sk_live_51Habcdef123", "51Habcdef123"},
		{"401 from api: Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"},
	} {
		got := Redact(tc.in)
		if strings.Contains(got, tc.leak) {
			t.Errorf("Redact(%q) = %q still contains %q", tc.in, got, tc.leak)
		}
	}
	if got := Redact("550 5.1.1 <x@example.com>: user unknown"); got != "550 5.1.1 <x@example.com>: user unknown" {
		t.Errorf("Redact changed an error without secrets: %q", got)
	}
}

func TestTruncateKeepsValidUTF8(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 400) // 800 bytes
	got := truncate(long)
	if len(got) > maxErrorLen || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("truncate: %d bytes, valid UTF-8 %v, suffix %q", len(got), utf8.ValidString(got), got[len(got)-3:])
	}
	if truncate("short") != "short" {
		t.Error("truncate changed a short message")
	}
}

func TestPermanentIsDetectedThroughWrapping(t *testing.T) {
	t.Parallel()
	base := errors.New("recipient refused")
	err := fmt.Errorf("send welcome: %w", Permanent(base))
	if !IsPermanent(err) || !errors.Is(err, base) {
		t.Errorf("IsPermanent(%v) = %v, errors.Is(base) = %v; want both true", err, IsPermanent(err), errors.Is(err, base))
	}
	if IsPermanent(base) || Permanent(nil) != nil {
		t.Error("a plain error is not permanent, and Permanent(nil) is nil")
	}
}

func TestHandleTwicePanics(t *testing.T) {
	t.Parallel()
	d := NewDispatcher(nil, clock.System{}, Config{})
	d.Handle("k", nil)
	defer func() {
		if recover() == nil {
			t.Error("registering a kind twice did not panic")
		}
	}()
	d.Handle("k", nil)
}
