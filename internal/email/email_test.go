package email

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/testenv"
)

func TestEveryTemplateRenders(t *testing.T) {
	t.Parallel()
	c := Common{Product: "Tenantry", URL: "https://app.example.com/x?y=1&z=2"}
	day := time.Date(2026, 5, 1, 15, 0, 0, 0, time.UTC)
	data := map[Template]any{
		TemplateWelcome:       WelcomeData{Common: c, OrganizationName: "Acme"},
		TemplateInvitation:    InvitationData{Common: c, OrganizationName: "Acme", Role: "admin", InviterEmail: "boss@acme.test", ExpiresAt: day},
		TemplateTrialEnding:   TrialEndingData{Common: c, OrganizationName: "Acme", TrialEndsAt: day},
		TemplateTrialExpired:  TrialExpiredData{Common: c, OrganizationName: "Acme", TrialEndedAt: day},
		TemplatePaymentFailed: PaymentFailedData{Common: c, OrganizationName: "Acme", Amount: "49.00 USD"},
		TemplateDomainProblem: DomainProblemData{Common: c, OrganizationName: "Acme", Domain: "acme.test", Failed: true,
			TXTRecordName: "_tenantry-challenge.acme.test", TXTRecordValue: "tenantry-verification=abc"},
		TemplateJoinRequest: JoinRequestData{Common: c, OrganizationName: "Acme", Domain: "acme.test", Requester: "bob@acme.test", SeatLimit: true},
		TemplateOwnerless:   OwnerlessData{Common: c, OrganizationName: "Acme", FormerOwner: "ada@acme.test"},
		TemplateExportReady: ExportReadyData{Common: c, OrganizationName: "Acme", ExpiresAt: day},
	}
	if len(data) != len(Templates) {
		t.Fatalf("test data for %d templates, %d exist", len(data), len(Templates))
	}
	for name, d := range data {
		r, err := Render(name, d)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r.Subject == "" || strings.ContainsAny(r.Subject, "\r\n") || !strings.Contains(r.Subject, "Acme") {
			t.Errorf("%s: subject %q", name, r.Subject)
		}
		if !strings.Contains(r.Text, c.URL) || !strings.Contains(r.Text, "Acme") {
			t.Errorf("%s: the text lacks the link or the name:\n%s", name, r.Text)
		}
		if !strings.Contains(r.HTML, `href="https://app.example.com/x?y=1&amp;z=2"`) || !strings.Contains(r.HTML, "<title>") {
			t.Errorf("%s: the HTML lacks the escaped link:\n%s", name, r.HTML)
		}
		if strings.Contains(r.Text, "<no value>") || strings.Contains(r.HTML, "<no value>") {
			t.Errorf("%s: a field is missing from the data", name)
		}
	}
	r, _ := Render(TemplateDomainProblem, DomainProblemData{Common: c, OrganizationName: "Acme", Domain: "acme.test"})
	if !strings.Contains(r.Subject, "missing") || !strings.Contains(r.Text, "no longer there") {
		t.Errorf("the email about a missing record says:\n%s\n%s", r.Subject, r.Text)
	}
	r, _ = Render(TemplateTrialExpired, TrialExpiredData{Common: c, OrganizationName: "Acme"})
	if strings.Contains(r.Text, "0001") {
		t.Errorf("an unknown trial end is printed as a date:\n%s", r.Text)
	}
	if _, err := Render("nope", nil); err == nil {
		t.Error("Render of an unknown template succeeded")
	}
}

func TestNamesAreEscapedInHTMLAndHeadersStayOneLine(t *testing.T) {
	t.Parallel()
	r, err := Render(TemplateWelcome, WelcomeData{Common: Common{Product: "Tenantry", URL: "http://x"}, OrganizationName: "<script>alert(1)</script>\r\nBcc: evil@x.test"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") {
		t.Error("the organization name reached the HTML unescaped")
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("subject %q spans lines", r.Subject)
	}
}

func TestLinks(t *testing.T) {
	t.Parallel()
	m, err := NewMailer(nil, nil, "https://app.example.com/base/", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.app.Link(nil, "tenants", "a/b c", "billing"); got != "https://app.example.com/base/tenants/a%2Fb%20c/billing" {
		t.Errorf("link = %s", got)
	}
	if got := m.app.Link(map[string][]string{"token": {"t+k/=="}}, "invitations", "accept"); got != "https://app.example.com/base/invitations/accept?token=t%2Bk%2F%3D%3D" {
		t.Errorf("link with query = %s", got)
	}
	for _, bad := range []string{"", "app.example.com", "ftp://x", "http://"} {
		if _, err := NewMailer(nil, nil, bad, ""); err == nil {
			t.Errorf("NewMailer accepted app URL %q", bad)
		}
	}
}

func TestNewSMTPSender(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, starttls string
		port          int
		implicit      bool
		policy        mail.TLSPolicy
		user          string
	}{
		{"smtp://127.0.0.1:1025", "", 1025, false, mail.TLSOpportunistic, ""},
		{"smtp://mail.example.com", "", 25, false, mail.TLSOpportunistic, ""},
		{"smtp://u:p@mail.example.com:587", "", 587, false, mail.TLSMandatory, "u"},
		{"smtp://u:p@mail.example.com:587", "opportunistic", 587, false, mail.TLSOpportunistic, "u"},
		{"smtp://127.0.0.1:1025", "off", 1025, false, mail.NoTLS, ""},
		{"smtps://u:p@mail.example.com", "", 465, true, mail.TLSMandatory, "u"},
	} {
		s, err := NewSMTPSender(SMTPConfig{URL: tc.url, From: "Tenantry <no-reply@tenantry.local>", StartTLS: tc.starttls})
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if s.port != tc.port || s.implicit != tc.implicit || s.policy != tc.policy || s.user != tc.user {
			t.Errorf("%s (starttls %q): port %d implicit %v policy %s user %q", tc.url, tc.starttls, s.port, s.implicit, s.policy, s.user)
		}
		if s.Product() != "Tenantry" {
			t.Errorf("Product() = %q", s.Product())
		}
	}
	for _, bad := range []string{"http://x:25", "smtp://", "smtp://h:0", "smtp://h:99999", "smtp://user:hunter2@h:bad"} {
		_, err := NewSMTPSender(SMTPConfig{URL: bad, From: "a@b.test"})
		if err == nil {
			t.Errorf("NewSMTPSender accepted %q", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error for %q leaks the password: %v", bad, err)
		}
	}
	if _, err := NewSMTPSender(SMTPConfig{URL: "smtp://h", From: "not an address"}); err == nil {
		t.Error("NewSMTPSender accepted a bad From")
	}
	if _, err := NewSMTPSender(SMTPConfig{URL: "smtp://h", From: "a@b.test", StartTLS: "maybe"}); err == nil {
		t.Error("NewSMTPSender accepted an unknown STARTTLS policy")
	}
}

type fakeSender struct{ got []Message }

func (f *fakeSender) Send(_ context.Context, m Message) error { f.got = append(f.got, m); return nil }

type fakeDir map[string]Contacts

func (d fakeDir) TenantContacts(_ context.Context, id string) (Contacts, error) {
	c, ok := d[id]
	if !ok {
		return Contacts{}, errs.ErrNotFound
	}
	return c, nil
}

func TestHandlersBuildTheMessages(t *testing.T) {
	t.Parallel()
	s := &fakeSender{}
	m, err := NewMailer(s, fakeDir{"t1": {Name: "Acme", Owners: []string{"a@acme.test", "b@acme.test"}}, "t2": {Name: "Nobody"}}, "https://app.example.com", "Tenantry")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deliver := func(h outbox.Handler, e outbox.Entry) error {
		return h(ctx, outbox.Delivery{Entry: e, IdempotencyKey: e.ID, Attempt: 1})
	}
	if err := deliver(kinds.Typed(m.invitation), outbox.Entry{ID: "email.invitation-1", TenantID: "t1", Payload: map[string]any{
		"to": []any{"new@x.test"}, "organizationName": "Acme", "role": "member", outbox.SecretField: map[string]any{"token": "tok/1"},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := deliver(kinds.Typed(m.paymentFailed), outbox.Entry{ID: "email.payment_failed-1", TenantID: "t1", Payload: map[string]any{"amountDue": int64(4900), "currency": "usd"}}); err != nil {
		t.Fatal(err)
	}
	if err := deliver(kinds.Typed(m.trialEnding), outbox.Entry{ID: "email.trial_ending-1", Payload: map[string]any{"tenantId": "t1", "trialEndsAt": "2026-06-01T00:00:00Z"}}); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != 3 {
		t.Fatalf("%d messages", len(s.got))
	}
	inv, pay, end := s.got[0], s.got[1], s.got[2]
	if inv.MessageID != "email.invitation-1@tenantry" || !strings.Contains(inv.Text, "https://app.example.com/invitations/accept?token=tok%2F1") {
		t.Errorf("invitation: %s\n%s", inv.MessageID, inv.Text)
	}
	if strings.Join(pay.To, ",") != "a@acme.test,b@acme.test" || !strings.Contains(pay.Text, "49.00 USD") {
		t.Errorf("payment failed: to %v\n%s", pay.To, pay.Text)
	}
	if !strings.Contains(end.Subject, "June 1, 2026") || !strings.Contains(end.Text, "/tenants/t1/billing") {
		t.Errorf("trial ending: %s\n%s", end.Subject, end.Text)
	}

	for name, tc := range map[string]struct {
		h outbox.Handler
		e outbox.Entry
	}{
		"welcome without recipient":  {kinds.Typed(m.welcome), outbox.Entry{TenantID: "t1", Payload: map[string]any{"organizationName": "Acme"}}},
		"welcome without a name":     {kinds.Typed(m.welcome), outbox.Entry{TenantID: "t1", Payload: map[string]any{"to": "a@b.test"}}},
		"invitation without a token": {kinds.Typed(m.invitation), outbox.Entry{TenantID: "t1", Payload: map[string]any{"to": "a@b.test"}}},
		"trial expired, no tenant":   {kinds.Typed(m.trialExpired), outbox.Entry{TenantID: "gone"}},
		"trial expired, no owner":    {kinds.Typed(m.trialExpired), outbox.Entry{TenantID: "t2"}},
		"trial expired, no id":       {kinds.Typed(m.trialExpired), outbox.Entry{}},
	} {
		if err := deliver(tc.h, tc.e); !outbox.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
}

// Kinds is what a dispatcher without SMTP declares as known, so that it leaves these entries for
// one with SMTP: it must be exactly what Register handles.
func TestRegisterHandlesExactlyKinds(t *testing.T) {
	t.Parallel()
	m, err := NewMailer(&fakeSender{}, fakeDir{}, "https://app.example.com", "Tenantry")
	if err != nil {
		t.Fatal(err)
	}
	d := outbox.NewDispatcher(nil, clock.System{}, outbox.Config{})
	m.Register(d)
	if got := d.Kinds(); !slices.Equal(got, Kinds) {
		t.Errorf("Register handles %v, Kinds lists %v", got, Kinds)
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	t.Parallel()
	s, err := NewSMTPSender(SMTPConfig{URL: "smtp://127.0.0.1:1", From: "a@b.test", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), Message{To: []string{"x@y.test"}, Subject: "s", Text: "t"})
	if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("send to a closed port: %v; want a retryable error naming the server", err)
	}
	for _, to := range [][]string{nil, {"not an address"}} {
		if err := s.Send(context.Background(), Message{To: to}); !outbox.IsPermanent(err) {
			t.Errorf("send to %v: %v, want permanent", to, err)
		}
	}
	if !errors.Is(outbox.Permanent(errs.ErrNotFound), errs.ErrNotFound) {
		t.Error("Permanent hides the cause")
	}
}

// Credentials never cross the network in clear: with a password in SMTP_URL, mandatory STARTTLS
// is the default, and even with STARTTLS switched off go-mail refuses PLAIN and LOGIN on an
// unencrypted connection. mailpit offers no TLS here, so both attempts fail, without showing the
// password; without credentials the same server takes the message.
func TestSMTPCredentialsAreNeverSentInClear(t *testing.T) {
	t.Parallel()
	mp := testenv.Mailpit(t)
	box := mp.NewMailbox()
	withCreds := strings.Replace(mp.SMTPURL, "smtp://", "smtp://tenantry:s3cret@", 1)
	msg := Message{To: []string{box.Address("auth")}, Subject: "auth", Text: "hello", MessageID: "auth-test@tenantry"}
	for _, policy := range []string{"", StartTLSOff} {
		s, err := NewSMTPSender(SMTPConfig{URL: withCreds, From: "Tenantry <no-reply@tenantry.local>", StartTLS: policy, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), msg)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("STARTTLS %q with credentials against a server without TLS: %v; want a refusal that does not show the password", policy, err)
		}
	}
	s, err := NewSMTPSender(SMTPConfig{URL: mp.SMTPURL, From: "Tenantry <no-reply@tenantry.local>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if msgs := box.WaitFor(1, 10*time.Second); len(msgs) != 1 || msgs[0].MessageID != "auth-test@tenantry" {
		t.Errorf("messages %+v, want the one without credentials", msgs)
	}
}
