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

	"github.com/tenantry/tenantry/internal/applink"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
)

// Kinds lists the outbox kinds this package handles (Register).
var Kinds = kinds.Names(kinds.WelcomeEmail{}, kinds.InvitationEmail{}, kinds.TrialEndingEmail{}, kinds.TrialExpiredEmail{}, kinds.PaymentFailedEmail{}, kinds.DomainEmail{}, kinds.JoinRequestEmail{}, kinds.OwnerlessEmail{}, kinds.ExportReadyEmail{})

// Contacts is what the emails about a tenant need to know of it.
type Contacts struct {
	Name   string
	Owners []string // the owners' email addresses
	Admins []string // the admins' email addresses (not the owners')
}

// Directory looks tenants up. It returns errs.ErrNotFound for a tenant that does not exist.
type Directory interface {
	TenantContacts(ctx context.Context, tenantID string) (Contacts, error)
}

// Mailer turns outbox entries into emails.
type Mailer struct {
	sender  Sender
	dir     Directory
	app     applink.Base
	product string
}

// NewMailer builds the handlers. appURL is the SPA's base URL, which every link starts with;
// product names the product in the emails.
func NewMailer(sender Sender, dir Directory, appURL, product string) (*Mailer, error) {
	app, err := applink.Parse(appURL)
	if err != nil {
		return nil, err
	}
	if product == "" {
		product = "Tenantry"
	}
	return &Mailer{sender: sender, dir: dir, app: app, product: product}, nil
}

// Register adds every email handler to d.
func (m *Mailer) Register(d *outbox.Dispatcher) {
	kinds.Handle(d, m.welcome)
	kinds.Handle(d, m.invitation)
	kinds.Handle(d, m.trialEnding)
	kinds.Handle(d, m.trialExpired)
	kinds.Handle(d, m.paymentFailed)
	kinds.Handle(d, m.domainProblem)
	kinds.Handle(d, m.joinRequest)
	kinds.Handle(d, m.ownerless)
	kinds.Handle(d, m.exportReady)
}

func (m *Mailer) common(link string) Common { return Common{Product: m.product, URL: link} }

func (m *Mailer) welcome(ctx context.Context, d outbox.Delivery, p kinds.WelcomeEmail) error {
	if len(p.To) == 0 {
		return errNoRecipient
	}
	if p.OrganizationName == "" {
		return outbox.Permanentf("payload has no organizationName")
	}
	return m.send(ctx, d, p.To, TemplateWelcome, WelcomeData{
		Common: m.common(m.app.Link(nil, "tenants", d.Entry.TenantID)), OrganizationName: p.OrganizationName,
	})
}

func (m *Mailer) invitation(ctx context.Context, d outbox.Delivery, p kinds.InvitationEmail) error {
	if len(p.To) == 0 {
		return errNoRecipient
	}
	if p.Token == "" {
		return outbox.Permanentf("payload has no invitation token (it is erased once an entry settles); resend the invitation to issue a new one")
	}
	name := p.OrganizationName
	if name == "" {
		c, err := m.contacts(ctx, d.Entry)
		if err != nil {
			return err
		}
		name = c.Name
	}
	return m.send(ctx, d, p.To, TemplateInvitation, InvitationData{
		Common:           m.common(m.app.Link(url.Values{"token": {p.Token}}, "invitations", "accept")),
		OrganizationName: name, Role: string(p.Role), InviterEmail: p.InviterEmail, InviterName: p.InviterName, ExpiresAt: p.ExpiresAt,
	})
}

func (m *Mailer) trialEnding(ctx context.Context, d outbox.Delivery, p kinds.TrialEndingEmail) error {
	return m.toOwners(ctx, d, TemplateTrialEnding, func(c Contacts, tenantID string) any {
		return TrialEndingData{
			Common:           m.common(m.app.Link(nil, "tenants", tenantID, "billing")),
			OrganizationName: c.Name, TrialEndsAt: p.TrialEndsAt,
		}
	})
}

func (m *Mailer) trialExpired(ctx context.Context, d outbox.Delivery, p kinds.TrialExpiredEmail) error {
	return m.toOwners(ctx, d, TemplateTrialExpired, func(c Contacts, tenantID string) any {
		return TrialExpiredData{
			Common:           m.common(m.app.Link(nil, "tenants", tenantID, "billing", "upgrade")),
			OrganizationName: c.Name, TrialEndedAt: p.TrialEndedAt,
		}
	})
}

func (m *Mailer) paymentFailed(ctx context.Context, d outbox.Delivery, p kinds.PaymentFailedEmail) error {
	return m.toOwners(ctx, d, TemplatePaymentFailed, func(c Contacts, tenantID string) any {
		return PaymentFailedData{
			Common:           m.common(m.app.Link(nil, "tenants", tenantID, "billing")),
			OrganizationName: c.Name, Amount: amount(p.AmountDue),
		}
	})
}

func (m *Mailer) domainProblem(ctx context.Context, d outbox.Delivery, p kinds.DomainEmail) error {
	if p.Domain == "" {
		return outbox.Permanentf("payload has no domain")
	}
	return m.toOwnersAndAdmins(ctx, d, TemplateDomainProblem, func(c Contacts, tenantID string) any {
		return DomainProblemData{
			Common:           m.common(m.app.Link(nil, "tenants", tenantID, "domains")),
			OrganizationName: c.Name, Domain: p.Domain, Failed: p.Problem == kinds.DomainProblemFailed,
			TXTRecordName: p.TXTRecordName, TXTRecordValue: p.TXTRecordValue,
		}
	})
}

func (m *Mailer) joinRequest(ctx context.Context, d outbox.Delivery, p kinds.JoinRequestEmail) error {
	if p.Requester == "" {
		return outbox.Permanentf("payload has no requester")
	}
	return m.toOwnersAndAdmins(ctx, d, TemplateJoinRequest, func(c Contacts, tenantID string) any {
		return JoinRequestData{
			Common:           m.common(m.app.Link(nil, "tenants", tenantID, "members")),
			OrganizationName: c.Name, Domain: p.Domain, Requester: p.Requester, SeatLimit: p.SeatLimit,
		}
	})
}

// ownerless writes to the admins of a tenant left without an owner: nobody else is left to act.
func (m *Mailer) ownerless(ctx context.Context, d outbox.Delivery, p kinds.OwnerlessEmail) error {
	return m.toContacts(ctx, d, TemplateOwnerless, func(c Contacts) []string { return c.Admins }, func(c Contacts, tenantID string) any {
		return OwnerlessData{
			Common:           m.common(m.app.Link(nil, "tenants", tenantID, "members")),
			OrganizationName: c.Name, FormerOwner: p.FormerOwner,
		}
	})
}

// exportReady sends the owners the signed download link, which points at Tenantry itself rather
// than the SPA.
func (m *Mailer) exportReady(ctx context.Context, d outbox.Delivery, p kinds.ExportReadyEmail) error {
	if p.URL == "" {
		return outbox.Permanentf("payload has no download link (it is erased once an entry settles); the owner can copy it from the organization's exports, or request a new export")
	}
	return m.toOwners(ctx, d, TemplateExportReady, func(c Contacts, _ string) any {
		return ExportReadyData{Common: m.common(p.URL), OrganizationName: c.Name, ExpiresAt: p.ExpiresAt}
	})
}

// errNoRecipient: an email without an address cannot be sent however often we try.
var errNoRecipient = outbox.Permanentf("payload has no recipient (\"to\")")

// toOwners sends template t to the owners of the entry's tenant; fill makes the template's data
// from the tenant's contacts and id.
func (m *Mailer) toOwners(ctx context.Context, d outbox.Delivery, t Template, fill func(c Contacts, tenantID string) any) error {
	return m.toContacts(ctx, d, t, func(c Contacts) []string { return c.Owners }, fill)
}

// toOwnersAndAdmins is toOwners with the admins among the recipients too: for what owners and
// admins both manage (domains, join requests).
func (m *Mailer) toOwnersAndAdmins(ctx context.Context, d outbox.Delivery, t Template, fill func(c Contacts, tenantID string) any) error {
	return m.toContacts(ctx, d, t, func(c Contacts) []string { return append(c.Owners, c.Admins...) }, fill)
}

// toContacts sends template t to the recipients among the entry's tenant's contacts.
func (m *Mailer) toContacts(ctx context.Context, d outbox.Delivery, t Template, recipients func(Contacts) []string, fill func(c Contacts, tenantID string) any) error {
	c, err := m.contacts(ctx, d.Entry)
	if err != nil {
		return err
	}
	to := recipients(c)
	if len(to) == 0 {
		return outbox.Permanentf("tenant %s has nobody with an email address to send %s to", kinds.TenantOf(d.Entry), t)
	}
	return m.send(ctx, d, to, t, fill(c, kinds.TenantOf(d.Entry)))
}

// contacts looks up the entry's tenant; a tenant that is gone cannot be written to however often
// we try (toContacts also refuses a tenant without recipients).
func (m *Mailer) contacts(ctx context.Context, e outbox.Entry) (Contacts, error) {
	id := kinds.TenantOf(e)
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

// amount formats an amount due, e.g. "49.00 USD"; "" when unknown.
func amount(due *kinds.Money) string {
	if due == nil {
		return ""
	}
	s := strconv.FormatInt(due.Minor/100, 10) + "." + fmt.Sprintf("%02d", abs(due.Minor%100))
	if cur := strings.ToUpper(due.Currency); cur != "" {
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
