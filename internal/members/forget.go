package members

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// userDeletedSystem is the audit actor of what a deleted Firebase user's departure changes.
const userDeletedSystem = "auth.user_deleted"

// forgetInvitationsLimit bounds the pending invitations to one address closed per call; an
// address is invited to few tenants, and a rerun (the sweep job) closes any left over.
const forgetInvitationsLimit = 100

// ForgetResult counts what ForgetUser changed.
type ForgetResult struct {
	Memberships int      // memberships removed, each freeing its seat
	Invitations int      // pending invitations to the user's address closed, each freeing its seat
	Ownerless   []string // tenants the user owned, now without an owner
}

func (r ForgetResult) String() string {
	return fmt.Sprintf("removed %d memberships, closed %d invitations, %d tenants left without an owner", r.Memberships, r.Invitations, len(r.Ownerless))
}

// ForgetUser removes what a deleted Firebase user held: each membership (its seat freed, in its
// tenant's transaction, like removeMember) and each pending invitation addressed to email (or to
// the address users/{uid} records, when email is ""), then users/{uid}. A tenant whose owner it
// was is flagged (ownerlessSince) and its admins are emailed. Each change is audited with the
// actor "auth.user_deleted". The caller must have confirmed with Firebase Auth that the user is
// gone (package identity): nothing here asks. It is idempotent: a second call finds nothing left
// and changes nothing.
func (s *Service) ForgetUser(ctx context.Context, uid, email string) (ForgetResult, error) {
	if _, err := validate.ID("uid", uid); err != nil {
		return ForgetResult{}, errs.ErrNotFound
	}
	linked, tenantIDs, found, err := s.store.UserLinks(ctx, uid)
	if err != nil {
		return ForgetResult{}, fmt.Errorf("forget user %s: %w", uid, err)
	}
	if email == "" {
		email = linked
	}
	var res ForgetResult
	for _, tenantID := range tenantIDs {
		if err := s.forgetMembership(ctx, tenantID, uid, &res); err != nil {
			return res, err
		}
	}
	if e, err := validate.Email(email); err == nil {
		if err := s.closeInvitationsTo(ctx, e, &res); err != nil {
			return res, err
		}
	}
	if found {
		if err := s.store.DeleteUserDoc(ctx, uid); err != nil {
			return res, err
		}
	}
	return res, nil
}

// forgetMembership removes uid's membership of tenantID, if it is still there.
func (s *Service) forgetMembership(ctx context.Context, tenantID, uid string, res *ForgetResult) error {
	var removed, ownerless bool
	err := s.store.ChangeMembers(ctx, tenantID, uid, uid, func(st MembersState) (MembersChange, error) {
		removed, ownerless = false, false
		if !st.ActorFound {
			return MembersChange{}, errNoop
		}
		gone, now := st.Actor, s.clock.Now()
		audit := auditEntry(ctx, tenancy.AuditMemberUserDeleted, tenancy.Actor{System: userDeletedSystem}, now,
			map[string]any{"uid": uid, "email": gone.Email},
			memberFields(map[string]map[string]any{uid: {"email": gone.Email, "role": string(gone.Role)}}), nil)
		ch := MembersChange{At: now, Remove: uid, SeatsUsed: max(0, st.Tenant.SeatsUsed-1), Audit: []tenancy.AuditEntry{audit}}
		if gone.Role == rules.RoleOwner {
			ch.OwnerlessSince = now
			ch.Outbox = []tenancy.OutboxEntry{tenancy.NewOutboxEntry(tenantID, kinds.OwnerlessEmail{FormerOwner: gone.Email}, tenantID+"-"+uid, now)}
		}
		removed, ownerless = true, gone.Role == rules.RoleOwner
		return ch, nil
	})
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return nil // the tenant is gone, and the membership with it
	case err != nil:
		return fmt.Errorf("remove the deleted user %s from %s: %w", uid, tenantID, err)
	}
	if removed {
		res.Memberships++
	}
	if ownerless {
		res.Ownerless = append(res.Ownerless, tenantID)
	}
	return nil
}

// closeInvitationsTo revokes the pending invitations addressed to email, in every tenant: nobody
// can accept them any more, and each holds a seat.
func (s *Service) closeInvitationsTo(ctx context.Context, email string, res *ForgetResult) error {
	pending, err := s.store.PendingInvitationsTo(ctx, email, forgetInvitationsLimit)
	if err != nil {
		return fmt.Errorf("list invitations to a deleted user: %w", err)
	}
	for _, p := range pending {
		closed := false
		err := s.store.ChangeInvitation(ctx, InvitationKey{TenantID: p.TenantID, ID: p.ID}, "", func(st InvitationState) (InvitationChange, error) {
			inv, t, now := st.Invitation, st.Tenant, s.clock.Now()
			closed = false
			if inv.Status != StatusPending {
				return InvitationChange{}, errNoop
			}
			closed = true
			inv.Status, inv.RevokedBy, inv.ClosedAt = StatusRevoked, userDeletedSystem, now
			audit := auditEntry(ctx, tenancy.AuditMemberInvitationClosed, tenancy.Actor{System: userDeletedSystem}, now, invitationDetails(inv),
				invitationFields(inv.Email, map[string]any{"status": string(StatusPending)}),
				invitationFields(inv.Email, map[string]any{"status": string(inv.Status)}))
			return InvitationChange{
				At: now, Invitation: inv, SeatsUsed: t.SeatsUsed, PendingInvitations: max(0, t.PendingInvitations-1),
				Audit: []tenancy.AuditEntry{audit},
			}, nil
		})
		switch {
		case errors.Is(err, errs.ErrNotFound):
		case err != nil:
			return fmt.Errorf("close invitation %s: %w", p.ID, err)
		case closed:
			res.Invitations++
		}
	}
	return nil
}

// GoneUsers returns which of uids (at most SweepPage) Firebase Auth no longer has.
type GoneUsers func(ctx context.Context, uids []string) ([]string, error)

// SweepPage is how many users/ documents the sweep checks with one question to Auth (Firebase
// Auth's GetUsers takes at most 100).
const SweepPage = 100

// SweepResult counts what SweepDeletedUsers did.
type SweepResult struct {
	Checked   int
	Forgotten int
	ForgetResult
}

func (r SweepResult) String() string {
	return fmt.Sprintf("checked %d users, forgot %d deleted ones: %s", r.Checked, r.Forgotten, r.ForgetResult)
}

// SweepDeletedUsers is the lazy path of user deletion (job sweep-deleted-users): it pages through
// users/ in id order and forgets (ForgetUser) each user gone reports gone, so a missed or
// undeployed user.delete trigger still frees the seats. Idempotent and safe to interrupt.
func (s *Service) SweepDeletedUsers(ctx context.Context, gone GoneUsers, progress func(SweepResult)) (SweepResult, error) {
	var res SweepResult
	after := ""
	for ctx.Err() == nil {
		uids, err := s.store.UserIDs(ctx, after, SweepPage)
		if err != nil || len(uids) == 0 {
			return res, err
		}
		after = uids[len(uids)-1]
		deleted, err := gone(ctx, uids)
		if err != nil {
			return res, fmt.Errorf("sweep deleted users: %w", err)
		}
		res.Checked += len(uids)
		for _, uid := range deleted {
			r, err := s.ForgetUser(ctx, uid, "")
			if err != nil {
				return res, err
			}
			res.Forgotten++
			res.Memberships += r.Memberships
			res.Invitations += r.Invitations
			res.Ownerless = append(res.Ownerless, r.Ownerless...)
		}
		if progress != nil {
			progress(res)
		}
	}
	return res, ctx.Err()
}
