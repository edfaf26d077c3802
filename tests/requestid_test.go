package tests

// Request ids (issue 10, item 8): the server makes every request's id itself. A client's
// X-Request-Id is only a correlation id, echoed in X-Client-Request-Id; it never stands as the id
// that history and audit entries record and operators trust.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestClientCannotChooseTheRequestID(t *testing.T) {
	t.Parallel()
	s := shared(t)
	_, id := ownerAndTenant(t, s)
	support := staffUser(t, "support")
	const forged = "forged-1234567"

	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($id: ID!) { setTenantStatus(tenantId: $id, status: SUSPENDED, reason: "chargeback under review") { status } }`,
		"variables": map[string]any{"id": id},
	})
	resp, err := s.graphql().Send(support.IDToken, http.Header{"X-Request-Id": {forged}}, bytes.NewReader(body))
	if err != nil || resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), `"SUSPENDED"`) {
		t.Fatalf("setTenantStatus: HTTP %d %s (%v)", resp.Status, resp.Body, err)
	}
	server := resp.Header.Get("X-Request-Id")
	if server == "" || server == forged {
		t.Errorf("response X-Request-Id = %q, want the server's own id, not the client's %q", server, forged)
	}
	if got := resp.Header.Get("X-Client-Request-Id"); got != forged {
		t.Errorf("X-Client-Request-Id = %q, want the client's %q echoed as a correlation id", got, forged)
	}

	h := historyOf(t, id)
	audit := auditOf(t, id, "tenant.set_status")
	for what, got := range map[string]any{"history": h[len(h)-1]["requestId"], "audit": audit["requestId"]} {
		if got == forged || got != server {
			t.Errorf("%s entry requestId = %v, want the server's %q, never the client's %q", what, got, server, forged)
		}
	}
}

// A sane X-Request-Id is echoed as the correlation id; anything else is dropped. X-Request-Id
// always answers with a fresh id of the server's.
func TestClientRequestIDIsBounded(t *testing.T) {
	t.Parallel()
	s := shared(t)
	for _, c := range []struct{ sent, echoed string }{
		{"trace-12345678", "trace-12345678"},
		{"bad id\twith\"junk", ""},
		{"short", ""},
		{strings.Repeat("a", 65), ""},
		{"", ""},
	} {
		h := http.Header{}
		if c.sent != "" {
			h.Set("X-Request-Id", c.sent)
		}
		resp, _ := s.do(t, http.MethodGet, "/healthz", h, nil)
		if got := resp.Header.Get("X-Client-Request-Id"); got != c.echoed {
			t.Errorf("sent %q: X-Client-Request-Id = %q, want %q", c.sent, got, c.echoed)
		}
		if got := resp.Header.Get("X-Request-Id"); got == "" || got == c.sent || strings.ContainsAny(got, " \t\"") {
			t.Errorf("sent %q: X-Request-Id = %q, want a fresh id of the server's", c.sent, got)
		}
	}
}
