package auth

import "testing"

// The claim's value is trusted only when it names a staff role; anything else is no role.
func TestParsePlatformRole(t *testing.T) {
	for in, want := range map[string]PlatformRole{
		"super_admin": PlatformSuperAdmin, "sales": PlatformSales, " support ": PlatformSupport,
		"": PlatformNone, "owner": PlatformNone, "SUPER_ADMIN": PlatformNone, "admin": PlatformNone,
	} {
		if got := ParsePlatformRole(in); got != want {
			t.Errorf("ParsePlatformRole(%q) = %q, want %q", in, got, want)
		}
		if got := ParsePlatformRole(in).IsStaff(); got != (want != PlatformNone) {
			t.Errorf("ParsePlatformRole(%q).IsStaff() = %v", in, got)
		}
	}
	if len(PlatformRoles) != 3 {
		t.Errorf("PlatformRoles = %v, want the contract's three staff roles", PlatformRoles)
	}
}
