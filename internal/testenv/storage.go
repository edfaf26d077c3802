package testenv

import (
	"os"
	"testing"
)

// Storage returns the Cloud Storage emulator's host:port (STORAGE_EMULATOR_HOST, fake-gcs-server
// from scripts/stack.sh) and the exports' bucket (TENANTRY_EXPORT_BUCKET). It fails the test,
// never skips it, when either is unset or the emulator does not answer.
func Storage(t testing.TB) (host, bucket string) {
	t.Helper()
	host, bucket = os.Getenv("STORAGE_EMULATOR_HOST"), os.Getenv("TENANTRY_EXPORT_BUCKET")
	if host == "" || bucket == "" {
		t.Fatalf("testenv: STORAGE_EMULATOR_HOST and TENANTRY_EXPORT_BUCKET must be set (the storage service); %s", howToStart)
	}
	if err := probe(host); err != nil {
		t.Fatalf("testenv: the Cloud Storage emulator at %s does not answer (%v); %s", host, err, howToStart)
	}
	return host, bucket
}
