package servicetokens

import (
	"strings"
	"testing"
)

func TestBearerRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		id, secret, bearer, err := newSecret()
		if err != nil {
			t.Fatal(err)
		}
		gotID, gotSecret, ok := parseBearer(bearer)
		if !ok || gotID != id || gotSecret != secret || !validID(id) {
			t.Fatalf("parseBearer(%q) = %q %q %v", bearer, gotID, gotSecret, ok)
		}
		if !secretMatches(secret, hashSecret(secret)) || secretMatches(secret+"x", hashSecret(secret)) {
			t.Fatal("secretMatches")
		}
		if seen[secret] || seen[id] {
			t.Fatal("a secret or id repeated")
		}
		seen[secret], seen[id] = true, true
	}
}

func TestParseBearerRefusesOtherShapes(t *testing.T) {
	_, _, good, _ := newSecret()
	for name, bearer := range map[string]string{
		"empty":            "",
		"prefix only":      "tnt_",
		"other prefix":     "tnx_" + good[4:],
		"upper prefix":     "TNT_" + good[4:],
		"short":            good[:len(good)-1],
		"long":             good + "A",
		"no separator":     good[:30] + "-" + good[31:],
		"lowercase id":     "tnt_" + strings.ToLower(good[4:30]) + good[30:],
		"bad secret chars": good[:len(good)-1] + "=",
		"a JWT":            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
	} {
		if _, _, ok := parseBearer(bearer); ok {
			t.Errorf("%s: %q accepted", name, bearer)
		}
	}
}
