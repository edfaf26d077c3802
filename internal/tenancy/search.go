package tenancy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Staff search over tenants. Firestore has no full-text search, so each tenant document carries
// searchTokens: the lowercase prefixes of the words of its name, subdomain and contract reference,
// and of each of those as a whole phrase (words joined by one space). A search is one
// `searchTokens array-contains <normalized term>` query, so it pages exactly like the unfiltered
// list. It finds a tenant when the term is the start of one of its words ("engi" → "Analytical
// Engines") or the start of one of the three values ("acme co" → "Acme Corp", "opp-00" →
// "OPP-0042"); terms are cut to MaxSearchTokenLen characters.

// Bounds of search tokens, in characters.
const (
	MinSearchTokenLen = 2  // one letter would match most tenants
	MaxSearchTokenLen = 24 // longer prefixes add index entries and little precision
	// maxSearchTokens caps a tenant's tokens (Firestore indexes every array element).
	maxSearchTokens = 300
)

// SearchWords splits s into lowercase words of letters and digits; punctuation and spaces
// separate words ("OPP-0042/b" → "opp", "0042", "b").
func SearchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// SearchTokens returns the tokens of a tenant with these values ("" values are skipped), without
// duplicates, at most maxSearchTokens.
func SearchTokens(values ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		runes := []rune(s)
		for n := MinSearchTokenLen; n <= min(len(runes), MaxSearchTokenLen); n++ {
			// A phrase's prefix that ends at a space is the same token without it.
			p := strings.TrimRight(string(runes[:n]), " ")
			if !seen[p] && len(out) < maxSearchTokens && utf8.RuneCountInString(p) >= MinSearchTokenLen {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for _, v := range values {
		words := SearchWords(v)
		add(strings.Join(words, " "))
		for _, w := range words {
			add(w)
		}
	}
	return out
}

// SearchTerm normalizes a staff search the way SearchTokens normalizes values, and reports false
// when it has fewer than MinSearchTokenLen characters.
func SearchTerm(s string) (string, bool) {
	term := strings.Join(SearchWords(s), " ")
	if utf8.RuneCountInString(term) > MaxSearchTokenLen {
		term = strings.TrimRight(string([]rune(term)[:MaxSearchTokenLen]), " ")
	}
	return term, utf8.RuneCountInString(term) >= MinSearchTokenLen
}
