package members

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// Store is the persistence the members domain needs. Its transactional methods follow one shape:
// read a small, fixed set of documents in a transaction, hand them to decide, and write what
// decide returns atomically with the read. decide may run more than once (the transaction retries
// on contention), so it only computes; a closure that wants the outcome keeps the last one. An
// error from decide aborts with nothing written and is returned as is, except errNoop (see
// ErrNoop), which commits nothing and returns nil. A missing tenant or invitation is
// errs.ErrNotFound.
type Store interface {
	// Invite reads the tenant, the inviter's membership (none for a service token) and the
	// invitation document of each of read.Emails (InvitationID) with point reads, and, when
	// read.ImportID is set, importMembers' idempotency record. Only when InviteState.ScanDue(now)
	// does it also list the earliest-expiring pending invitations (at most ScanLimit, ordered by
	// expiresAt), so that the expired ones among them can be closed before the caps are checked.
	// It writes plan: the expired invitations' status, the new invitations (over their documents)
	// with their token index documents and outbox entries, the tenant's pendingInvitations and
	// pendingExpiryFloor, and plan.Import (create-only).
	Invite(ctx context.Context, read InviteRead, decide func(InviteState) (InvitePlan, error)) error
	// MemberEmails returns which of emails belong to members of the tenant. It reads outside any
	// transaction: a member who joins meanwhile is told apart at acceptance.
	MemberEmails(ctx context.Context, tenantID string, emails []string) (map[string]bool, error)

	// ChangeInvitation reads the invitation named by key (through invitationTokens/{hash} when
	// key.TokenHash is set), its tenant and, when actorUID is not empty, the actor's membership,
	// and writes change.
	ChangeInvitation(ctx context.Context, key InvitationKey, actorUID string, decide func(InvitationState) (InvitationChange, error)) error

	// ChangeMembers reads the tenant and the memberships of actorUID and targetUID, and writes
	// change.
	ChangeMembers(ctx context.Context, tenantID, actorUID, targetUID string, decide func(MembersState) (MembersChange, error)) error

	// Tenant reads the tenant with the members domain's settings (errs.ErrNotFound when it does
	// not exist).
	Tenant(ctx context.Context, tenantID string) (TenantState, error)
	// Invitation reads one invitation (errs.ErrNotFound when it does not exist).
	Invitation(ctx context.Context, tenantID, id string) (Invitation, error)
	// Invitations lists up to limit invitations of a tenant whose stored status is one of
	// statuses (all when empty), newest first.
	Invitations(ctx context.Context, tenantID string, statuses []Status, limit int) ([]Invitation, error)
	// CountPendingUnexpired counts the tenant's pending invitations with expiresAt > now.
	CountPendingUnexpired(ctx context.Context, tenantID string, now time.Time) (int, error)
	// PendingInvitationsTo lists up to limit pending invitations addressed to email, in every
	// tenant (a collection-group query).
	PendingInvitationsTo(ctx context.Context, email string, limit int) ([]Invitation, error)
	// DuePendingInvitations lists up to limit pending invitations, in every tenant, whose
	// expiresAt <= cutoff, oldest expiry first.
	DuePendingInvitations(ctx context.Context, cutoff time.Time, limit int) ([]Invitation, error)

	// SignupState reads users/{uid}: whether the signup logic has run for it, and whether it ran
	// with a verified email (only then were invitations accepted).
	SignupState(ctx context.Context, uid string) (recorded, verified bool, err error)
	// RecordSignup writes users/{uid} (email, signup time, verified), keeping tenantIds.
	RecordSignup(ctx context.Context, u User, at time.Time) error

	// UserLinks reads users/{uid}: its email and the tenants it is linked to; found is false
	// when there is no such document.
	UserLinks(ctx context.Context, uid string) (email string, tenantIDs []string, found bool, err error)
	// DeleteUserDoc deletes users/{uid} (nothing when it is absent).
	DeleteUserDoc(ctx context.Context, uid string) error
	// UserIDs lists up to limit ids of users/ documents after the id after, in id order.
	UserIDs(ctx context.Context, after string, limit int) ([]string, error)
}

// InvitationKey names one invitation: by its token's hash (acceptInvitation) or by tenant and id.
type InvitationKey struct {
	TokenHash string
	TenantID  string
	ID        string
}

// ScanLimit bounds the expired-invitation scan of one invitation transaction.
const ScanLimit = 20

// InviteRead names what an invitation transaction reads.
type InviteRead struct {
	TenantID string
	// InviterUID is the inviting user, whose membership is read; "" for a service token.
	InviterUID string
	Emails     []string
	// ImportID, when set, names importMembers' idempotency record (idempotencyRecords/{id}).
	ImportID string
	Now      time.Time
}

// InviteState is what an invitation transaction reads.
type InviteState struct {
	Tenant       TenantState
	Inviter      tenancy.Member
	InviterFound bool
	// Service says the inviter is a service token (InviteRead.InviterUID was ""): it has no
	// membership, and its scope and the tenant's status decide.
	Service bool
	// Import is importMembers' idempotency record as read; nil when there is none (or none was
	// asked for).
	Import *ImportRecord
	// Existing maps a requested email to its invitation document, in any status.
	Existing map[string]Invitation
	// Scanned says the earliest-expiring pending invitations were listed into Earliest (oldest
	// expiry first, at most ScanLimit).
	Scanned  bool
	Earliest []Invitation
}

// ScanDue reports whether the invitation transaction must also list the tenant's
// earliest-expiring pending invitations into Earliest: only for an inviter who is a member (or a
// service token), and only once one of them may have expired (the tenant's PendingExpiryFloor),
// so that the common invitation needs no query.
func (st InviteState) ScanDue(now time.Time) bool {
	return (st.InviterFound || st.Service) && st.Tenant.PendingMayHaveExpired(now)
}

// NewInvitation is one invitation to create, with the email that carries its token.
type NewInvitation struct {
	Invitation Invitation
	Email      tenancy.OutboxEntry
}

// InvitePlan is what an invitation transaction writes.
type InvitePlan struct {
	At     time.Time
	Expire []Invitation // pending invitations to mark expired
	Create []NewInvitation
	// PendingInvitations and PendingExpiryFloor are the tenant's new values.
	PendingInvitations int
	PendingExpiryFloor time.Time
	// Audit are the entries written to tenants/{id}/audit with the change (one per created
	// invitation: at most MaxBatch, within the commit's 500 writes).
	Audit []tenancy.AuditEntry
	// Import, when set, is importMembers' idempotency record, created with the invitations.
	Import *ImportRecord
}

// InvitationState is what a single-invitation transaction reads.
type InvitationState struct {
	Tenant     TenantState
	Invitation Invitation
	Actor      tenancy.Member
	ActorFound bool
	// Owners are the tenant's current owners, read only when the invitation is for the owner
	// role (a sales contract's named admin): accepting it hands ownership over.
	Owners []tenancy.Member
}

// InvitationChange is what a single-invitation transaction writes.
type InvitationChange struct {
	At         time.Time
	Invitation Invitation // written whole
	// NewTokenHash, when set, creates invitationTokens/{NewTokenHash} for the invitation.
	NewTokenHash string
	// AddMember, when set, creates the membership and links users/{uid} to the tenant.
	AddMember *tenancy.Member
	// SetRole are existing memberships whose role changes to Role (a previous owner stepping
	// down to admin when an owner invitation is accepted).
	SetRole []tenancy.Member
	// The tenant's new counter values.
	SeatsUsed          int
	PendingInvitations int
	Outbox             []tenancy.OutboxEntry
	// Audit are the entries written to tenants/{id}/audit with the change.
	Audit []tenancy.AuditEntry
}

// MembersState is what a membership transaction reads.
type MembersState struct {
	Tenant      TenantState
	Actor       tenancy.Member
	ActorFound  bool
	Target      tenancy.Member
	TargetFound bool
}

// MembersChange is what a membership transaction writes.
type MembersChange struct {
	At      time.Time
	SetRole []tenancy.Member // memberships whose role changes to Role
	// SetAppRoles are memberships whose app roles change to AppRoles.
	SetAppRoles []tenancy.Member
	// Remove, when set, deletes that uid's membership and unlinks users/{uid} from the tenant.
	Remove    string
	SeatsUsed int // the tenant's new counter value
	// InvitationExpiryDays, when not 0, sets the tenant's invitationExpiryDays.
	InvitationExpiryDays int
	// OwnerlessSince, when set, flags the tenant as left without an owner (ownerlessSince).
	OwnerlessSince time.Time
	// Audit are the entries written to tenants/{id}/audit with the change.
	Audit []tenancy.AuditEntry
	// Outbox are the entries written with the change (its events to the application).
	Outbox []tenancy.OutboxEntry
}
