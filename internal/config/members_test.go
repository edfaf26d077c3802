package config

import (
	"strings"
	"testing"
	"time"
)

func TestInviteAddressLimitSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(map[string]string{})
	if err != nil || c.InviteAddressLimit != 3 || c.InviteAddressWindow != 24*time.Hour || c.InviteBurst < c.InviteBatchMax {
		t.Fatalf("defaults: limit %d per %s, inviter burst %d for batches of %d (%v); want 3 per 24h and a burst that fits a batch",
			c.InviteAddressLimit, c.InviteAddressWindow, c.InviteBurst, c.InviteBatchMax, err)
	}
	for _, bad := range []map[string]string{
		{"TENANTRY_INVITE_ADDRESS_LIMIT": "0"},
		{"TENANTRY_INVITE_ADDRESS_LIMIT": "51"},
		{"TENANTRY_INVITE_ADDRESS_WINDOW": "30s"},
		{"TENANTRY_INVITE_ADDRESS_WINDOW": "721h"},
	} {
		if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "TENANTRY_INVITE_ADDRESS_LIMIT") {
			t.Errorf("%v: %v, want an error naming the setting", bad, err)
		}
	}
}
