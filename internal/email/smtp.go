package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/tenantry/tenantry/internal/outbox"
)

// Message is one email to send.
type Message struct {
	To      []string
	Subject string
	Text    string
	HTML    string
	// MessageID is the Message-ID without angle brackets. It is derived from the outbox entry, so
	// every attempt of one entry sends the same id and a receiver can drop a duplicate.
	MessageID string
	Headers   map[string]string
}

// Sender delivers messages. Errors wrapped by outbox.Permanent mean retrying cannot help.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// STARTTLS policies for smtp:// URLs (smtps:// is TLS from the first byte).
const (
	StartTLSMandatory     = "mandatory"     // refuse to send unless the server upgrades to TLS
	StartTLSOpportunistic = "opportunistic" // upgrade when the server offers it
	StartTLSOff           = "off"           // never upgrade (a local sink such as mailpit)
)

// SMTPConfig configures SMTPSender.
type SMTPConfig struct {
	// URL is smtp://[user:pass@]host[:port] (port 25 by default, STARTTLS per StartTLS) or
	// smtps://[user:pass@]host[:port] (implicit TLS, port 465 by default).
	URL string
	// From is the sender, e.g. "Tenantry <no-reply@tenantry.local>".
	From string
	// StartTLS is one of the StartTLS* policies; "" means mandatory when the URL carries
	// credentials (a password never crosses the network in clear) and opportunistic otherwise.
	StartTLS string
	// Timeout bounds dialing and each SMTP command (default 15s).
	Timeout time.Duration
}

// SMTPSender sends through one SMTP server, one connection per message: messages are rare enough
// (a few per tenant's lifetime) that a pool would only add failure modes.
type SMTPSender struct {
	host     string
	port     int
	implicit bool
	user     string
	pass     string
	policy   mail.TLSPolicy
	timeout  time.Duration
	from     *netmail.Address
}

// NewSMTPSender validates cfg. Its errors never contain the password.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("SMTP_URL is not a URL (want smtp://host:port or smtps://user:pass@host:port)")
	}
	s := &SMTPSender{timeout: cfg.Timeout}
	if s.timeout <= 0 {
		s.timeout = 15 * time.Second
	}
	defaultPort := 25
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicit, defaultPort = true, 465
	default:
		return nil, fmt.Errorf("SMTP_URL scheme %q: use smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("SMTP_URL has no host (want smtp://host:port)")
	}
	s.port = defaultPort
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("SMTP_URL port %q: use 1 to 65535", p)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	policy := cfg.StartTLS
	if policy == "" {
		policy = StartTLSOpportunistic
		if s.user != "" {
			policy = StartTLSMandatory
		}
	}
	switch policy {
	case StartTLSMandatory:
		s.policy = mail.TLSMandatory
	case StartTLSOpportunistic:
		s.policy = mail.TLSOpportunistic
	case StartTLSOff:
		s.policy = mail.NoTLS
	default:
		return nil, fmt.Errorf("STARTTLS policy %q: use %s, %s or %s", policy, StartTLSMandatory, StartTLSOpportunistic, StartTLSOff)
	}
	if s.from, err = netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("from address %q: %w", cfg.From, err)
	}
	return s, nil
}

// Product is the From address's display name ("Tenantry" by default), used in the templates.
func (s *SMTPSender) Product() string {
	if s.from.Name != "" {
		return s.from.Name
	}
	return "Tenantry"
}

// Addr is host:port, for logs.
func (s *SMTPSender) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Send implements Sender.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg := mail.NewMsg()
	msg.FromMailAddress(s.from)
	if len(m.To) == 0 {
		return outbox.Permanentf("email has no recipient")
	}
	for _, to := range m.To {
		if _, err := netmail.ParseAddress(to); err != nil {
			return outbox.Permanentf("recipient is not an email address: %v", err)
		}
	}
	if err := msg.To(m.To...); err != nil {
		return outbox.Permanentf("recipients: %v", err)
	}
	msg.Subject(m.Subject)
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetDate()
	// Automated mail: tell receivers not to auto-reply (RFC 3834).
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	for k, v := range m.Headers {
		msg.SetGenHeader(mail.Header(k), oneLine(v))
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}

	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSPolicy(s.policy),
	}
	if s.implicit {
		opts = append(opts, mail.WithSSL())
	}
	if s.user != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.user), mail.WithPassword(s.pass))
	}
	c, err := mail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("configure SMTP client for %s: %w", s.Addr(), err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(s.Addr(), err)
	}
	return nil
}

// classify turns a go-mail error into ours: a recipient the server refuses for good (5xx on RCPT
// TO) is permanent; everything else (no connection, 4xx, timeouts) is worth retrying.
func classify(addr string, err error) error {
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		if (se.Reason == mail.ErrSMTPRcptTo || se.Reason == mail.ErrGetRcpts) && code >= 500 && code < 600 {
			return outbox.Permanent(fmt.Errorf("SMTP server %s refused the recipient: %w", addr, err))
		}
	}
	return fmt.Errorf("send via SMTP server %s: %s", addr, strings.TrimSpace(outbox.Redact(err.Error())))
}
