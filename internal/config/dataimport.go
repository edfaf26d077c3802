package config

import "fmt"

// validateImport checks the service tokens' rate limit and the import's body limit.
func (c Config) validateImport() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.ServiceTokenBurst < 1 || c.ServiceTokenInterval <= 0 {
		add("TENANTRY_SERVICE_TOKEN_BURST=%d and TENANTRY_SERVICE_TOKEN_INTERVAL=%s: use a burst of at least 1 and a positive interval such as 100ms", c.ServiceTokenBurst, c.ServiceTokenInterval)
	}
	// 500 records of up to 64 KiB each would be 32 MiB; tenantry import sends at most 8 MiB a call.
	if c.ImportMaxBodyBytes < c.MaxBodyBytes || c.ImportMaxBodyBytes > 64<<20 {
		add("TENANTRY_IMPORT_MAX_BODY_BYTES=%d: use at least TENANTRY_MAX_BODY_BYTES (%d) and at most 67108864 (64 MiB); the default 16777216 fits the 8 MiB calls of tenantry import", c.ImportMaxBodyBytes, c.MaxBodyBytes)
	}
	return problems
}
