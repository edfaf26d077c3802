package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/tenantry/tenantry/internal/email"
	"github.com/tenantry/tenantry/rules"
)

var _ email.Directory = (*Store)(nil)

// TenantContacts implements email.Directory: the tenant's name, its owners' addresses and its
// admins' (sorted, so the same email goes to the same recipients in the same order on every
// attempt).
func (s *Store) TenantContacts(ctx context.Context, tenantID string) (email.Contacts, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return email.Contacts{}, err
	}
	snaps, err := s.fs.Collection(colTenants).Doc(tenantID).Collection(colMembers).
		Where("role", "in", []string{string(rules.RoleOwner), string(rules.RoleAdmin)}).Documents(ctx).GetAll()
	if err != nil {
		return email.Contacts{}, fmt.Errorf("list the owners of %s: %w", tenantID, err)
	}
	c := email.Contacts{Name: t.Name}
	for _, snap := range snaps {
		var d memberDoc
		if err := snap.DataTo(&d); err != nil {
			return email.Contacts{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		switch {
		case d.Email == "":
		case d.Role == string(rules.RoleOwner):
			c.Owners = append(c.Owners, d.Email)
		default:
			c.Admins = append(c.Admins, d.Email)
		}
	}
	sort.Strings(c.Owners)
	sort.Strings(c.Admins)
	return c, nil
}
