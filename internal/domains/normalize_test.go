package domains

import (
	"testing"

	"github.com/tenantry/tenantry/internal/errs"
)

func TestNormalizeGivesOneFormPerDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"bücher.de":          "xn--bcher-kva.de",
		"xn--bcher-kva.de":   "xn--bcher-kva.de",
		"BÜCHER.DE.":         "xn--bcher-kva.de",
		" Example.COM ":      "example.com",
		"@example.com":       "example.com",
		"mail.example.co.uk": "mail.example.co.uk",
		"example.co.uk":      "example.co.uk",
	} {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNormalizeRefusesWhatNoOrganizationOwns(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"gmail.com", "GMail.com.", "outlook.com", "yahoo.com", "icloud.com", "proton.me", // consumer mail
		"co.uk", "com", "uk", "github.io", // public suffixes
		"", ".", "not a domain", "a@b.com", "https://example.com", "exa_mple.com", "localhost",
	} {
		got, err := Normalize(in)
		if err == nil || errs.Field(err) != "domain" {
			t.Errorf("Normalize(%q) = %q, %v; want a BAD_USER_INPUT on field domain", in, got, err)
		}
	}
}

func TestOfEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ada@Bücher.de": "xn--bcher-kva.de", "ada@gmail.com": "", "no-at-sign": "", "x@co.uk": "",
	} {
		if got := OfEmail(in); got != want {
			t.Errorf("OfEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
