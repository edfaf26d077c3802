package applink

import (
	"net/url"
	"testing"
)

func TestLink(t *testing.T) {
	b, err := Parse("https://app.example.com/base/")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		query    url.Values
		segments []string
		want     string
	}{
		{nil, nil, "https://app.example.com/base"},
		{nil, []string{"invite", "tok"}, "https://app.example.com/base/invite/tok"},
		{nil, []string{"a/b", ".."}, "https://app.example.com/base/a%2Fb/.."},
		{url.Values{"t": {"x y"}}, []string{"billing"}, "https://app.example.com/base/billing?t=x+y"},
	}
	for _, c := range cases {
		if got := b.Link(c.query, c.segments...); got != c.want {
			t.Errorf("Link(%v, %q) = %s, want %s", c.query, c.segments, got, c.want)
		}
	}
}

func TestParseRefusesWhatIsNotAnAbsoluteHTTPURL(t *testing.T) {
	for _, raw := range []string{"", "app.example.com", "ftp://app.example.com", "https://", "http://[::1"} {
		if _, err := Parse(raw); err == nil {
			t.Errorf("Parse(%q) = nil error", raw)
		}
	}
}
