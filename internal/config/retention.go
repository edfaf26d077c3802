package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CancelledRetention is how long a cancelled tenant is kept (and may be reactivated) before the
// purge-cancelled-tenants job deletes it: TENANTRY_CANCELLED_RETENTION, a number of days ("30d")
// or a Go duration ("720h"); 0 when the setting is invalid (Validate reports it).
func (c Config) CancelledRetention() time.Duration {
	d, _ := parseDays(c.CancelledRetentionSetting)
	return d
}

// parseDays reads "30d" (whole days) or a Go duration.
func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// validateRetention checks the retention of cancelled tenants.
func (c Config) validateRetention() []error {
	d, err := parseDays(c.CancelledRetentionSetting)
	if err != nil || d < time.Hour {
		return []error{fmt.Errorf("TENANTRY_CANCELLED_RETENTION=%q: use a number of days such as 30d, or a duration of at least 1h such as 720h", c.CancelledRetentionSetting)}
	}
	return nil
}
