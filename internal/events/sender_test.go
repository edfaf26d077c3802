package events

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
)

var attempt = outbox.Delivery{IdempotencyKey: "app.event-ABC", Attempt: 1}

// A failed attempt is retried (not permanent) and its error names neither the secret nor the
// URL, whose path or query may carry a token; a malformed entry is permanent.
func TestDeliverErrors(t *testing.T) {
	t.Parallel()
	status := http.StatusInternalServerError
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	clk := clock.NewManual(time.Now())
	ev := kinds.AppEvent{Type: "member.removed", Timestamp: clk.Now(), Data: json.RawMessage(`{"tenantId":"t1"}`)}
	for name, url := range map[string]string{
		"the receiver answers 500": srv.URL + "/hooks?token=tok_hidden",
		"nobody listens":           "http://127.0.0.1:1/hooks?token=tok_hidden",
	} {
		s, err := NewSender(Config{URL: url, Secret: vector(t), Timeout: 2 * time.Second}, clk)
		if err != nil {
			t.Fatal(err)
		}
		err = s.deliver(context.Background(), attempt, ev)
		if err == nil || outbox.IsPermanent(err) {
			t.Errorf("%s: %v; want an error to retry", name, err)
		} else if msg := err.Error(); strings.Contains(msg, "tok_hidden") || strings.Contains(msg, "LaSw") {
			t.Errorf("%s: the error shows the URL or the secret: %s", name, msg)
		}
	}
	s, err := NewSender(Config{URL: srv.URL, Secret: vector(t)}, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.deliver(context.Background(), attempt, kinds.AppEvent{Type: "x"}); !outbox.IsPermanent(err) {
		t.Errorf("an event without data: %v; want a permanent error", err)
	}
	status = http.StatusNoContent
	if err := s.deliver(context.Background(), attempt, ev); err != nil {
		t.Errorf("a 204: %v", err)
	}
}
