// Package email renders Tenantry's emails (text and HTML templates, embedded) and sends them over
// SMTP, and provides the outbox handlers that turn outbox entries into emails. It knows nothing of
// HTTP or Firestore: tenant names and owner addresses come through a Directory.
package email

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox"
)

// Outbox entry kinds that send email, and the payload each one expects. The entry's tenantId is
// always set by the writer; "to" is a string or a list of strings.
const (
	// KindWelcome: {"to", "uid", "organizationName"} — written by provisioning.
	KindWelcome = "email.welcome"
	// KindInvitation: {"to", "organizationName", "role", "secret": {"token"}, "expiresAt"?, "inviterEmail"?}.
	// The token lives under outbox.SecretField, which the store erases once the entry settles,
	// so after delivery only its hash remains stored.
	KindInvitation = "email.invitation"
	// KindTrialEnding: {"trialEndsAt"}; sent to the tenant's owners.
	KindTrialEnding = "email.trial_ending"
	// KindTrialExpired: {"tenantId", "trialEndedAt"}; sent to the tenant's owners (the conversion
	// email, written by the lifecycle when a trial expires).
	KindTrialExpired = "email.trial_expired"
	// KindPaymentFailed: {"amountDue"? (minor units), "currency"?}; sent to the tenant's owners.
	KindPaymentFailed = "email.payment_failed"
)

// Kinds lists the outbox kinds this package handles.
var Kinds = []string{KindWelcome, KindInvitation, KindTrialEnding, KindTrialExpired, KindPaymentFailed}

// Contacts is what the emails about a tenant need to know of it.
type Contacts struct {
	Name   string
	Owners []string // the owners' email addresses
}

// Directory looks tenants up. It returns errs.ErrNotFound for a tenant that does not exist.
type Directory interface {
	TenantContacts(ctx context.Context, tenantID string) (Contacts, error)
}

// Mailer turns outbox entries into emails.
type Mailer struct {
	sender  Sender
	dir     Directory
	appURL  *url.URL
	product string
}

// NewMailer builds the handlers. appURL is the SPA's base URL, which every link starts with;
// product names the product in the emails.
func NewMailer(sender Sender, dir Directory, appURL, product string) (*Mailer, error) {
	u, err := url.Parse(strings.TrimRight(appURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("app URL %q: want an absolute http(s) URL such as https://app.example.com", appURL)
	}
	if product == "" {
		product = "Tenantry"
	}
	return &Mailer{sender: sender, dir: dir, appURL: u, product: product}, nil
}

// Register adds every email handler to d.
func (m *Mailer) Register(d *outbox.Dispatcher) {
	d.Handle(KindWelcome, m.welcome)
	d.Handle(KindInvitation, m.invitation)
	d.Handle(KindTrialEnding, m.trialEnding)
	d.Handle(KindTrialExpired, m.trialExpired)
	d.Handle(KindPaymentFailed, m.paymentFailed)
}

// link builds an absolute link into the SPA from escaped path segments and a query.
func (m *Mailer) link(query url.Values, segments ...string) string {
	u := *m.appURL
	p := u.Path
	rp := u.EscapedPath()
	for _, s := range segments {
		p += "/" + s
		rp += "/" + url.PathEscape(s)
	}
	u.Path, u.RawPath = p, rp
	if query != nil {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

func (m *Mailer) common(link string) Common { return Common{Product: m.product, URL: link} }

func (m *Mailer) welcome(ctx context.Context, d outbox.Delivery) error {
	to, err := recipients(d.Entry.Payload)
	if err != nil {
		return err
	}
	name := str(d.Entry.Payload, "organizationName")
	if name == "" {
		return outbox.Permanentf("payload has no organizationName")
	}
	return m.send(ctx, d, to, TemplateWelcome, WelcomeData{
		Common: m.common(m.link(nil, "tenants", d.Entry.TenantID)), OrganizationName: name,
	})
}

func (m *Mailer) invitation(ctx context.Context, d outbox.Delivery) error {
	to, err := recipients(d.Entry.Payload)
	if err != nil {
		return err
	}
	p := d.Entry.Payload
	secret, _ := p[outbox.SecretField].(map[string]any)
	token := str(secret, "token")
	if token == "" {
		return outbox.Permanentf("payload has no invitation token (it is erased once an entry settles); resend the invitation to issue a new one")
	}
	name := str(p, "organizationName")
	if name == "" {
		c, err := m.contacts(ctx, d.Entry)
		if err != nil {
			return err
		}
		name = c.Name
	}
	return m.send(ctx, d, to, TemplateInvitation, InvitationData{
		Common:           m.common(m.link(url.Values{"token": {token}}, "invitations", "accept")),
		OrganizationName: name, Role: str(p, "role"), InviterEmail: str(p, "inviterEmail"),
		ExpiresAt: timeOf(p, "expiresAt"),
	})
}

func (m *Mailer) trialEnding(ctx context.Context, d outbox.Delivery) error {
	c, err := m.contacts(ctx, d.Entry)
	if err != nil {
		return err
	}
	return m.send(ctx, d, c.Owners, TemplateTrialEnding, TrialEndingData{
		Common:           m.common(m.link(nil, "tenants", tenantOf(d.Entry), "billing")),
		OrganizationName: c.Name, TrialEndsAt: timeOf(d.Entry.Payload, "trialEndsAt"),
	})
}

func (m *Mailer) trialExpired(ctx context.Context, d outbox.Delivery) error {
	c, err := m.contacts(ctx, d.Entry)
	if err != nil {
		return err
	}
	return m.send(ctx, d, c.Owners, TemplateTrialExpired, TrialExpiredData{
		Common:           m.common(m.link(nil, "tenants", tenantOf(d.Entry), "billing", "upgrade")),
		OrganizationName: c.Name, TrialEndedAt: timeOf(d.Entry.Payload, "trialEndedAt"),
	})
}

func (m *Mailer) paymentFailed(ctx context.Context, d outbox.Delivery) error {
	c, err := m.contacts(ctx, d.Entry)
	if err != nil {
		return err
	}
	return m.send(ctx, d, c.Owners, TemplatePaymentFailed, PaymentFailedData{
		Common:           m.common(m.link(nil, "tenants", tenantOf(d.Entry), "billing")),
		OrganizationName: c.Name, Amount: amount(d.Entry.Payload),
	})
}

// contacts looks up the entry's tenant; a tenant that is gone, or has no owner with an address,
// cannot be written to however often we try.
func (m *Mailer) contacts(ctx context.Context, e outbox.Entry) (Contacts, error) {
	id := tenantOf(e)
	if id == "" {
		return Contacts{}, outbox.Permanentf("entry has no tenantId")
	}
	c, err := m.dir.TenantContacts(ctx, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Contacts{}, outbox.Permanentf("tenant %s does not exist", id)
	}
	if err != nil {
		return Contacts{}, fmt.Errorf("look up tenant %s: %w", id, err)
	}
	if len(c.Owners) == 0 {
		return Contacts{}, outbox.Permanentf("tenant %s has no owner with an email address", id)
	}
	return c, nil
}

func (m *Mailer) send(ctx context.Context, d outbox.Delivery, to []string, t Template, data any) error {
	r, err := Render(t, data)
	if err != nil {
		return outbox.Permanent(err)
	}
	return m.sender.Send(ctx, Message{
		To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		MessageID: MessageID(d.IdempotencyKey),
		Headers:   map[string]string{"X-Tenantry-Outbox-Entry": d.IdempotencyKey},
	})
}

// MessageID is the Message-ID (without angle brackets) of the email sent for an outbox entry: the
// same on every attempt, so that a receiver can recognise a repeated delivery.
func MessageID(entryID string) string { return entryID + "@tenantry" }

// tenantOf prefers the entry's tenantId and falls back to the payload's.
func tenantOf(e outbox.Entry) string {
	if e.TenantID != "" {
		return e.TenantID
	}
	return str(e.Payload, "tenantId")
}

func str(p map[string]any, key string) string {
	s, _ := p[key].(string)
	return strings.TrimSpace(s)
}

// recipients reads "to": one address or a list of them.
func recipients(p map[string]any) ([]string, error) {
	var out []string
	switch v := p["to"].(type) {
	case string:
		out = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = v
	}
	var clean []string
	for _, s := range out {
		if s = strings.TrimSpace(s); s != "" {
			clean = append(clean, s)
		}
	}
	if len(clean) == 0 {
		return nil, outbox.Permanentf("payload has no recipient (\"to\")")
	}
	return clean, nil
}

// timeOf reads a time stored as a Firestore timestamp or an RFC 3339 string; zero if absent.
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

// amount formats amountDue (minor units) and currency, e.g. "49.00 USD"; "" when absent.
func amount(p map[string]any) string {
	var minor int64
	switch v := p["amountDue"].(type) {
	case int64:
		minor = v
	case int:
		minor = int64(v)
	case float64:
		minor = int64(v)
	default:
		return ""
	}
	cur := strings.ToUpper(str(p, "currency"))
	s := strconv.FormatInt(minor/100, 10) + "." + fmt.Sprintf("%02d", abs(minor%100))
	if cur != "" {
		s += " " + cur
	}
	return s
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
