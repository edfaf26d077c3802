package domains

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
)

func TestDNSResolverReadsTXTRecords(t *testing.T) {
	t.Parallel()
	srv := testenv.NewDNSServer(t)
	srv.SetTXT("_tenantry-challenge.acme.test", "other=1", "tenantry-verification=abc")
	r, err := NewDNSResolver(srv.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.LookupTXT(context.Background(), "_tenantry-challenge.acme.test")
	if err != nil || !slices.Contains(got, "tenantry-verification=abc") {
		t.Fatalf("LookupTXT = %q, %v; want the published record", got, err)
	}
	got, err = r.LookupTXT(context.Background(), "_tenantry-challenge.nothing.test")
	if err != nil || len(got) != 0 {
		t.Fatalf("LookupTXT of an unknown name = %q, %v; want no records and no error (NXDOMAIN)", got, err)
	}
}

// A resolver that never answers ends the lookup at the timeout with an error, not a hang.
func TestDNSResolverGivesUpOnASilentServer(t *testing.T) {
	t.Parallel()
	r, err := NewDNSResolver(testenv.SilentDNSServer(t), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = r.LookupTXT(ctx, "_tenantry-challenge.acme.test")
	if err == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("LookupTXT on a silent server = %v (test context: %v); want the resolver's own timeout error", err, ctx.Err())
	}
}

func TestRetryBacksOffToACeiling(t *testing.T) {
	t.Parallel()
	prev := time.Duration(0)
	for n := range 20 {
		d := retryAfter(n)
		if d < prev || d > maxRetry || d < firstRetry {
			t.Fatalf("retryAfter(%d) = %s after %s; want non-decreasing, within [%s, %s]", n, d, prev, firstRetry, maxRetry)
		}
		prev = d
	}
	if prev != maxRetry {
		t.Fatalf("retryAfter settles at %s, want %s", prev, maxRetry)
	}
}
