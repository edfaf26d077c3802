package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/rules"
)

// The invitation primitives live here, below package members, because provisioning writes an
// invitation too: a sales contract's named admin is invited as owner in the provisioning commit.
// Package members delegates to these, so an invitation written by either package has the same
// document id, token, hash and email payload, and is accepted by the same code.

// InvitationID is the id of the invitation document of email (already normalized) in tenantID:
// "<tenantId>_<base32 of the first 16 bytes of sha256(email)>". See members.InvitationID.
func InvitationID(tenantID, email string) string {
	sum := sha256.Sum256([]byte(email))
	return tenantID + "_" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16])
}

// NewInvitationToken returns 32 random bytes, URL-safe base64 without padding (43 characters):
// the secret of an invitation link.
func NewInvitationToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate invitation token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashInvitationToken is what is stored of a token: its hex SHA-256. A 256-bit random token needs
// no salt or slow hash.
func HashInvitationToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ContractInvitationExpiry is how long a contract's owner invitation stays valid: the longest
// lifetime an invitation may have (members.MaxExpiryDays). Nobody in a new contract tenant can
// resend it; if it lapses, sales issues a fresh one by converting the tenant again
// (provisionContractTenant with existingTenantId).
const ContractInvitationExpiry = 30 * 24 * time.Hour

// ExpiryFloorWith is a tenant's PendingExpiryFloor once an invitation expiring at expiresAt joins
// the pending ones already there (pending of them, under floor): that expiry when it is the only
// one, the earlier of the two when floor is known, and unknown (zero) while floor is, since only
// a scan of the invitations can tell.
func ExpiryFloorWith(floor time.Time, pending int, expiresAt time.Time) time.Time {
	if pending == 0 || (!floor.IsZero() && expiresAt.Before(floor)) {
		return expiresAt
	}
	return floor
}

// OwnerInvitation is the pending owner invitation to a contract's named admin, written with the
// tenant (provisioning) or into it (conversion), in the layout of package members' invitations.
type OwnerInvitation struct {
	ID        string // InvitationID(tenant, Email)
	TenantID  string
	Email     string // normalized by validate.Email
	TokenHash string
	InvitedBy string // uid of the sales rep
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Role is always owner: only provisioning writes these (inviteMember refuses the owner role).
func (OwnerInvitation) Role() rules.Role { return rules.RoleOwner }

// InvitationEmailEntry is the outbox entry that emails an invitation's link. Its id changes with
// the token, so a resend is a new entry (and a new email), while a retried delivery of one entry
// keeps its Message-ID. The token travels only in the payload's secret, which the outbox store
// erases once the entry settles.
func InvitationEmailEntry(tenantID string, mail kinds.InvitationEmail, now time.Time) OutboxEntry {
	return NewOutboxEntry(tenantID, mail, mail.InvitationID+"-"+HashInvitationToken(mail.Token)[:16], now)
}

// newOwnerInvitation builds a contract's owner invitation and its email.
func newOwnerInvitation(tenantID, organizationName, email, invitedBy, inviterEmail string, now time.Time) (OwnerInvitation, OutboxEntry, error) {
	token, err := NewInvitationToken()
	if err != nil {
		return OwnerInvitation{}, OutboxEntry{}, err
	}
	inv := OwnerInvitation{
		ID: InvitationID(tenantID, email), TenantID: tenantID, Email: email, TokenHash: HashInvitationToken(token),
		InvitedBy: invitedBy, CreatedAt: now, ExpiresAt: now.Add(ContractInvitationExpiry),
	}
	mail := InvitationEmailEntry(tenantID, kinds.InvitationEmail{
		To: []string{email}, InvitationID: inv.ID, OrganizationName: organizationName, Role: inv.Role(),
		ExpiresAt: inv.ExpiresAt, InviterEmail: inviterEmail, Token: token,
	}, now)
	return inv, mail, nil
}
