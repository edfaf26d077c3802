package email

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Template names one email: templates/<name>.txt (text/template, defines "subject" and "text")
// and templates/<name>.html (html/template, defines "subject" and "body", wrapped in layout.html).
type Template string

// The emails Tenantry sends.
const (
	TemplateWelcome       Template = "welcome"
	TemplateInvitation    Template = "invitation"
	TemplateTrialEnding   Template = "trial_ending"
	TemplateTrialExpired  Template = "trial_expired"
	TemplatePaymentFailed Template = "payment_failed"
	TemplateDomainProblem Template = "domain_problem"
	TemplateJoinRequest   Template = "join_request"
	TemplateOwnerless     Template = "ownerless"
	TemplateExportReady   Template = "export_ready"
)

// Templates lists every template.
var Templates = []Template{TemplateWelcome, TemplateInvitation, TemplateTrialEnding, TemplateTrialExpired, TemplatePaymentFailed, TemplateDomainProblem, TemplateJoinRequest, TemplateOwnerless, TemplateExportReady}

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// Common is what every template can use.
type Common struct {
	Product string // the product's name, from the From address's display name
	URL     string // the email's one call to action
}

// WelcomeData fills the welcome email.
type WelcomeData struct {
	Common
	OrganizationName string
}

// InvitationData fills the invitation email.
type InvitationData struct {
	Common
	OrganizationName string
	Role             string
	InviterEmail     string // "" when unknown
	InviterName      string // an inviter without an address (a service token); "" otherwise
	ExpiresAt        time.Time
}

// TrialEndingData fills the trial-ending reminder.
type TrialEndingData struct {
	Common
	OrganizationName string
	TrialEndsAt      time.Time
}

// TrialExpiredData fills the conversion email sent when the trial has expired.
type TrialExpiredData struct {
	Common
	OrganizationName string
	TrialEndedAt     time.Time // zero when unknown
}

// PaymentFailedData fills the failed-payment email.
type PaymentFailedData struct {
	Common
	OrganizationName string
	Amount           string // e.g. "49.00 USD"; "" when unknown
}

// DomainProblemData fills the email about a domain that failed verification or lost its record.
type DomainProblemData struct {
	Common
	OrganizationName string
	Domain           string
	Failed           bool // true: never verified within the pending period; false: the record is gone
	TXTRecordName    string
	TXTRecordValue   string
}

// OwnerlessData fills the email to the admins of an organization whose owner's account was
// deleted.
type OwnerlessData struct {
	Common
	OrganizationName string
	FormerOwner      string // "" when unknown
}

// ExportReadyData fills the email with an export's download link (Common.URL).
type ExportReadyData struct {
	Common
	OrganizationName string
	ExpiresAt        time.Time
}

// JoinRequestData fills the email about a signup at the organization's domain asking to join.
type JoinRequestData struct {
	Common
	OrganizationName string
	Domain           string
	Requester        string
	SeatLimit        bool // the domain joins automatically, but every seat was taken
}

// Rendered is a rendered email.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

var funcs = map[string]any{
	// date formats a day without a time of day, in UTC: recipients live in every zone.
	"date":   func(t time.Time) string { return t.UTC().Format("January 2, 2006") },
	"button": func(url, label string) map[string]string { return map[string]string{"URL": url, "Label": label} },
}

type parsed struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates are parsed once at start; a broken template is a programming error that the package's
// tests catch, so parsing panics.
var templates = func() map[Template]parsed {
	out := make(map[Template]parsed, len(Templates))
	for _, name := range Templates {
		t := texttemplate.Must(texttemplate.New(string(name)).Funcs(funcs).ParseFS(templateFS, "templates/"+string(name)+".txt"))
		h := htmltemplate.Must(htmltemplate.New(string(name)).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+string(name)+".html"))
		out[name] = parsed{text: t, html: h}
	}
	return out
}()

// Render fills template name with data (one of the *Data types).
func Render(name Template, data any) (Rendered, error) {
	p, ok := templates[name]
	if !ok {
		return Rendered{}, fmt.Errorf("render email: no template %q", name)
	}
	var subj, text, html bytes.Buffer
	if err := p.text.ExecuteTemplate(&subj, "subject", data); err != nil {
		return Rendered{}, fmt.Errorf("render %s subject: %w", name, err)
	}
	if err := p.text.ExecuteTemplate(&text, "text", data); err != nil {
		return Rendered{}, fmt.Errorf("render %s text: %w", name, err)
	}
	if err := p.html.ExecuteTemplate(&html, "layout", data); err != nil {
		return Rendered{}, fmt.Errorf("render %s html: %w", name, err)
	}
	return Rendered{Subject: oneLine(subj.String()), Text: text.String(), HTML: html.String()}, nil
}

// oneLine keeps a header value on one line whatever the data held (no header injection).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
