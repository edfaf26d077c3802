package kinds

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/rules"
)

var at = time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC)

// samples holds one filled payload of every kind, its stored form (field names exactly as entries
// already in Firestore carry them) and its kind's decoder.
var samples = []struct {
	p      Payload
	stored map[string]any
	decode func(map[string]any) Payload
}{
	{WelcomeEmail{To: []string{"ada@x.test"}, UID: "u1", OrganizationName: "Acme"},
		map[string]any{"to": "ada@x.test", "uid": "u1", "organizationName": "Acme"}, decodeAs[WelcomeEmail]},
	{InvitationEmail{To: []string{"bob@x.test"}, InvitationID: "t1_INV", OrganizationName: "Acme", Role: rules.RoleAdmin, ExpiresAt: at, InviterEmail: "ada@x.test", Token: "tok"},
		map[string]any{"to": "bob@x.test", "tenantId": "t1", "invitationId": "t1_INV", "organizationName": "Acme", "role": "admin", "expiresAt": at,
			"invitedByEmail": "ada@x.test", "inviterEmail": "ada@x.test", "secret": map[string]any{"token": "tok"}}, decodeAs[InvitationEmail]},
	{TrialEndingEmail{TrialEndsAt: at}, map[string]any{"trialEndsAt": at}, decodeAs[TrialEndingEmail]},
	{TrialExpiredEmail{TrialEndedAt: at}, map[string]any{"tenantId": "t1", "trialEndedAt": at}, decodeAs[TrialExpiredEmail]},
	{PaymentFailedEmail{InvoiceID: "in_1", AmountDue: &Money{Minor: 4900, Currency: "usd"}},
		map[string]any{"tenantId": "t1", "invoiceId": "in_1", "amountDue": int64(4900), "currency": "usd"}, decodeAs[PaymentFailedEmail]},
	{PaymentFailedEmail{}, map[string]any{"tenantId": "t1"}, decodeAs[PaymentFailedEmail]},
	{BillingSetup{PlanID: "starter", StripePriceID: "price_1", Email: "ada@x.test", TrialEndsAt: at},
		map[string]any{"planId": "starter", "stripePriceId": "price_1", "email": "ada@x.test", "trialEndsAt": at}, decodeAs[BillingSetup]},
	{CancelSuperseded{SubscriptionID: "sub_1", SupersededBy: "sub_2"},
		map[string]any{"subscriptionId": "sub_1", "supersededBy": "sub_2"}, decodeAs[CancelSuperseded]},
	{CancelSubscription{}, map[string]any{}, decodeAs[CancelSubscription]},
	{DomainEmail{Domain: "acme.test", Problem: DomainProblemFailed, TXTRecordName: "_tenantry-challenge.acme.test", TXTRecordValue: "tenantry-verification=abc"},
		map[string]any{"tenantId": "t1", "domain": "acme.test", "problem": "failed", "txtRecordName": "_tenantry-challenge.acme.test", "txtRecordValue": "tenantry-verification=abc"}, decodeAs[DomainEmail]},
	{JoinRequestEmail{Domain: "acme.test", Requester: "bob@acme.test", SeatLimit: true},
		map[string]any{"tenantId": "t1", "domain": "acme.test", "requester": "bob@acme.test", "seatLimit": true}, decodeAs[JoinRequestEmail]},
	{AppEvent{Type: "tenant.status_changed", Timestamp: at.Add(123456789), Data: json.RawMessage(`{"tenantId":"t1"}`)},
		map[string]any{"type": "tenant.status_changed", "timestamp": "2026-06-01T12:30:00.123456789Z", "data": `{"tenantId":"t1"}`}, decodeAs[AppEvent]},
	{InvitationEmail{To: []string{"bob@x.test"}, InvitationID: "t1_INV", OrganizationName: "Acme", Role: rules.RoleMember, ExpiresAt: at, InviterName: `the service token "HR sync"`, Token: "tok"},
		map[string]any{"to": "bob@x.test", "tenantId": "t1", "invitationId": "t1_INV", "organizationName": "Acme", "role": "member", "expiresAt": at,
			"invitedByEmail": "", "inviterEmail": "", "inviterName": `the service token "HR sync"`, "secret": map[string]any{"token": "tok"}}, decodeAs[InvitationEmail]},
	{OwnerlessEmail{FormerOwner: "ada@acme.test"}, map[string]any{"tenantId": "t1", "formerOwner": "ada@acme.test"}, decodeAs[OwnerlessEmail]},
	{ExportRun{ExportID: "e1"}, map[string]any{"tenantId": "t1", "exportId": "e1"}, decodeAs[ExportRun]},
	{ExportReadyEmail{ExportID: "e1", URL: "https://api.test/exports/t1/e1?expires=1&sig=x", ExpiresAt: at},
		map[string]any{"tenantId": "t1", "exportId": "e1", "expiresAt": at, "secret": map[string]any{"url": "https://api.test/exports/t1/e1?expires=1&sig=x"}}, decodeAs[ExportReadyEmail]},
}

func decodeAs[P Decoder[P]](stored map[string]any) Payload { return Decode[P](stored) }

func TestEveryKindEncodesToItsStoredFormAndBack(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, s := range samples {
		kind := s.p.Kind()
		covered[kind] = true
		stored := Encode(s.p, "t1")
		if !reflect.DeepEqual(stored, s.stored) {
			t.Errorf("%s is stored as %#v, want %#v (a persisted format: entries already written must still decode)", kind, stored, s.stored)
		}
		if back := s.decode(stored); !reflect.DeepEqual(back, s.p) {
			t.Errorf("%s: encoded and decoded, %#v came back as %#v", kind, s.p, back)
		}
	}
	for _, k := range Names() {
		if !covered[k] {
			t.Errorf("kind %s has no sample here: add one", k)
		}
	}
}

// All must list every payload type of the package: a type missing from it would have no handler
// checked for it (internal/app checks every kind of All is handled).
func TestAllListsEveryKind(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, path := range paths {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Kind" && fn.Recv != nil {
				declared = append(declared, fn.Recv.List[0].Type.(*ast.Ident).Name)
			}
		}
	}
	var listed []string
	for _, p := range All {
		listed = append(listed, reflect.TypeOf(p).Name())
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Errorf("types with a Kind method %v, All lists %v", declared, listed)
	}
	if names := Names(); len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("two kinds share a name: %v", names)
	}
}

// What Firestore hands back differs from what was written (lists as []any, integers as int64),
// and entries written by hand or by tests may spell times as strings.
func TestDecodeReadsWhatTheStoreReturns(t *testing.T) {
	t.Parallel()
	w := Decode[WelcomeEmail](map[string]any{"to": []any{" a@x.test ", "", 3, "b@x.test"}, "organizationName": " Acme "})
	if !slices.Equal(w.To, []string{"a@x.test", "b@x.test"}) || w.OrganizationName != "Acme" {
		t.Errorf("welcome %+v", w)
	}
	if e := Decode[TrialEndingEmail](map[string]any{"trialEndsAt": "2026-06-01T12:30:00Z"}); !e.TrialEndsAt.Equal(at) {
		t.Errorf("trial ending %+v", e)
	}
	if p := Decode[PaymentFailedEmail](map[string]any{"amountDue": 4900.0}); p.AmountDue == nil || p.AmountDue.Minor != 4900 {
		t.Errorf("payment failed %+v", p)
	}
	if i := Decode[InvitationEmail](map[string]any{"to": "a@x.test"}); i.Token != "" || i.To[0] != "a@x.test" {
		t.Errorf("an invitation whose secret was erased: %+v", i)
	}
	if got := TenantOf(outbox.Entry{Payload: map[string]any{"tenantId": "t9"}}); got != "t9" {
		t.Errorf("TenantOf falls back to payload.tenantId: %q", got)
	}
	if got := TenantOf(outbox.Entry{TenantID: "t1", Payload: map[string]any{"tenantId": "t9"}}); got != "t1" {
		t.Errorf("TenantOf prefers the entry's tenant: %q", got)
	}
}

func TestIDNamesTheKindAndTheOccurrence(t *testing.T) {
	t.Parallel()
	if got := ID(BillingSetup{}, "t1"); got != "billing.setup-t1" {
		t.Errorf("ID %q", got)
	}
}
