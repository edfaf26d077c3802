package auth

import (
	"errors"
	"testing"
)

func TestStaffPolicy(t *testing.T) {
	t.Parallel()
	anyDomain, _ := NewStaffPolicy(nil)
	acme, err := NewStaffPolicy([]string{" ACME.com", "", "@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		policy   StaffPolicy
		email    string
		verified bool
		want     error
	}{
		{anyDomain, "ada@example.com", true, nil},
		{anyDomain, "ada@example.com", false, ErrStaffEmailUnverified},
		{anyDomain, "", true, ErrStaffEmailUnverified},
		{acme, "ada@acme.com", true, nil},
		{acme, "Ada@Acme.Example", true, nil},
		{acme, "ada@acme.com", false, ErrStaffEmailUnverified},
		{acme, "ada@eu.acme.com", true, ErrStaffDomain},
		{acme, "ada@acme.com.evil.example", true, ErrStaffDomain},
		{acme, "acme.com@evil.example", true, ErrStaffDomain},
	} {
		if err := c.policy.Admit(c.email, c.verified); !errors.Is(err, c.want) {
			t.Errorf("%v Admit(%q, %v) = %v, want %v", c.policy.Domains(), c.email, c.verified, err, c.want)
		}
	}
	for _, bad := range []string{"acme", "ada@acme.com", "acme..com", "-acme.com", "acme.com/x", "ac me.com"} {
		if _, err := NewStaffPolicy([]string{bad}); err == nil {
			t.Errorf("NewStaffPolicy(%q) accepted", bad)
		}
	}
}
