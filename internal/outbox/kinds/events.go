package kinds

import (
	"encoding/json"
	"time"
)

// AppEvent is one event to the application (docs/events.md), which package events POSTs, signed,
// to TENANTRY_EVENTS_URL. Stored as {"type", "timestamp", "data"}: the timestamp as RFC 3339 text
// with nanoseconds and data as the JSON text of the body's "data" object, so that every attempt
// sends the same bytes. Build it with tenancy.Events.Emit, which types the data.
type AppEvent struct {
	Type      string          // "tenant.status_changed", …
	Timestamp time.Time       // when the change was decided
	Data      json.RawMessage // a JSON object
}

// Kind implements Payload.
func (AppEvent) Kind() string { return "app.event" }

func (p AppEvent) encode(string) map[string]any {
	return map[string]any{"type": p.Type, "timestamp": p.Timestamp.UTC().Format(time.RFC3339Nano), "data": string(p.Data)}
}

func (AppEvent) decode(s map[string]any) AppEvent {
	p := AppEvent{Type: str(s, "type"), Timestamp: timeOf(s, "timestamp")}
	if data := str(s, "data"); data != "" {
		p.Data = json.RawMessage(data)
	}
	return p
}

// Body is the request body the application receives: {"type", "timestamp", "data"}.
func (p AppEvent) Body() ([]byte, error) {
	return json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{p.Type, p.Timestamp.UTC().Format(time.RFC3339Nano), p.Data})
}
