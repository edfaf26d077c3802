package domains

import (
	_ "embed"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/tenantry/tenantry/internal/errs"
)

//go:embed consumer_domains.txt
var consumerList string

// consumer is the set of consumer mail domains, read once from consumer_domains.txt.
var consumer = parseList(consumerList)

func parseList(s string) map[string]bool {
	out := map[string]bool{}
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out
}

// lookup is the IDNA profile for registration: it maps (lowercases, NFC) and refuses what a
// registry would refuse, so "Bücher.DE" and "xn--bcher-kva.de" give one ASCII name.
var lookup = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// Normalize turns what an admin typed into the domain's one stored form: IDNA to punycode,
// lowercase, no trailing dot. It refuses public suffixes (co.uk) and consumer mail domains
// (gmail.com): nobody can prove they own everyone's address there.
func Normalize(input string) (string, error) {
	s := strings.TrimSuffix(strings.TrimSpace(input), ".")
	s = strings.TrimPrefix(s, "@")
	if s == "" || strings.ContainsAny(s, "@/: ") {
		return "", errs.Invalid("domain", "enter a domain name only, like example.com (no @, scheme or path)")
	}
	ascii, err := lookup.ToASCII(s)
	if err != nil || !strings.Contains(ascii, ".") {
		return "", errs.Invalid("domain", "this is not a valid domain name; enter it like example.com")
	}
	ascii = strings.ToLower(ascii)
	if consumer[ascii] {
		return "", errs.Invalid("domain", "this is a public email provider that anyone can use; add your organization's own domain instead")
	}
	registrable, err := publicsuffix.EffectiveTLDPlusOne(ascii)
	if err != nil || !strings.HasSuffix(ascii, registrable) {
		return "", errs.Invalid("domain", "this is a public suffix (like co.uk) that no single organization owns; add your organization's own domain under it, like example.co.uk")
	}
	return ascii, nil
}

// OfEmail returns the normalized domain of an email address, or "" when it has none that could
// be claimed.
func OfEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	d, err := Normalize(email[at+1:])
	if err != nil {
		return ""
	}
	return d
}
