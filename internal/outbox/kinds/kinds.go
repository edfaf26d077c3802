// Package kinds is the outbox's contract: one Go type per kind of entry, holding that kind's
// payload, used by both ends. Producers (the tenancy, members and billing domains) build entries
// from these types (Encode); the handlers (packages email and billing) get them back typed
// (Handle), so a kind's name and its payload fields are written down once, here.
//
// The stored payload is a persisted format: entries written by an earlier release are still in
// Firestore when the next one reads them. The field names each type encodes to are therefore
// fixed; a new field is added with a decoder that tolerates its absence, never by renaming one.
//
// The package knows the outbox's entry and handler types and nothing else of the system, so that
// every domain package can import it.
package kinds

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/outbox"
)

// Payload is one kind's typed payload. Only this package's types implement it: the set of kinds
// is closed, and All lists it.
type Payload interface {
	// Kind is the entry's kind, which selects its handler.
	Kind() string
	// encode is the payload as stored in an entry of tenantID.
	encode(tenantID string) map[string]any
}

// Decoder is a Payload that reads itself back from a stored payload.
type Decoder[P any] interface {
	Payload
	// decode reads a stored payload leniently: a missing or mistyped field is left zero, and the
	// handler says which fields it cannot do without.
	decode(stored map[string]any) P
}

// All lists every kind, one zero payload each.
var All = []Payload{
	WelcomeEmail{}, InvitationEmail{}, TrialEndingEmail{}, TrialExpiredEmail{}, PaymentFailedEmail{},
	BillingSetup{}, CancelSuperseded{}, CancelSubscription{}, DomainEmail{}, JoinRequestEmail{}, OwnerlessEmail{}, AppEvent{},
	ExportRun{}, ExportReadyEmail{},
}

// Names lists the kinds of ps, or of All when ps is empty, sorted.
func Names(ps ...Payload) []string {
	if len(ps) == 0 {
		ps = All
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Kind()
	}
	sort.Strings(out)
	return out
}

// ID is the id of the entry that performs p: its kind, a dash and key, where key names the one
// occurrence the entry is for (a tenant, a Stripe event, an expiry). The id is the idempotency key
// towards the external system, so the same occurrence must always give the same key.
func ID(p Payload, key string) string { return p.Kind() + "-" + key }

// Encode is p as stored in an entry about tenantID.
func Encode(p Payload, tenantID string) map[string]any { return p.encode(tenantID) }

// Decode reads a stored payload of P's kind.
func Decode[P Decoder[P]](stored map[string]any) P {
	var zero P
	return zero.decode(stored)
}

// Typed turns a handler of P into the outbox handler of P's kind: it decodes the entry's payload
// and passes it on with the delivery.
func Typed[P Decoder[P]](h func(ctx context.Context, d outbox.Delivery, p P) error) outbox.Handler {
	return func(ctx context.Context, d outbox.Delivery) error {
		return h(ctx, d, Decode[P](d.Entry.Payload))
	}
}

// Handle registers h on d as the handler of P's kind.
func Handle[P Decoder[P]](d *outbox.Dispatcher, h func(ctx context.Context, d outbox.Delivery, p P) error) {
	var zero P
	d.Handle(zero.Kind(), Typed(h))
}

// TenantOf is the tenant an entry is about: the entry's tenantId, or else its payload's (the kinds
// that store one, and entries written by hand).
func TenantOf(e outbox.Entry) string {
	if e.TenantID != "" {
		return e.TenantID
	}
	return str(e.Payload, "tenantId")
}

// The readers below accept what Firestore hands back (int64 for integers, []any for arrays) as
// well as what a writer in this process put in the map.

func str(p map[string]any, key string) string {
	s, _ := p[key].(string)
	return strings.TrimSpace(s)
}

// timeOf reads a Firestore timestamp or an RFC 3339 string; zero if absent.
func timeOf(p map[string]any, key string) time.Time {
	switch v := p[key].(type) {
	case time.Time:
		return v
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// int64Of reads an integer; ok is false when key is absent or not a number.
func int64Of(p map[string]any, key string) (n int64, ok bool) {
	switch v := p[key].(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), true
	}
	return 0, false
}

// addresses reads one address or a list of them, trimmed, without empty ones; nil if none.
func addresses(p map[string]any, key string) []string {
	var all []string
	switch v := p[key].(type) {
	case string:
		all = []string{v}
	case []string:
		all = v
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				all = append(all, s)
			}
		}
	}
	var out []string
	for _, s := range all {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// putAddresses stores one address as a string (what every writer has stored so far) and several
// as a list.
func putAddresses(p map[string]any, key string, to []string) {
	switch len(to) {
	case 0:
	case 1:
		p[key] = to[0]
	default:
		p[key] = to
	}
}
