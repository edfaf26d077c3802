package store

import (
	"testing"

	"github.com/tenantry/tenantry/rules"
)

// TestTenantSubcollectionsAreServerOwned keeps the store and firestore.rules in step: every
// collection the server writes under tenants/{id} must be server-owned in the rules, or the
// generated rules would open it to clients as application data.
func TestTenantSubcollectionsAreServerOwned(t *testing.T) {
	for _, c := range append([]string{colInvitations}, tenantSubcollections...) {
		if !rules.ServerOwned(c) {
			t.Errorf("tenants/{id}/%s is written by the server but not in rules.ServerOwnedCollections; add it and run go generate ./rules", c)
		}
	}
}
