package validate

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/errs"
)

type tcase struct {
	name string
	in   string
	want string // expected output when ok
	ok   bool
}

// check runs cases against fn and asserts rejected ones carry ErrInvalidInput and field.
func check(t *testing.T, field string, fn func(string) (string, error), cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fn(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("%q: unexpected error %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("%q: got %q, want %q", tc.in, got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("%q: accepted as %q, want rejection", tc.in, got)
			}
			if !errors.Is(err, errs.ErrInvalidInput) {
				t.Fatalf("%q: error %v does not match ErrInvalidInput", tc.in, err)
			}
			if f := errs.Field(err); f != field {
				t.Fatalf("%q: field %q, want %q", tc.in, f, field)
			}
			if got != "" {
				t.Fatalf("%q: rejected input returned %q", tc.in, got)
			}
		})
	}
}

func ok(name, in, want string) tcase { return tcase{name: name, in: in, want: want, ok: true} }
func bad(name, in string) tcase      { return tcase{name: name, in: in} }

func TestOrganizationName(t *testing.T) {
	check(t, "organizationName", OrganizationName, []tcase{
		ok("plain", "Acme Corp", "Acme Corp"),
		ok("trimmed", "  \tAcme\n ", "Acme"),
		ok("unicode space trimmed", "\u00a0\u3000Acme\u2003", "Acme"),
		ok("one rune", "A", "A"),
		ok("non-latin", "株式会社テスト", "株式会社テスト"),
		ok("emoji", "Rocket 🚀 Labs", "Rocket 🚀 Labs"),
		ok("punctuation", "O'Brien & Sons, Ltd.", "O'Brien & Sons, Ltd."),
		ok("100 runes", strings.Repeat("é", 100), strings.Repeat("é", 100)),
		ok("100 runes after trim", "  "+strings.Repeat("a", 100)+"  ", strings.Repeat("a", 100)),
		bad("empty", ""),
		bad("only spaces", " \t\n\u00a0"),
		bad("101 runes", strings.Repeat("é", 101)),
		bad("invalid utf8", "Acme\xff"),
		bad("truncated utf8", "Acme\xe6\x97"),
		bad("NUL", "Ac\x00me"),
		bad("tab inside", "Ac\tme"),
		bad("newline inside", "Acme\nCorp"),
		bad("DEL", "Acme\x7f"),
		bad("C1 control", "Acme\u0085Corp"),
		bad("zero width space", "Ac\u200bme"),
		bad("ZWNJ", "Ac\u200cme"),
		bad("ZWJ", "Ac\u200dme"),
		bad("LRM", "Acme\u200e"),
		bad("RLM", "\u200fAcme"),
		bad("line separator", "Acme\u2028Corp"),
		bad("paragraph separator", "Acme\u2029Corp"),
		bad("LRE", "\u202aAcme"),
		bad("RLO", "Acme\u202eproC"),
		bad("LRI", "\u2066Acme\u2069"),
		bad("FSI", "Acme\u2068"),
		bad("BOM", "\ufeffAcme"),
		bad("word joiner", "Ac\u2060me"),
		bad("soft hyphen", "Ac\u00adme"),
		bad("tag character", "Acme\U000E0041"),
	})
}

func TestSubdomain(t *testing.T) {
	check(t, "subdomain", Subdomain, []tcase{
		ok("plain", "acme", "acme"),
		ok("uppercase folded", "Acme", "acme"),
		ok("mixed", " ACME-Corp-42 ", "acme-corp-42"),
		ok("three chars", "abc", "abc"),
		ok("digits and letter", "123a", "123a"),
		ok("leading digit", "9lives", "9lives"),
		ok("63 chars", strings.Repeat("a", 63), strings.Repeat("a", 63)),
		ok("inner double hyphen", "acme--corp", "acme--corp"),
		ok("hyphen between digits", "1-2", "1-2"),
		ok("reserved prefix is fine", "wwwacme", "wwwacme"),
		ok("reserved with suffix", "admin-acme", "admin-acme"),
		bad("empty", ""),
		bad("too short", "ab"),
		bad("too short after trim", "  ab  "),
		bad("64 chars", strings.Repeat("a", 64)),
		bad("leading hyphen", "-acme"),
		bad("trailing hyphen", "acme-"),
		bad("underscore", "acme_corp"),
		bad("dot", "acme.corp"),
		bad("space inside", "acme corp"),
		bad("all digits", "12345"),
		bad("punycode", "xn--80ak6aa92e"),
		bad("punycode upper", "XN--80ak6aa92e"),
		bad("other ACE prefix", "ab--cd"),
		bad("kelvin sign", "\u212acme"),
		bad("dotless i lookalike", "adm\u0131n"),
		bad("fullwidth", "ａｃｍｅ"),
		bad("cyrillic a", "\u0430cme"),
		bad("NUL", "acme\x00"),
		bad("reserved www", "www"),
		bad("reserved upper", "WWW"),
		bad("reserved padded", "  Admin "),
		bad("reserved tenantry", "tenantry"),
		bad("reserved localhost", "localhost"),
		bad("reserved ns1", "ns1"),
		bad("invalid utf8", "acme\xff"),
	})
}

func TestReservedSubdomains(t *testing.T) {
	r := ReservedSubdomains()
	if !slices.IsSorted(r) {
		t.Fatalf("reserved list must be sorted for binary search: %v", r)
	}
	if len(slices.Compact(slices.Clone(r))) != len(r) {
		t.Fatalf("reserved list has duplicates: %v", r)
	}
	want := []string{"www", "api", "admin", "app", "apps", "mail", "email", "smtp", "imap", "pop",
		"ftp", "ns", "ns1", "ns2", "dns", "mx", "static", "assets", "cdn", "status", "support",
		"help", "docs", "blog", "dev", "staging", "test", "internal", "auth", "login", "signup",
		"account", "accounts", "billing", "dashboard", "console", "graphql", "playground",
		"webhooks", "tenantry", "root", "system", "localhost"}
	for _, w := range want {
		if !slices.Contains(r, w) {
			t.Errorf("%q is not reserved", w)
		}
	}
	// Every reserved name is refused, including the short ones the length rule would catch anyway.
	for _, name := range r {
		if _, err := Subdomain(name); errs.Field(err) != "subdomain" {
			t.Errorf("Subdomain(%q) = %v, want rejection", name, err)
		}
	}
	r[0] = "mutated"
	if ReservedSubdomains()[0] == "mutated" {
		t.Fatal("ReservedSubdomains must return a copy")
	}
}

func TestIdempotencyKey(t *testing.T) {
	uuid := "3f2b8c1e-9a4d-4e7b-8f21-6c0d5a9e7b13"
	check(t, "idempotencyKey", IdempotencyKey, []tcase{
		ok("uuid", uuid, uuid),
		ok("8 bytes", "abcdefgh", "abcdefgh"),
		ok("255 bytes", strings.Repeat("k", 255), strings.Repeat("k", 255)),
		ok("all printable", "!\"#$%&'()*+,-./~", "!\"#$%&'()*+,-./~"),
		ok("case kept", "AbCdEfGh", "AbCdEfGh"),
		bad("empty", ""),
		bad("7 bytes", "abcdefg"),
		bad("256 bytes", strings.Repeat("k", 256)),
		bad("space", "abcd efgh"),
		bad("leading space not trimmed", " abcdefgh"),
		bad("trailing newline", "abcdefgh\n"),
		bad("tab", "abcd\tefgh"),
		bad("DEL", "abcdefgh\x7f"),
		bad("NUL", "abcdefgh\x00"),
		bad("non-ascii", "abcdéfgh"),
		bad("invalid utf8", "abcdefgh\xff"),
	})
}

func TestEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".io"
	if len(long) != 254 {
		t.Fatalf("fixture is %d bytes", len(long))
	}
	check(t, "email", Email, []tcase{
		ok("plain", "ada@example.com", "ada@example.com"),
		ok("lowercased", "Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
		ok("trimmed", "  ada@example.com\n", "ada@example.com"),
		ok("plus tag", "ada+tenantry@example.co.uk", "ada+tenantry@example.co.uk"),
		ok("subdomain", "ops@mail.example.org", "ops@mail.example.org"),
		ok("254 bytes", long, long),
		bad("empty", ""),
		bad("no at", "ada.example.com"),
		bad("two ats", "ada@b@example.com"),
		bad("no domain dot", "ada@localhost"),
		bad("empty local", "@example.com"),
		bad("empty domain", "ada@"),
		bad("display name", "Ada <ada@example.com>"),
		bad("angle brackets", "<ada@example.com>"),
		bad("comment", "ada@example.com (Ada)"),
		bad("quoted local", `"ada lovelace"@example.com`),
		bad("quoted at", `"a@b"@example.com`),
		bad("domain literal", "ada@[192.168.0.1]"),
		bad("domain literal dotted", "ada@[1.2.3.4].com"),
		bad("list", "ada@example.com, bob@example.com"),
		bad("leading dot", ".ada@example.com"),
		bad("double dot", "ada..l@example.com"),
		bad("trailing dot domain", "ada@example.com."),
		bad("space inside", "ada @example.com"),
		bad("255 bytes", "a"+long),
		bad("invalid utf8", "ada\xff@example.com"),
		bad("newline inside", "ada@exam\nple.com"),
	})
}

func TestID(t *testing.T) {
	fn := func(s string) (string, error) { return ID("tenantId", s) }
	check(t, "tenantId", fn, []tcase{
		ok("firestore auto id", "aB3dE5fG7hJ9kL1mN2pQ", "aB3dE5fG7hJ9kL1mN2pQ"),
		ok("one char", "a", "a"),
		ok("underscore and hyphen", "t_1-x", "t_1-x"),
		ok("128 chars", strings.Repeat("z", 128), strings.Repeat("z", 128)),
		ok("leading double underscore only", "__abc", "__abc"),
		ok("two underscores", "__", "__"),
		bad("empty", ""),
		bad("129 chars", strings.Repeat("z", 129)),
		bad("slash", "tenants/abc"),
		bad("dot", "."),
		bad("dotdot", ".."),
		bad("reserved dunder", "__name__"),
		bad("space", "ab c"),
		bad("non-ascii", "ténant"),
		bad("not trimmed", " abc"),
	})
	if _, err := ID("memberId", "a/b"); errs.Field(err) != "memberId" {
		t.Fatalf("field not propagated: %v", err)
	}
}

// Reasons are shown to users: they must not echo the input back (it may be hostile) and must
// say what a valid value looks like, which every one of ours does by mentioning an example or
// the allowed characters.
func TestReasonsAreUserSafe(t *testing.T) {
	hostile := "<script>\u202e"
	for _, fn := range []func(string) (string, error){OrganizationName, Subdomain, IdempotencyKey, Email} {
		_, err := fn(hostile + strings.Repeat("x", 300))
		var ve *errs.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("want ValidationError, got %v", err)
		}
		if strings.Contains(ve.Reason, "<script>") || ve.Reason == "" {
			t.Fatalf("unsafe reason %q", ve.Reason)
		}
	}
}
