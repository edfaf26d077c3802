package config

import (
	"testing"
	"time"
)

func TestCancelledRetention(t *testing.T) {
	for _, tc := range []struct {
		setting string
		want    time.Duration
		ok      bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"720h", 720 * time.Hour, true},
		{"1h", time.Hour, true},
		{"59m", 0, false},
		{"-3d", 0, false},
		{"thirty days", 0, false},
	} {
		c, err := Load(map[string]string{"TENANTRY_CANCELLED_RETENTION": tc.setting})
		if tc.ok != (err == nil) {
			t.Errorf("%q: error %v, want ok=%v", tc.setting, err, tc.ok)
			continue
		}
		if tc.ok && c.CancelledRetention() != tc.want {
			t.Errorf("%q: %s, want %s", tc.setting, c.CancelledRetention(), tc.want)
		}
	}
	if c, err := Load(map[string]string{}); err != nil || c.CancelledRetention() != 30*24*time.Hour {
		t.Errorf("default: %s, %v; want 30 days", c.CancelledRetention(), err)
	}
}
