package config

import (
	"fmt"
	"net"
	"regexp"
	"time"
)

// MinExportSigningKey is the shortest TENANTRY_EXPORT_SIGNING_KEY accepted, in bytes: an HMAC-SHA256
// key should be as long as the hash.
const MinExportSigningKey = 32

// ExportsEnabled reports whether exports can be made: TENANTRY_EXPORT_BUCKET names the Cloud
// Storage bucket that holds the archives. Without it (in any environment) exportTenant refuses,
// saying so, and Tenant.exports still lists what was made before.
func (c Config) ExportsEnabled() bool { return c.ExportBucket != "" }

// ExportBaseURL is the base URL download links start with: TENANTRY_PUBLIC_URL, or this server's
// own address in development.
func (c Config) ExportBaseURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	return "http://" + c.Addr()
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$`)

// validateExport checks the export settings. The signing key is never repeated in a message.
func (c Config) validateExport() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.Env == Production {
		if c.ExportBucket != "" && c.ExportSigningKey == "" {
			add("TENANTRY_EXPORT_BUCKET is set but TENANTRY_EXPORT_SIGNING_KEY is not: production needs a fixed key for the exports' download links, shared by every replica, or links break at each restart (e.g. $(openssl rand -base64 48))")
		}
		if c.StorageEmulatorHost != "" {
			add("TENANTRY_ENV=production but STORAGE_EMULATOR_HOST is set: production must never write exports to an emulator; unset STORAGE_EMULATOR_HOST")
		}
	}
	if c.ExportBucket != "" && !bucketName.MatchString(c.ExportBucket) {
		add("TENANTRY_EXPORT_BUCKET=%q: use a Cloud Storage bucket name (3 to 63 lowercase letters, digits, '-', '_' or '.')", c.ExportBucket)
	}
	if c.ExportSigningKey != "" && len(c.ExportSigningKey) < MinExportSigningKey {
		add("TENANTRY_EXPORT_SIGNING_KEY is too short: use at least %d random bytes' worth, e.g. $(openssl rand -base64 48)", MinExportSigningKey)
	}
	if c.ExportLinkTTL < 5*time.Minute || c.ExportLinkTTL > 7*24*time.Hour {
		add("TENANTRY_EXPORT_LINK_TTL=%s: use from 5m to 168h (7 days)", c.ExportLinkTTL)
	}
	if c.StorageEmulatorHost != "" {
		if _, _, err := net.SplitHostPort(c.StorageEmulatorHost); err != nil {
			add("STORAGE_EMULATOR_HOST=%q: use host:port, e.g. 127.0.0.1:9199", c.StorageEmulatorHost)
		}
	}
	return problems
}
