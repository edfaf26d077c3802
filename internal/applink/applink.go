// Package applink builds absolute links into the SPA from its base URL (TENANTRY_APP_URL): the
// emails and Stripe's return pages both send people there.
package applink

import (
	"fmt"
	"net/url"
	"strings"
)

// Base is the SPA's base URL, parsed once.
type Base struct{ u url.URL }

// Parse accepts an absolute http(s) URL; a trailing slash is dropped so that links never hold "//".
func Parse(raw string) (Base, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Base{}, fmt.Errorf("app URL %q: want an absolute http(s) URL such as https://app.example.com", raw)
	}
	return Base{u: *u}, nil
}

// Link appends segments to the base path, each escaped on its own (so an id holding "/" or ".."
// stays one segment), and sets query when it is not nil.
func (b Base) Link(query url.Values, segments ...string) string {
	u := b.u
	p, rp := u.Path, u.EscapedPath()
	for _, seg := range segments {
		p += "/" + seg
		rp += "/" + url.PathEscape(seg)
	}
	u.Path, u.RawPath = p, rp
	if query != nil {
		u.RawQuery = query.Encode()
	}
	return u.String()
}
