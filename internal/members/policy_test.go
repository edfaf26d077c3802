package members

import (
	"testing"
	"time"

	"github.com/tenantry/tenantry/rules"
)

func TestCanGrant(t *testing.T) {
	o, a, m, mb, v := rules.RoleOwner, rules.RoleAdmin, rules.RoleManager, rules.RoleMember, rules.RoleViewer
	for _, c := range []struct {
		actor, role rules.Role
		want        bool
	}{
		{o, a, true}, {o, m, true}, {o, mb, true}, {o, v, true}, {o, o, false},
		{a, a, true}, {a, m, true}, {a, v, true}, {a, o, false},
		{m, mb, true}, {m, v, true}, {m, m, false}, {m, a, false}, {m, o, false},
		{mb, v, false}, {mb, mb, false}, {v, v, false},
		{o, rules.Role("root"), false},
	} {
		if got := canGrant(c.actor, c.role); got != c.want {
			t.Errorf("canGrant(%s, %s) = %v, want %v", c.actor, c.role, got, c.want)
		}
	}
}

func TestInvitationIDs(t *testing.T) {
	for id, want := range map[string]string{
		"TENANT_ABC":     "TENANT",
		"my_tenant_XYZ":  "my_tenant",
		"noseparator":    "",
		"_leading":       "",
		"trailing_":      "",
		"T2ABCDEF_QWERT": "T2ABCDEF",
	} {
		got, ok := SplitInvitationID(id)
		if ok != (want != "") || got != want {
			t.Errorf("SplitInvitationID(%q) = %q, %v; want %q", id, got, ok, want)
		}
	}
}

func TestEffectiveStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inv := Invitation{Status: StatusPending, ExpiresAt: now}
	if s := inv.EffectiveStatus(now.Add(-time.Nanosecond)); s != StatusPending {
		t.Errorf("before expiry: %s", s)
	}
	if s := inv.EffectiveStatus(now); s != StatusExpired {
		t.Errorf("at expiry: %s", s)
	}
	inv.Status = StatusAccepted
	if s := inv.EffectiveStatus(now.Add(time.Hour)); s != StatusAccepted {
		t.Errorf("accepted stays accepted: %s", s)
	}
}

func TestTokens(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if len(a) != 43 || a == b {
		t.Errorf("tokens %q %q: want 43 URL-safe characters, distinct", a, b)
	}
	if h := HashToken(a); len(h) != 64 || h == a || h != HashToken(a) {
		t.Errorf("hash %q", h)
	}
}
