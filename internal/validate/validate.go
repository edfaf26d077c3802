// Package validate checks and normalizes client-supplied values at the API boundary, so the
// domain only ever sees canonical input. Every failure is an errs.Invalid naming the field as the
// client sent it, with a reason that says what a valid value looks like.
package validate

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tenantry/tenantry/internal/errs"
)

// Field names as they appear in the GraphQL inputs.
const (
	FieldOrganizationName = "organizationName"
	FieldSubdomain        = "subdomain"
	FieldIdempotencyKey   = "idempotencyKey"
	FieldEmail            = "email"
	FieldContractRef      = "contractReference"
	FieldContactName      = "adminContact.name"
	FieldReason           = "reason"
	FieldName             = "name"
)

const (
	maxOrganizationName = 100 // runes
	minSubdomain        = 3
	maxSubdomain        = 63 // RFC 1123 label limit
	minIdempotencyKey   = 8
	maxIdempotencyKey   = 255
	maxEmail            = 254 // RFC 5321 forward-path limit less the angle brackets
	maxID               = 128
	maxContractRef      = 100 // runes
	maxContactName      = 100 // runes
	minReason           = 3   // runes
	maxReason           = 500 // runes
	maxName             = 100 // runes
)

// OrganizationName trims surrounding white space and accepts 1–100 characters of valid UTF-8
// without control, format or line/paragraph separator characters: those are invisible in the
// SPA and the sales console and let two names that look the same differ (bidi overrides,
// zero-width spaces). It returns the trimmed name.
func OrganizationName(s string) (string, error) {
	const reason = "use 1 to 100 visible characters (letters, digits, spaces and punctuation)"
	return visibleText(FieldOrganizationName, reason, s, 1, maxOrganizationName, false)
}

// ContractReference trims a contract's CRM reference and accepts 1–100 visible characters (as
// OrganizationName): sales and support search by it, and read it in the audit log.
func ContractReference(s string) (string, error) {
	const reason = "use the CRM's reference for the contract: 1 to 100 visible characters, e.g. OPP-2024-0042"
	return visibleText(FieldContractRef, reason, s, 1, maxContractRef, false)
}

// ContactName trims a contract's admin contact's name, which is optional: blank gives "".
// Otherwise it accepts at most 100 visible characters (as OrganizationName).
func ContactName(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	const reason = "use the admin's name, at most 100 visible characters, or leave it out"
	return visibleText(FieldContactName, reason, s, 1, maxContactName, false)
}

// Reason trims a staff operation's reason and accepts 3–500 visible characters; unlike a name it
// may span lines, so line breaks and tabs are allowed. Other control and format characters would
// hide text in the history and the audit log, where the reason is kept.
func Reason(s string) (string, error) {
	const reason = "give a reason of 3 to 500 characters; it is kept in the organization's history and audit log"
	return visibleText(FieldReason, reason, s, minReason, maxReason, true)
}

// Name trims the name of something an owner creates (a service token) and accepts 1–100
// visible characters (as OrganizationName): it is what the owner recognises it by in lists and
// the audit log.
func Name(s string) (string, error) {
	const reason = "use 1 to 100 visible characters that say what it is for, e.g. Migration from the old CRM"
	return visibleText(FieldName, reason, s, 1, maxName, false)
}

// visibleText trims s and accepts minLen–maxLen runes of valid UTF-8 with no invisible rune
// (multiline lets '\n' and '\t' through); any failure is errs.Invalid(field, reason).
func visibleText(field, reason, s string, minLen, maxLen int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", errs.Invalid(field, reason)
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < minLen || n > maxLen {
		return "", errs.Invalid(field, reason)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if invisible(r) {
			return "", errs.Invalid(field, reason)
		}
	}
	return s, nil
}

// invisible reports runes that render as nothing or reorder text: C0/C1 controls, the whole
// Unicode format category (U+200B..U+200F, U+202A..U+202E, U+2066..U+2069, U+FEFF, tags, …)
// and the line and paragraph separators U+2028/U+2029, which are not Cf but break one-line
// display just the same.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// reservedSubdomains must stay sorted (validate_test checks): Subdomain binary-searches it.
// They are names of our own hosts or names a customer could use to impersonate us.
var reservedSubdomains = []string{
	"account", "accounts", "admin", "api", "app", "apps", "assets", "auth",
	"billing", "blog", "cdn", "console", "dashboard", "dev", "dns", "docs",
	"email", "ftp", "graphql", "help", "imap", "internal", "localhost", "login",
	"mail", "mx", "ns", "ns1", "ns2", "playground", "pop", "root", "signup",
	"smtp", "staging", "static", "status", "support", "system", "tenantry", "test",
	"webhooks", "www",
}

// ReservedSubdomains returns a copy of the names no tenant may claim, sorted.
func ReservedSubdomains() []string { return slices.Clone(reservedSubdomains) }

// SubdomainPattern is the regular expression every accepted subdomain matches: an RFC 1123
// host label of 3–63 characters. Exported so callers (and the SPA's docs) share one definition.
const SubdomainPattern = `^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`

var subdomainRe = regexp.MustCompile(SubdomainPattern)

// Subdomain trims surrounding white space and lowercases ASCII letters (a user typing "Acme"
// means "acme"), then requires an RFC 1123 label of 3–63 characters of a-z, 0-9 and '-', not
// starting or ending with '-' and not all digits (a number looks like part of an IP address).
// Only ASCII is case-folded on purpose: strings.ToLower would turn look-alikes such as the
// Kelvin sign U+212A into a plain "k". Reserved names are refused, and so is any label with
// "--" in the third and fourth position (RFC 5891 reserves those for IDNA: "xn--" punycode
// renders as a different, possibly look-alike, name in browsers).
func Subdomain(s string) (string, error) {
	const reason = "use 3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit, e.g. acme-corp"
	s = strings.TrimSpace(s)
	if len(s) > maxSubdomain { // don't copy megabytes just to refuse them
		return "", errs.Invalid(FieldSubdomain, reason)
	}
	s = asciiLower(s)
	if !subdomainRe.MatchString(s) {
		return "", errs.Invalid(FieldSubdomain, reason)
	}
	if strings.Trim(s, "0123456789") == "" {
		return "", errs.Invalid(FieldSubdomain, "include at least one letter or hyphen; a subdomain of digits only is not allowed")
	}
	if len(s) >= 4 && s[2:4] == "--" {
		return "", errs.Invalid(FieldSubdomain, "a subdomain may not have \"--\" as its third and fourth characters (e.g. xn--); choose another one")
	}
	if _, found := slices.BinarySearch(reservedSubdomains, s); found {
		return "", errs.Invalid(FieldSubdomain, "that subdomain is reserved; choose another one of 3 to 63 lowercase letters, digits and hyphens")
	}
	return s, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// IdempotencyKey accepts 8–255 bytes of printable ASCII without spaces and returns it unchanged:
// the key is compared byte for byte with the stored one, so normalizing it could merge two
// distinct requests.
func IdempotencyKey(s string) (string, error) {
	const reason = "use 8 to 255 printable ASCII characters without spaces, e.g. a UUID"
	if len(s) < minIdempotencyKey || len(s) > maxIdempotencyKey {
		return "", errs.Invalid(FieldIdempotencyKey, reason)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return "", errs.Invalid(FieldIdempotencyKey, reason)
		}
	}
	return s, nil
}

// Email trims and lowercases an address and accepts only a bare addr-spec (no display name,
// comments, angle brackets or quoted local part) with one '@', a domain name containing a dot
// (not an IP literal) and at most 254 bytes. Lowercasing makes invitations and member lookups
// match whatever case the user typed; Firebase Auth compares emails case-insensitively too.
func Email(s string) (string, error) {
	const reason = "use a plain email address such as name@example.com"
	// strings.ToLower would replace invalid bytes with U+FFFD, turning garbage into a valid address.
	if !utf8.ValidString(s) {
		return "", errs.Invalid(FieldEmail, reason)
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > maxEmail {
		return "", errs.Invalid(FieldEmail, "use an email address of at most 254 characters")
	}
	if strings.Count(s, "@") != 1 {
		return "", errs.Invalid(FieldEmail, reason)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", errs.Invalid(FieldEmail, reason)
	}
	domain := s[strings.IndexByte(s, '@')+1:]
	if !strings.Contains(domain, ".") || strings.ContainsAny(domain, "[]") {
		return "", errs.Invalid(FieldEmail, reason)
	}
	return s, nil
}

// ID accepts a Firestore document id supplied by a client (e.g. a tenant id in a query):
// 1–128 characters of A-Z, a-z, 0-9, '_' and '-'. Anything else could address another
// path ('/'), be refused by Firestore ('.', '..') or is reserved by it (__name__), so it is
// rejected here rather than turned into an internal error later.
func ID(field, s string) (string, error) {
	const reason = "use the id as returned by the API: 1 to 128 letters, digits, '_' or '-'"
	if len(s) < 1 || len(s) > maxID {
		return "", errs.Invalid(field, reason)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return "", errs.Invalid(field, reason)
		}
	}
	if len(s) >= 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__") {
		return "", errs.Invalid(field, reason)
	}
	return s, nil
}
