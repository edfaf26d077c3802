package validate

import (
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tenantry/tenantry/internal/errs"
)

// The fuzzers check invariants rather than exact outputs: no panic, rejections carry the right
// field, and an accepted value is canonical (validating it again returns it unchanged), which is
// what lets callers store the output and compare it later.

// rejected fails unless err is a validation error for field and out is empty.
func rejected(t *testing.T, field, in, out string, err error) {
	t.Helper()
	if !errors.Is(err, errs.ErrInvalidInput) || errs.Field(err) != field {
		t.Fatalf("%q: error %v, want invalid %s", in, err, field)
	}
	if out != "" {
		t.Fatalf("%q: rejected but returned %q", in, out)
	}
}

// idempotent fails unless fn(out) == out.
func idempotent(t *testing.T, fn func(string) (string, error), in, out string) {
	t.Helper()
	again, err := fn(out)
	if err != nil || again != out {
		t.Fatalf("%q -> %q, but validating that again gives %q, %v", in, out, again, err)
	}
}

func FuzzOrganizationName(f *testing.F) {
	visibleTextFuzz{fn: OrganizationName, field: FieldOrganizationName, minLen: 1, maxLen: 100}.fuzz(f,
		"Acme Corp", "  Acme  ", "", " ", "株式会社テスト", "Rocket 🚀",
		"Ac\u200bme", "\u202eAcme", "Acme\u2028", "\ufeffAcme", "Acme\x00", "\xff",
		strings.Repeat("é", 100), strings.Repeat("é", 101), "\u0085Acme\u0085", "\u00a0x\u3000")
}

func FuzzContractReference(f *testing.F) {
	visibleTextFuzz{fn: ContractReference, field: FieldContractRef, minLen: 1, maxLen: 100}.fuzz(f,
		"OPP-2024-0042", "  OPP-1  ", "", " ", "SF\u200b-42", "\u202eOPP",
		"OPP\n42", "\xff", strings.Repeat("x", 100), strings.Repeat("x", 101), "契約-7")
}

func FuzzContactName(f *testing.F) {
	visibleTextFuzz{fn: ContactName, field: FieldContactName, minLen: 1, maxLen: 100, optional: true}.fuzz(f,
		"Ada Lovelace", "", "  ", "\t", "Ada\u200dLovelace", "Ada\nLovelace",
		"\xffAda", strings.Repeat("é", 100), strings.Repeat("é", 101), "李小龍")
}

func FuzzReason(f *testing.F) {
	visibleTextFuzz{fn: Reason, field: FieldReason, minLen: 3, maxLen: 500, allowed: "\n\t"}.fuzz(f,
		"chargeback on invoice 42", "ab", " abc ", "line one\nline two",
		"col\tcol", "hidden\u202etext", "cr\rlf", "zero\u200bwidth", "\xffreason",
		strings.Repeat("r", 500), strings.Repeat("r", 501), "\n\nabc\n")
}

// visibleTextFuzz describes a validator of trimmed, visible text for its fuzzer.
type visibleTextFuzz struct {
	fn             func(string) (string, error)
	field          string
	minLen, maxLen int    // runes
	allowed        string // invisible runes it lets through
	optional       bool   // a blank input is accepted as "" (no value)
}

// fuzz checks that an accepted value is valid UTF-8 of minLen–maxLen runes, trimmed, taken from
// the input as is, free of invisible runes other than allowed, and canonical.
func (v visibleTextFuzz) fuzz(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := v.fn(in)
		if err != nil {
			rejected(t, v.field, in, out, err)
			return
		}
		if v.optional && out == "" {
			if strings.TrimSpace(in) != "" {
				t.Fatalf("%q: accepted as no value", in)
			}
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("%q: accepted invalid UTF-8 %q", in, out)
		}
		if n := utf8.RuneCountInString(out); n < v.minLen || n > v.maxLen {
			t.Fatalf("%q: accepted %d runes", in, n)
		}
		if strings.TrimSpace(out) != out {
			t.Fatalf("%q: output %q not trimmed", in, out)
		}
		if !strings.Contains(in, out) {
			t.Fatalf("%q: output %q is not a substring of the input", in, out)
		}
		for _, r := range out {
			if invisible(r) && !strings.ContainsRune(v.allowed, r) {
				t.Fatalf("%q: accepted control/format rune %U", in, r)
			}
		}
		idempotent(t, v.fn, in, out)
	})
}

func FuzzSubdomain(f *testing.F) {
	for _, s := range []string{"acme", "Acme", " ACME-corp ", "ab", "abc", "-acme", "acme-",
		"12345", "123a", "xn--80ak6aa92e", "XN--abc", "ab--cd", "www", "WwW", "\u212acme",
		"ａｃｍｅ", "acme.corp", "acme_corp", strings.Repeat("a", 63), strings.Repeat("a", 64),
		"\tadmin\n", "\u0130stanbul"} {
		f.Add(s)
	}
	re := regexp.MustCompile(SubdomainPattern)
	rfc1123 := regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Subdomain(in)
		if err != nil {
			rejected(t, FieldSubdomain, in, out, err)
			return
		}
		if !re.MatchString(out) || !rfc1123.MatchString(out) || len(out) < 3 || len(out) > 63 {
			t.Fatalf("%q: accepted %q, not a 3-63 character RFC 1123 label", in, out)
		}
		if _, reserved := slices.BinarySearch(reservedSubdomains, out); reserved {
			t.Fatalf("%q: accepted reserved %q", in, out)
		}
		if strings.HasPrefix(out, "xn--") || len(out) >= 4 && out[2:4] == "--" {
			t.Fatalf("%q: accepted IDNA-reserved %q", in, out)
		}
		if strings.Trim(out, "0123456789") == "" {
			t.Fatalf("%q: accepted all-digit %q", in, out)
		}
		// Only ASCII case folding and trimming: the output is the trimmed input, case aside.
		if !strings.EqualFold(strings.TrimSpace(in), out) || len(strings.TrimSpace(in)) != len(out) {
			t.Fatalf("%q: output %q is not the trimmed, ASCII-lowercased input", in, out)
		}
		idempotent(t, Subdomain, in, out)
	})
}

func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{"3f2b8c1e-9a4d-4e7b-8f21-6c0d5a9e7b13", "abcdefgh", "abcdefg",
		"abcd efgh", " abcdefgh", "abcdefgh\n", "abcdéfgh", "\x7fabcdefgh", strings.Repeat("k", 255),
		strings.Repeat("k", 256), "!\"#$%&'()*+,-./~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := IdempotencyKey(in)
		if err != nil {
			rejected(t, FieldIdempotencyKey, in, out, err)
			return
		}
		if out != in {
			t.Fatalf("%q: key changed to %q", in, out)
		}
		if len(out) < 8 || len(out) > 255 {
			t.Fatalf("%q: accepted %d bytes", in, len(out))
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] > '~' {
				t.Fatalf("%q: accepted byte %#x", in, out[i])
			}
		}
		idempotent(t, IdempotencyKey, in, out)
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "Ada@Example.COM", " ada@example.com ",
		"ada@localhost", "Ada <ada@example.com>", "<ada@example.com>", `"a b"@example.com`,
		"ada@[1.2.3.4]", "a@b@c.com", "ada@example.com (c)", ".a@b.com", "a..b@c.com",
		"ada\xff@example.com", "\u212a@example.com", "\u0130@example.com", "ä@bücher.de",
		"a@b.c", "=?utf-8?q?a?=@b.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Email(in)
		if err != nil {
			rejected(t, FieldEmail, in, out, err)
			return
		}
		if len(out) > 254 || strings.Count(out, "@") != 1 || !utf8.ValidString(out) {
			t.Fatalf("%q: accepted %q", in, out)
		}
		if out != strings.ToLower(out) || strings.TrimSpace(out) != out {
			t.Fatalf("%q: output %q not lowercase and trimmed", in, out)
		}
		a, perr := mail.ParseAddress(out)
		if perr != nil || a.Address != out || a.Name != "" {
			t.Fatalf("%q: output %q is not a bare address: %v", in, out, perr)
		}
		local, domain, _ := strings.Cut(out, "@")
		if local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(domain, "[]") {
			t.Fatalf("%q: accepted %q", in, out)
		}
		idempotent(t, Email, in, out)
	})
}

func FuzzID(f *testing.F) {
	for _, s := range []string{"aB3dE5fG7hJ9kL1mN2pQ", "", "a", "..", "__name__", "a/b", "__"} {
		f.Add(s)
	}
	fn := func(s string) (string, error) { return ID("tenantId", s) }
	f.Fuzz(func(t *testing.T, in string) {
		out, err := fn(in)
		if err != nil {
			rejected(t, "tenantId", in, out, err)
			return
		}
		if out != in || strings.ContainsAny(out, "/.") || out == "" || len(out) > 128 {
			t.Fatalf("%q: accepted %q", in, out)
		}
		idempotent(t, fn, in, out)
	})
}
