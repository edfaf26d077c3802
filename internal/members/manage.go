package members

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// invitationKey returns the signed-in caller and the invitation an id from the API names; a
// malformed id is NOT_FOUND like any other id the caller cannot see.
func invitationKey(ctx context.Context, id string) (auth.Principal, InvitationKey, error) {
	p, err := principalFor(ctx, id)
	if err != nil {
		return auth.Principal{}, InvitationKey{}, err
	}
	tenantID, ok := SplitInvitationID(id)
	if !ok {
		return auth.Principal{}, InvitationKey{}, errs.ErrNotFound
	}
	return p, InvitationKey{TenantID: tenantID, ID: id}, nil
}

// authorizeOnInvitation is the policy for revoking or resending: the caller may invite people in
// the tenant at now, and may hand out the invitation's role.
func authorizeOnInvitation(ctx context.Context, st InvitationState, now time.Time) error {
	if !st.ActorFound {
		return notMember(ctx)
	}
	if err := rules.Check(st.Tenant.AccessStatus(now), st.Actor.Role, rules.InviteMembers); err != nil {
		if errors.Is(err, errs.ErrForbidden) {
			// Members and viewers cannot see invitations at all.
			return errs.ErrNotFound
		}
		return inviteCheckError(err)
	}
	if st.Invitation.Role == rules.RoleOwner {
		// Only a sales contract issues owner invitations (to its named admin); changing one is
		// part of the contract.
		return errs.Detail(errs.ErrForbidden, "this is the owner invitation of your contract's named admin; ask your Tenantry sales contact to change or resend it")
	}
	if !canGrant(st.Actor.Role, st.Invitation.Role) {
		return errs.Detail(errs.ErrForbidden, "this invitation is for the role %s, which you cannot hand out; ask an owner or admin", st.Invitation.Role)
	}
	if len(st.Invitation.AppRoles) > 0 && !mayGrantAppRoles(st.Actor.Role) {
		return errs.Detail(errs.ErrForbidden, "this invitation grants app roles, which only owners and admins hand out; ask one of them")
	}
	return nil
}

// Revoke revokes a pending invitation and frees its seat (revokeInvitation). Revoking a revoked
// invitation returns it unchanged.
func (s *Service) Revoke(ctx context.Context, id string) (Invitation, error) {
	p, key, err := invitationKey(ctx, id)
	if err != nil {
		return Invitation{}, err
	}
	return s.changeManagedInvitation(ctx, p, key, func(st InvitationState, now time.Time) (Invitation, InvitationChange, error) {
		inv, t := st.Invitation, st.Tenant
		switch inv.Status {
		case StatusRevoked:
			return inv, InvitationChange{}, errNoop
		case StatusAccepted:
			return inv, InvitationChange{}, errs.Invalid("id", "this invitation was already accepted; remove the member with removeMember instead")
		case StatusExpired:
			return inv, InvitationChange{}, errs.Invalid("id", "this invitation has already expired and holds no seat; nothing to revoke")
		}
		before := inv
		inv.Status, inv.RevokedBy, inv.ClosedAt = StatusRevoked, p.UID, now
		audit := auditEntry(ctx, tenancy.AuditMemberInvitationRevoked, callerActor(ctx), now, invitationDetails(inv),
			invitationFields(inv.Email, map[string]any{"status": string(before.EffectiveStatus(now))}),
			invitationFields(inv.Email, map[string]any{"status": string(inv.Status)}))
		return inv, InvitationChange{
			At: now, Invitation: inv, SeatsUsed: t.SeatsUsed, PendingInvitations: max(0, t.PendingInvitations-1),
			Audit: []tenancy.AuditEntry{audit},
		}, nil
	})
}

// Resend issues a new token and a new expiry for a pending invitation and emails the new link
// (resendInvitation); the previous link stops working. The email counts against the limits on
// invitation emails (sendlimit.go), which are checked only once the caller is known to manage
// the invitation: nobody can spend another's resends with an id they cannot see.
func (s *Service) Resend(ctx context.Context, id string) (Invitation, error) {
	p, key, err := invitationKey(ctx, id)
	if err != nil {
		return Invitation{}, err
	}
	if err := requireVerifiedSender(p); err != nil {
		return Invitation{}, err
	}
	token, err := s.newToken()
	if err != nil {
		return Invitation{}, err
	}
	callKey := s.newID()
	return s.changeManagedInvitation(ctx, p, key, func(st InvitationState, now time.Time) (Invitation, InvitationChange, error) {
		inv, t := st.Invitation, st.Tenant
		switch inv.Status {
		case StatusAccepted:
			return inv, InvitationChange{}, errs.Invalid("id", "this invitation was already accepted; nothing to resend")
		case StatusRevoked:
			return inv, InvitationChange{}, errs.Invalid("id", "this invitation was revoked; invite the address again with inviteMember")
		case StatusExpired:
			return inv, InvitationChange{}, errs.Invalid("id", "this invitation has expired; invite the address again with inviteMember")
		}
		sends, err := s.admitResend(ctx, callKey, inv, p.UID, now)
		if err != nil {
			return inv, InvitationChange{}, err
		}
		// A pending invitation still counts in pendingInvitations even past its expiry (until
		// something marks it expired), and an invite that needed its seat would have marked it
		// first, so extending it cannot overshoot the caps.
		before := inv
		inv.TokenHash = HashToken(token)
		inv.ExpiresAt = now.Add(s.expiryFor(t))
		inv.SentAt = now
		inv.Sends = sends
		inv.Resends++
		// The token and its hash stay out of the audit log: what changed is the expiry.
		audit := auditEntry(ctx, tenancy.AuditMemberInvitationResent, callerActor(ctx), now, invitationDetails(inv),
			invitationFields(inv.Email, map[string]any{"expiresAt": before.ExpiresAt, "resends": before.Resends}),
			invitationFields(inv.Email, map[string]any{"expiresAt": inv.ExpiresAt, "resends": inv.Resends}))
		return inv, InvitationChange{
			At: now, Invitation: inv, NewTokenHash: inv.TokenHash,
			SeatsUsed: t.SeatsUsed, PendingInvitations: t.PendingInvitations,
			Outbox: []tenancy.OutboxEntry{invitationEmail(t, inv, token, p.Email, "", now)},
			Audit:  []tenancy.AuditEntry{audit},
		}, nil
	})
}

// changeManagedInvitation runs decide, with the time of the attempt, on an invitation the caller
// may manage (authorizeOnInvitation) in one transaction, and returns the invitation as decide
// left it. decide returns errNoop when nothing changes.
func (s *Service) changeManagedInvitation(ctx context.Context, p auth.Principal, key InvitationKey, decide func(InvitationState, time.Time) (Invitation, InvitationChange, error)) (Invitation, error) {
	var out Invitation
	err := s.store.ChangeInvitation(ctx, key, p.UID, func(st InvitationState) (InvitationChange, error) {
		now := s.clock.Now()
		if err := authorizeOnInvitation(ctx, st, now); err != nil {
			return InvitationChange{}, err
		}
		inv, ch, err := decide(st, now)
		out = inv
		return ch, err
	})
	if err != nil {
		return Invitation{}, err
	}
	return out, nil
}

// Invitations lists a tenant's invitations (Tenant.invitations) for those who manage members
// and for platform staff. status
// filters by the status as of now, so a pending invitation past its expiry is listed as expired.
func (s *Service) Invitations(ctx context.Context, tenantID string, status Status) ([]Invitation, error) {
	v, err := s.tenancy.Authorize(ctx, tenantID, rules.ReadData)
	if err != nil {
		return nil, err
	}
	// The same roles as the Firestore rules let read tenants/{t}/invitations: those who manage
	// members. (A manager, who may invite, works with the invitations their calls returned.)
	if !v.Staff && !roleMayTake(v.Role, rules.ManageMembers) {
		return nil, errs.Detail(errs.ErrForbidden, "only owners and admins see the invitations; ask one of them")
	}
	var stored []Status
	switch status {
	case "":
	case StatusExpired:
		stored = []Status{StatusExpired, StatusPending}
	default:
		stored = []Status{status}
	}
	list, err := s.store.Invitations(ctx, tenantID, stored, listLimit)
	if err != nil {
		return nil, fmt.Errorf("list invitations of %s: %w", tenantID, err)
	}
	now := s.clock.Now()
	out := list[:0]
	for _, inv := range list {
		inv.Status = inv.EffectiveStatus(now)
		if status == "" || inv.Status == status {
			out = append(out, inv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// PendingCount is Tenant.pendingInvitations as of now. The stored counter may still include
// invitations that expired since the last write to the tenant (the expire-invitations job and
// every invitation transaction correct it). It is exact when it is zero, or while the tenant's
// pendingExpiryFloor has not passed (no pending invitation can have expired yet); only otherwise
// are the unexpired ones counted with an aggregation query.
func (s *Service) PendingCount(ctx context.Context, t tenancy.Tenant) (int, error) {
	if t.PendingInvitations <= 0 {
		return 0, nil
	}
	now := s.clock.Now()
	if !t.PendingMayHaveExpired(now) {
		return t.PendingInvitations, nil
	}
	n, err := s.store.CountPendingUnexpired(ctx, t.ID, now)
	if err != nil {
		return 0, fmt.Errorf("count pending invitations of %s: %w", t.ID, err)
	}
	return n, nil
}

// ChangeRole sets a member's role (changeMemberRole). Owners and admins manage members; the owner's
// role never changes this way (use TransferOwnership), nobody becomes owner this way, and nobody
// grants a role above their own.
func (s *Service) ChangeRole(ctx context.Context, tenantID, userID string, role rules.Role) (tenancy.Member, error) {
	p, err := principalFor(ctx, tenantID, userID)
	if err != nil {
		return tenancy.Member{}, err
	}
	if role == rules.RoleOwner {
		return tenancy.Member{}, errs.Invalid("role", "the owner role moves only with transferOwnership; choose ADMIN, MANAGER, MEMBER or VIEWER")
	}
	if !rules.ValidRole(role) {
		return tenancy.Member{}, errs.Invalid("role", "choose ADMIN, MANAGER, MEMBER or VIEWER")
	}
	return s.changeOtherMember(ctx, p, tenantID, userID, func(st MembersState) (tenancy.Member, MembersChange, error) {
		target := st.Target
		if target.Role == rules.RoleOwner {
			return target, MembersChange{}, errs.Detail(errs.ErrForbidden, "the owner's role cannot be changed; the owner can hand the organization over with transferOwnership")
		}
		if rank(target.Role) > rank(st.Actor.Role) || !canGrant(st.Actor.Role, role) {
			return target, MembersChange{}, grantError(st.Actor.Role, role)
		}
		if target.Role == role {
			return target, MembersChange{}, errNoop
		}
		ch := s.fieldChange(ctx, st, tenancy.AuditMemberRoleChanged, "role", string(target.Role), string(role))
		target.Role = role
		ch.SetRole = []tenancy.Member{target}
		return target, ch, nil
	})
}

// Remove ends a membership and frees its seat (removeMember). Owners and admins remove others
// (never the owner, nor someone above themselves); any member but the owner may remove themself,
// which is leaving.
func (s *Service) Remove(ctx context.Context, tenantID, userID string) error {
	p, err := principalFor(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	return s.store.ChangeMembers(ctx, tenantID, p.UID, userID, func(st MembersState) (MembersChange, error) {
		leaving := userID == p.UID
		if !st.ActorFound {
			return MembersChange{}, notMember(ctx)
		}
		if leaving {
			if st.Actor.Role == rules.RoleOwner {
				return MembersChange{}, errs.Detail(errs.ErrForbidden, "you are the owner, and the organization cannot be left without one: make another member the owner with transferOwnership first, then leave")
			}
			// Leaving needs no role, only an organization that is open for reads.
			if err := rules.Check(st.Tenant.AccessStatus(s.clock.Now()), st.Actor.Role, rules.ReadData); err != nil {
				return MembersChange{}, err
			}
		} else {
			if err := s.checkManageTarget(ctx, st, rules.ManageMembers, "check the user id"); err != nil {
				return MembersChange{}, err
			}
			if st.Target.Role == rules.RoleOwner {
				return MembersChange{}, errs.Detail(errs.ErrForbidden, "the owner cannot be removed; the owner can hand the organization over with transferOwnership")
			}
			if rank(st.Target.Role) > rank(st.Actor.Role) {
				return MembersChange{}, errs.Detail(errs.ErrForbidden, "you cannot remove a member whose role is above yours; ask an owner")
			}
		}
		gone, action := st.Target, tenancy.AuditMemberRemoved
		if leaving {
			gone, action = st.Actor, tenancy.AuditMemberLeft
		}
		now := s.clock.Now()
		audit := auditEntry(ctx, action, callerActor(ctx), now,
			map[string]any{"uid": userID, "email": gone.Email},
			memberFields(map[string]map[string]any{userID: {"email": gone.Email, "role": string(gone.Role)}}), nil)
		return MembersChange{At: now, Remove: userID, SeatsUsed: max(0, st.Tenant.SeatsUsed-1), Audit: []tenancy.AuditEntry{audit}}, nil
	})
}

// Leave ends the caller's own membership and frees its seat (leaveTenant): Remove of oneself, so
// leaving and removing share one path. The owner cannot leave.
func (s *Service) Leave(ctx context.Context, tenantID string) error {
	p, err := principalFor(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.Remove(ctx, tenantID, p.UID)
}

// TransferOwnership makes another member the owner and the caller an admin, atomically
// (transferOwnership). Only the owner may; the transaction reads the caller's role, so of two
// concurrent transfers the second finds the caller no longer owner and is refused: a tenant
// always keeps exactly one owner.
func (s *Service) TransferOwnership(ctx context.Context, tenantID, userID string) (tenancy.TenantView, error) {
	p, err := principalFor(ctx, tenantID, userID)
	if err != nil {
		return tenancy.TenantView{}, err
	}
	if userID == p.UID {
		return tenancy.TenantView{}, errs.Invalid("userId", "you already own this organization; name the member who should become the owner")
	}
	var out tenancy.TenantView
	err = s.store.ChangeMembers(ctx, tenantID, p.UID, userID, func(st MembersState) (MembersChange, error) {
		if err := s.checkManageTarget(ctx, st, rules.TransferOwnership, "invite them first, then transfer ownership"); err != nil {
			return MembersChange{}, err
		}
		newOwner, oldOwner := st.Target, st.Actor
		newOwner.Role, oldOwner.Role = rules.RoleOwner, rules.RoleAdmin
		out = tenancy.TenantView{Tenant: st.Tenant.Tenant, Role: rules.RoleAdmin}
		now := s.clock.Now()
		before := memberFields(map[string]map[string]any{
			oldOwner.UID: {"role": string(st.Actor.Role)}, newOwner.UID: {"role": string(st.Target.Role)},
		})
		before["owner"] = oldOwner.UID
		after := memberFields(map[string]map[string]any{
			oldOwner.UID: {"role": string(oldOwner.Role)}, newOwner.UID: {"role": string(newOwner.Role)},
		})
		after["owner"] = newOwner.UID
		audit := auditEntry(ctx, tenancy.AuditMemberOwnershipTransferred, callerActor(ctx), now,
			map[string]any{"from": oldOwner.UID, "fromEmail": oldOwner.Email, "to": newOwner.UID, "toEmail": newOwner.Email}, before, after)
		return MembersChange{
			At: now, SetRole: []tenancy.Member{newOwner, oldOwner}, SeatsUsed: st.Tenant.SeatsUsed,
			Audit: []tenancy.AuditEntry{audit},
		}, nil
	})
	if err != nil {
		return tenancy.TenantView{}, err
	}
	return out, nil
}

// ExpiryDays is the tenant's invitation lifetime in days: its invitationExpiryDays setting, or the
// default.
func (s *Service) ExpiryDays(ctx context.Context, tenantID string) (int, error) {
	t, err := s.store.Tenant(ctx, tenantID)
	if err != nil {
		return 0, fmt.Errorf("read settings of %s: %w", tenantID, err)
	}
	return int(s.expiryFor(t) / (24 * time.Hour)), nil
}

// SetExpiryDays sets the tenant's invitation lifetime (1 to 30 days) for invitations sent from
// now on (setInvitationExpiryDays); owners and admins, while the tenant is writable.
func (s *Service) SetExpiryDays(ctx context.Context, tenantID string, days int) (tenancy.TenantView, error) {
	p, err := principalFor(ctx, tenantID)
	if err != nil {
		return tenancy.TenantView{}, err
	}
	if days < MinExpiryDays || days > MaxExpiryDays {
		return tenancy.TenantView{}, errs.Invalid("days", fmt.Sprintf("use %d to %d days", MinExpiryDays, MaxExpiryDays))
	}
	var out tenancy.TenantView
	err = s.store.ChangeMembers(ctx, tenantID, p.UID, p.UID, func(st MembersState) (MembersChange, error) {
		if err := s.checkManage(ctx, st, rules.ManageMembers); err != nil {
			return MembersChange{}, err
		}
		out = tenancy.TenantView{Tenant: st.Tenant.Tenant, Role: st.Actor.Role}
		now := s.clock.Now()
		ch := MembersChange{At: now, SeatsUsed: st.Tenant.SeatsUsed, InvitationExpiryDays: days}
		if st.Tenant.InvitationExpiryDays != days {
			// Before is the lifetime in effect (the default when the tenant had no setting).
			previous := int(s.expiryFor(st.Tenant) / (24 * time.Hour))
			ch.Audit = []tenancy.AuditEntry{auditEntry(ctx, tenancy.AuditInvitationExpiryChanged, callerActor(ctx), now, nil,
				map[string]any{"invitationExpiryDays": previous}, map[string]any{"invitationExpiryDays": days})}
		}
		return ch, nil
	})
	if err != nil {
		return tenancy.TenantView{}, err
	}
	return out, nil
}

// checkManage applies the policy to the actor of a membership transaction.
func (s *Service) checkManage(ctx context.Context, st MembersState, action rules.Action) error {
	if !st.ActorFound {
		return notMember(ctx)
	}
	err := rules.Check(st.Tenant.AccessStatus(s.clock.Now()), st.Actor.Role, action)
	if errors.Is(err, errs.ErrForbidden) {
		if action == rules.TransferOwnership {
			return errs.Detail(errs.ErrForbidden, "only the owner can transfer ownership; ask the owner")
		}
		return errs.Detail(errs.ErrForbidden, "only owners and admins manage members; ask one of them")
	}
	return err
}

// checkManageTarget is checkManage for a change to another member, who must be one: next says
// what to do when they are not.
func (s *Service) checkManageTarget(ctx context.Context, st MembersState, action rules.Action, next string) error {
	if err := s.checkManage(ctx, st, action); err != nil {
		return err
	}
	if !st.TargetFound {
		return errs.Detail(errs.ErrNotFound, "that user is not a member of this organization; %s", next)
	}
	return nil
}

// changeOtherMember runs decide on the membership of userID for a caller who manages members (in
// one transaction, like every membership change) and returns the membership as decide left it.
// decide returns errNoop when nothing changes.
func (s *Service) changeOtherMember(ctx context.Context, p auth.Principal, tenantID, userID string, decide func(MembersState) (tenancy.Member, MembersChange, error)) (tenancy.Member, error) {
	var out tenancy.Member
	err := s.store.ChangeMembers(ctx, tenantID, p.UID, userID, func(st MembersState) (MembersChange, error) {
		if err := s.checkManageTarget(ctx, st, rules.ManageMembers, "check the user id"); err != nil {
			return MembersChange{}, err
		}
		target, ch, err := decide(st)
		out = target
		return ch, err
	})
	if err != nil {
		return tenancy.Member{}, err
	}
	return out, nil
}

// fieldChange is a change of one field of st.Target's membership made now, audited as action with
// the field's values before and after (under members.<uid>.<field>); the caller adds the write.
func (s *Service) fieldChange(ctx context.Context, st MembersState, action, field string, before, after any) MembersChange {
	now, uid := s.clock.Now(), st.Target.UID
	audit := auditEntry(ctx, action, callerActor(ctx), now,
		map[string]any{"uid": uid, "email": st.Target.Email},
		memberFields(map[string]map[string]any{uid: {field: before}}),
		memberFields(map[string]map[string]any{uid: {field: after}}))
	return MembersChange{At: now, SeatsUsed: st.Tenant.SeatsUsed, Audit: []tenancy.AuditEntry{audit}}
}

// ExpireResult counts what ExpireInvitations did.
type ExpireResult struct {
	Expired int
	Skipped int // changed meanwhile (accepted, revoked, resent)
}

func (r ExpireResult) String() string {
	return fmt.Sprintf("expired %d invitations, skipped %d that changed meanwhile", r.Expired, r.Skipped)
}

// ExpireInvitations marks pending invitations past their expiry as expired and frees their seats
// (job expire-invitations), each in its own short transaction on its tenant. It is idempotent and
// safe to interrupt; the invitation transactions do the same for their tenant whenever they run,
// so the job only keeps the stored counters fresh for readers.
func (s *Service) ExpireInvitations(ctx context.Context, progress func(ExpireResult)) (ExpireResult, error) {
	const page = 200
	var res ExpireResult
	for {
		now := s.clock.Now()
		due, err := s.store.DuePendingInvitations(ctx, now, page)
		if err != nil {
			return res, fmt.Errorf("expire invitations: list due: %w", err)
		}
		changed := 0
		for _, d := range due {
			wrote := false
			err := s.store.ChangeInvitation(ctx, InvitationKey{TenantID: d.TenantID, ID: d.ID}, "", func(st InvitationState) (InvitationChange, error) {
				inv, t, now := st.Invitation, st.Tenant, s.clock.Now()
				wrote = false
				if inv.Status != StatusPending || now.Before(inv.ExpiresAt) {
					return InvitationChange{}, errNoop
				}
				wrote = true
				inv.Status, inv.ClosedAt = StatusExpired, now
				return InvitationChange{At: now, Invitation: inv, SeatsUsed: t.SeatsUsed, PendingInvitations: max(0, t.PendingInvitations-1)}, nil
			})
			switch {
			case errors.Is(err, errs.ErrNotFound):
				res.Skipped++ // its tenant was removed
			case err != nil:
				return res, fmt.Errorf("expire invitation %s: %w", d.ID, err)
			case wrote:
				changed++
			default:
				res.Skipped++
			}
		}
		res.Expired += changed
		if progress != nil && changed > 0 {
			progress(res)
		}
		// Every listed invitation left pending (or was found changed), so the next page lists
		// new ones; a short page was the last.
		if len(due) < page || ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
}
