package domains

import (
	"context"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// decideCheck on each status, found or not.
func TestDecideCheck(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start.Add(time.Hour))
	s := NewService(nil, nil, nil, clk, nil, Config{})
	base := Domain{Name: "acme.test", TenantID: "t1", Token: "tok", CreatedAt: start, Enrollment: EnrollAutomatic}
	at := func(st Status, missing time.Time) Domain { d := base; d.Status, d.MissingSince = st, missing; return d }
	for _, c := range []struct {
		name        string
		cur         Domain
		found       bool
		want        Status
		audit, mail int
		missing     bool
	}{
		{"pending, found", at(StatusPending, time.Time{}), true, StatusVerified, 1, 0, false},
		{"pending, not yet", at(StatusPending, time.Time{}), false, StatusPending, 0, 0, false},
		{"failed, found at last", at(StatusFailed, time.Time{}), true, StatusVerified, 1, 0, false},
		{"failed, still nothing", at(StatusFailed, time.Time{}), false, StatusFailed, 0, 0, false},
		{"verified, record gone", at(StatusVerified, time.Time{}), false, StatusVerified, 1, 1, true},
		{"verified, still gone: told once", at(StatusVerified, start), false, StatusVerified, 0, 0, true},
		{"verified, record back", at(StatusVerified, start), true, StatusVerified, 0, 0, false},
	} {
		ch, err := s.decideCheck(context.Background(), c.cur, tenancy.Actor{System: "test"}, c.found)
		if err != nil || ch.Domain.Status != c.want || len(ch.Audit) != c.audit || len(ch.Outbox) != c.mail ||
			ch.Domain.MissingSince.IsZero() == c.missing || !ch.Domain.LastCheckedAt.Equal(clk.Now()) {
			t.Errorf("%s: %+v, %v; want %s, %d audit, %d mail, missing %v", c.name, ch, err, c.want, c.audit, c.mail, c.missing)
		}
	}
	clk.Advance(72 * time.Hour)
	ch, _ := s.decideCheck(context.Background(), at(StatusPending, time.Time{}), tenancy.Actor{System: "test"}, false)
	if ch.Domain.Status != StatusFailed || len(ch.Outbox) != 1 || len(ch.Audit) != 1 {
		t.Errorf("pending past 72h: %+v; want FAILED with an audit entry and a mail", ch)
	}
}
