// Package members is the members domain: invitations (with their seat and pending-invitation
// caps), acceptance, roles, removal, ownership transfer, and the signup logic that turns an invited
// signup into a membership with nothing left to provision.
//
// Every change that moves a counter (tenants/{id}.seatsUsed, .pendingInvitations) runs in one
// short transaction that reads the tenant and the caller's membership, decides with the policy
// table (rules.Check on the status and role read in that transaction, so a write racing a status
// change is refused after it), and writes the change and the counters together. The Store runs
// the transactions; this package decides what they write. It knows nothing of GraphQL, HTTP or
// Firestore, and its errors are the sentinels of package errs.
package members

import (
	"errors"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Status is an invitation's state, as stored in tenants/{t}/invitations/{id}.status.
type Status string

// Invitation states.
const (
	StatusPending  Status = "pending"
	StatusAccepted Status = "accepted"
	StatusRevoked  Status = "revoked"
	StatusExpired  Status = "expired"
)

// ValidStatus reports whether s is a known invitation status.
func ValidStatus(s Status) bool {
	switch s {
	case StatusPending, StatusAccepted, StatusRevoked, StatusExpired:
		return true
	}
	return false
}

// Invitation is a pending (or settled) membership with the tenant already decided.
type Invitation struct {
	// ID is the document id, "<tenantId>_<digest of the email>" (see InvitationID).
	ID       string
	TenantID string
	Email    string // normalized by validate.Email
	Role     rules.Role
	// AppRoles are the application's roles the membership gets on acceptance (normalized by
	// Service.appRolesIn: declared, sorted, no duplicates).
	AppRoles  []string
	Status    Status
	ExpiresAt time.Time
	// TokenHash is the hex SHA-256 of the current token; the token itself is never stored.
	TokenHash  string
	InvitedBy  string // uid
	CreatedAt  time.Time
	SentAt     time.Time // the last time an email was queued for it (creation or resend)
	Resends    int
	AcceptedBy string // uid; "" until accepted
	AcceptedAt time.Time
	RevokedBy  string
	ClosedAt   time.Time // when it left pending (accepted, revoked or expired)
	// Sends are the times emails were queued to this address from this tenant within the send
	// window (Config.AddressWindow), oldest first; kept across revocations and re-invitations,
	// since they all rewrite this one document.
	Sends []time.Time
}

// EffectiveStatus is the status as of now: a pending invitation past its expiry is expired even
// before the expire-invitations job has written it so.
func (i Invitation) EffectiveStatus(now time.Time) Status {
	if i.Status == StatusPending && !now.Before(i.ExpiresAt) {
		return StatusExpired
	}
	return i.Status
}

// idSeparator joins the tenant id and the email digest of an invitation id. Tenant ids are
// validate.ID strings and the digest (base32) has no '_', so the last one splits them.
const idSeparator = "_"

// InvitationID is the id of the invitation document of email in tenantID: one document per
// address and tenant, rewritten when the address is invited again after its last invitation was
// revoked, expired or used. The id names the tenant, so revokeInvitation(id) and
// resendInvitation(id) find the document without a collection-group query, and the id the SPA
// reads from Firestore is the id the API takes. Being derived from the address, it lets the
// invitation transaction find an address's invitation by a point read instead of a query (a query
// in a transaction locks far more than the documents it returns).
//
// The format is defined once, in package tenancy, because provisioning writes a contract's owner
// invitation in the same layout.
func InvitationID(tenantID, email string) string { return tenancy.InvitationID(tenantID, email) }

// SplitInvitationID returns the tenant id and reports whether id has the shape of an invitation id.
func SplitInvitationID(id string) (tenantID string, ok bool) {
	i := strings.LastIndex(id, idSeparator)
	if i <= 0 || i == len(id)-1 {
		return "", false
	}
	return id[:i], true
}

// TenantState is the tenant as the members domain reads it inside a transaction.
type TenantState struct {
	tenancy.Tenant
	// InvitationExpiryDays is the tenant setting invitationExpiryDays (1 to 30); 0 when unset,
	// meaning the default.
	InvitationExpiryDays int
}

// User is a signed-up user as the signup logic sees it.
type User struct {
	UID           string
	Email         string
	EmailVerified bool
}

// errNoop tells a store callback to commit nothing; the store returns the state as read.
var errNoop = errors.New("members: nothing to write")

// ErrNoop reports whether err is the "nothing to write" signal (stores use it).
func ErrNoop(err error) bool { return errors.Is(err, errNoop) }
