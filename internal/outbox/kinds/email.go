package kinds

import (
	"time"

	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/rules"
)

// The emails. Package email renders and sends each; those without a recipient go to the owners of
// the entry's tenant.

// WelcomeEmail greets the owner of a tenant just provisioned.
// Stored as {"to", "uid", "organizationName"}.
type WelcomeEmail struct {
	To               []string
	UID              string // the owner's
	OrganizationName string
}

// Kind implements Payload.
func (WelcomeEmail) Kind() string { return "email.welcome" }

func (p WelcomeEmail) encode(string) map[string]any {
	m := map[string]any{"uid": p.UID, "organizationName": p.OrganizationName}
	putAddresses(m, "to", p.To)
	return m
}

func (WelcomeEmail) decode(s map[string]any) WelcomeEmail {
	return WelcomeEmail{To: addresses(s, "to"), UID: str(s, "uid"), OrganizationName: str(s, "organizationName")}
}

// InvitationEmail sends an invitation's link, written by inviteMember, resendInvitation and a
// sales contract's provisioning. Stored as {"to", "tenantId", "invitationId", "organizationName",
// "role", "expiresAt", "invitedByEmail", "inviterEmail", "inviterName"?, "secret": {"token"}}.
//
// The token is the one copy of the secret outside the invitee's mailbox. It sits apart, under
// outbox.SecretField, which the outbox store deletes when the entry settles, so that once the
// email is out only the token's hash remains stored.
type InvitationEmail struct {
	To               []string
	InvitationID     string
	OrganizationName string // "": the handler looks the tenant's name up
	Role             rules.Role
	ExpiresAt        time.Time
	InviterEmail     string
	// InviterName names an inviter without an address (a service token: `service token
	// "HR sync"`); "" for a user.
	InviterName string
	Token       string
}

// Kind implements Payload.
func (InvitationEmail) Kind() string { return "email.invitation" }

func (p InvitationEmail) encode(tenantID string) map[string]any {
	m := map[string]any{
		"tenantId":         tenantID,
		"invitationId":     p.InvitationID,
		"organizationName": p.OrganizationName,
		"role":             string(p.Role),
		"expiresAt":        p.ExpiresAt,
		// Both names hold the inviter: invitedByEmail for the record, inviterEmail for the email.
		"invitedByEmail":   p.InviterEmail,
		"inviterEmail":     p.InviterEmail,
		outbox.SecretField: map[string]any{"token": p.Token},
	}
	if p.InviterName != "" {
		m["inviterName"] = p.InviterName
	}
	putAddresses(m, "to", p.To)
	return m
}

func (InvitationEmail) decode(s map[string]any) InvitationEmail {
	secret, _ := s[outbox.SecretField].(map[string]any)
	return InvitationEmail{
		To: addresses(s, "to"), InvitationID: str(s, "invitationId"), OrganizationName: str(s, "organizationName"),
		Role: rules.Role(str(s, "role")), ExpiresAt: timeOf(s, "expiresAt"), InviterEmail: str(s, "inviterEmail"),
		InviterName: str(s, "inviterName"), Token: str(secret, "token"),
	}
}

// TrialEndingEmail warns that the trial ends soon (Stripe's trial_will_end).
// Stored as {"trialEndsAt"}.
type TrialEndingEmail struct {
	TrialEndsAt time.Time
}

// Kind implements Payload.
func (TrialEndingEmail) Kind() string { return "email.trial_ending" }

func (p TrialEndingEmail) encode(string) map[string]any {
	return map[string]any{"trialEndsAt": p.TrialEndsAt}
}

func (TrialEndingEmail) decode(s map[string]any) TrialEndingEmail {
	return TrialEndingEmail{TrialEndsAt: timeOf(s, "trialEndsAt")}
}

// TrialExpiredEmail is the conversion email, written by every move to trial_expired.
// Stored as {"tenantId", "trialEndedAt"}.
type TrialExpiredEmail struct {
	TrialEndedAt time.Time
}

// Kind implements Payload.
func (TrialExpiredEmail) Kind() string { return "email.trial_expired" }

func (p TrialExpiredEmail) encode(tenantID string) map[string]any {
	return map[string]any{"tenantId": tenantID, "trialEndedAt": p.TrialEndedAt}
}

func (TrialExpiredEmail) decode(s map[string]any) TrialExpiredEmail {
	return TrialExpiredEmail{TrialEndedAt: timeOf(s, "trialEndedAt")}
}

// PaymentFailedEmail tells the owners a payment failed, once per move into past_due.
// Stored as {"tenantId", "invoiceId"?, "amountDue"?, "currency"?}.
type PaymentFailedEmail struct {
	InvoiceID string // "" when the move came from a subscription update rather than an invoice
	AmountDue *Money // nil when unknown
}

// Money is an amount in a currency's minor units (cents), as Stripe gives it.
type Money struct {
	Minor    int64
	Currency string // ISO code as Stripe spells it, e.g. "usd"
}

// Kind implements Payload.
func (PaymentFailedEmail) Kind() string { return "email.payment_failed" }

func (p PaymentFailedEmail) encode(tenantID string) map[string]any {
	m := map[string]any{"tenantId": tenantID}
	if p.InvoiceID != "" {
		m["invoiceId"] = p.InvoiceID
	}
	if p.AmountDue != nil {
		m["amountDue"] = p.AmountDue.Minor
		m["currency"] = p.AmountDue.Currency
	}
	return m
}

func (PaymentFailedEmail) decode(s map[string]any) PaymentFailedEmail {
	p := PaymentFailedEmail{InvoiceID: str(s, "invoiceId")}
	if minor, ok := int64Of(s, "amountDue"); ok {
		p.AmountDue = &Money{Minor: minor, Currency: str(s, "currency")}
	}
	return p
}

// Problems a DomainEmail reports.
const (
	DomainProblemFailed        = "failed"         // the challenge was never found within the pending period
	DomainProblemRecordMissing = "record_missing" // a verified domain's record is gone
)

// DomainEmail tells the owners that a domain of theirs needs attention (package domains: the
// verify-domains job). Stored as {"tenantId", "domain", "problem", "txtRecordName",
// "txtRecordValue"}.
type DomainEmail struct {
	Domain         string
	Problem        string // DomainProblemFailed or DomainProblemRecordMissing
	TXTRecordName  string
	TXTRecordValue string
}

// Kind implements Payload.
func (DomainEmail) Kind() string { return "email.domain_problem" }

func (p DomainEmail) encode(tenantID string) map[string]any {
	return map[string]any{
		"tenantId": tenantID, "domain": p.Domain, "problem": p.Problem,
		"txtRecordName": p.TXTRecordName, "txtRecordValue": p.TXTRecordValue,
	}
}

func (DomainEmail) decode(s map[string]any) DomainEmail {
	return DomainEmail{
		Domain: str(s, "domain"), Problem: str(s, "problem"),
		TXTRecordName: str(s, "txtRecordName"), TXTRecordValue: str(s, "txtRecordValue"),
	}
}

// JoinRequestEmail tells the owners that a verified signup at their domain asks to join
// (package domains). Stored as {"tenantId", "domain", "requester", "seatLimit"}.
type JoinRequestEmail struct {
	Domain    string
	Requester string // the signup's email address
	SeatLimit bool   // true: the domain joins automatically, but no seat was free
}

// Kind implements Payload.
func (JoinRequestEmail) Kind() string { return "email.join_request" }

func (p JoinRequestEmail) encode(tenantID string) map[string]any {
	return map[string]any{"tenantId": tenantID, "domain": p.Domain, "requester": p.Requester, "seatLimit": p.SeatLimit}
}

func (JoinRequestEmail) decode(s map[string]any) JoinRequestEmail {
	seatLimit, _ := s["seatLimit"].(bool)
	return JoinRequestEmail{Domain: str(s, "domain"), Requester: str(s, "requester"), SeatLimit: seatLimit}
}

// OwnerlessEmail tells a tenant's admins that its owner's account was deleted, so the
// organization has no owner until staff appoint one (package members, on a deleted user).
// Stored as {"tenantId", "formerOwner"}.
type OwnerlessEmail struct {
	FormerOwner string // the deleted owner's email address; "" when unknown
}

// Kind implements Payload.
func (OwnerlessEmail) Kind() string { return "email.ownerless" }

func (p OwnerlessEmail) encode(tenantID string) map[string]any {
	return map[string]any{"tenantId": tenantID, "formerOwner": p.FormerOwner}
}

func (OwnerlessEmail) decode(s map[string]any) OwnerlessEmail {
	return OwnerlessEmail{FormerOwner: str(s, "formerOwner")}
}
