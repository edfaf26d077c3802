package members

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// maxTokenLen bounds what is hashed; a real token is 43 characters.
const maxTokenLen = 256

// Accept accepts the invitation whose link carries token, for the signed-in caller
// (acceptInvitation). The caller's email must be verified and be the invited address. The pending
// seat becomes an active one in the same transaction that records the acceptance. Accepting again
// as the same user returns the same membership; an expired, revoked or used link is
// BAD_USER_INPUT (field "token") with what to do instead, and an unknown token is NOT_FOUND.
func (s *Service) Accept(ctx context.Context, token string) (tenancy.Membership, error) {
	p, err := principal(ctx)
	if err != nil {
		return tenancy.Membership{}, err
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLen {
		return tenancy.Membership{}, errs.Invalid("token", "paste the whole token from the invitation link (the part after token=)")
	}
	u := User{UID: p.UID, Email: p.Email, EmailVerified: p.EmailVerified}
	hash := HashToken(token)
	return s.accept(ctx, InvitationKey{TokenHash: hash}, u, hash)
}

// accept runs the acceptance transaction for u. tokenHash is the presented token's hash, or ""
// when the signup logic accepts by the verified email alone.
func (s *Service) accept(ctx context.Context, key InvitationKey, u User, tokenHash string) (tenancy.Membership, error) {
	var out tenancy.Membership
	var after error
	err := s.store.ChangeInvitation(ctx, key, u.UID, func(st InvitationState) (InvitationChange, error) {
		ch, m, refusal, err := s.decideAccept(ctx, st, u, tokenHash)
		out, after = m, refusal // a replay (errNoop) has its membership too
		return ch, err
	})
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) && tokenHash != "" {
			return tenancy.Membership{}, errs.Detail(errs.ErrNotFound, "no invitation has this link; check that you copied the whole link, or ask for a new invitation")
		}
		return tenancy.Membership{}, err
	}
	if after != nil {
		return tenancy.Membership{}, after
	}
	return out, nil
}

// decideAccept decides an acceptance. refusal is returned to the caller after change commits: an
// invitation found past its expiry is recorded as expired (its seat freed) and then refused. An
// acceptance is audited as member.joined, by the joining user (acceptInvitation) or by the system
// "signup" (tokenHash "": the signup logic).
func (s *Service) decideAccept(ctx context.Context, st InvitationState, u User, tokenHash string) (change InvitationChange, m tenancy.Membership, refusal error, err error) {
	inv, t := st.Invitation, st.Tenant
	now := s.clock.Now()
	// The same user accepting again gets the membership the first acceptance made.
	// (Not after they left or were removed: the link was used up then.)
	if inv.Status == StatusAccepted && inv.AcceptedBy == u.UID && st.ActorFound {
		return InvitationChange{}, tenancy.Membership{Tenant: t.Tenant, Role: st.Actor.Role}, nil, errNoop
	}
	if err := checkInvitee(inv, u, tokenHash); err != nil {
		return InvitationChange{}, tenancy.Membership{}, nil, err
	}
	if status := inv.EffectiveStatus(now); status != StatusPending {
		ch, why, err := refuseSettled(st, status, now)
		return ch, tenancy.Membership{}, why, err
	}
	// Joining needs an organization that is open for reads: a read-only one (trial expired,
	// payment due) still takes the member in, read-only, since the seat was reserved when
	// invited; a suspended or cancelled one does not.
	if err := rules.Check(t.AccessStatus(now), inv.Role, rules.ReadData); err != nil {
		return InvitationChange{}, tenancy.Membership{}, nil, errs.Detail(errs.ErrTenantSuspended,
			"the organization that invited you is not available right now; try again later or contact its owner")
	}
	change, m = acceptance(ctx, st, u, tokenHash, now)
	return change, m, nil, nil
}

// checkInvitee refuses a link that is not the invitation's latest, and a user who is not its
// verified addressee.
func checkInvitee(inv Invitation, u User, tokenHash string) error {
	if tokenHash != "" && inv.TokenHash != tokenHash {
		return errs.Invalid("token", "this invitation link was replaced by a newer one; use the link in the most recent invitation email")
	}
	if !u.EmailVerified {
		return errs.Detail(errs.ErrForbidden, "verify your email address first (follow the link in the verification email), then open the invitation link again")
	}
	if u.Email != inv.Email {
		return errs.Detail(errs.ErrForbidden, "this invitation was sent to another email address; sign in with the invited address and open the link again")
	}
	return nil
}

// refuseSettled refuses an invitation that is no longer pending as of now (status). One still
// stored as pending past its expiry is recorded as expired first (change, with the refusal to
// return after it commits), so its seat is free now rather than when the job runs.
func refuseSettled(st InvitationState, status Status, now time.Time) (change InvitationChange, refusal, err error) {
	switch status {
	case StatusAccepted:
		return InvitationChange{}, nil, errs.Invalid("token", "this invitation was already used; ask the organization's owner or admin for a new invitation")
	case StatusRevoked:
		return InvitationChange{}, nil, errs.Invalid("token", "this invitation was revoked; ask the organization's owner or admin for a new invitation")
	}
	expired := errs.Invalid("token", "this invitation has expired; ask the organization's owner or admin to send a new one")
	inv, t := st.Invitation, st.Tenant
	if inv.Status != StatusPending {
		return InvitationChange{}, nil, expired
	}
	inv.Status, inv.ClosedAt = StatusExpired, now
	return InvitationChange{
		At: now, Invitation: inv, SeatsUsed: t.SeatsUsed, PendingInvitations: max(0, t.PendingInvitations-1),
	}, expired, nil
}

// acceptance is the change that accepts st's invitation for u at now, with the membership it
// leaves u: the pending seat becomes an active one, or, for a user who is a member already
// (joined another way), is freed while their role and app roles stay, since a role change is an
// admin's decision, not a link's.
func acceptance(ctx context.Context, st InvitationState, u User, tokenHash string, now time.Time) (InvitationChange, tenancy.Membership) {
	inv, t := st.Invitation, st.Tenant
	inv.Status, inv.AcceptedBy, inv.AcceptedAt, inv.ClosedAt = StatusAccepted, u.UID, now, now
	change := InvitationChange{At: now, Invitation: inv, PendingInvitations: max(0, t.PendingInvitations-1), SeatsUsed: t.SeatsUsed}
	role := inv.Role
	before := invitationFields(inv.Email, map[string]any{"status": string(StatusPending)})
	after := invitationFields(inv.Email, map[string]any{"status": string(StatusAccepted)})
	if st.ActorFound {
		role = st.Actor.Role
	} else {
		admit(&change, st, u, before, after)
	}
	actor := tenancy.Actor{System: signupSystem}
	if tokenHash != "" {
		actor = callerActor(ctx)
	}
	details := invitationDetails(inv)
	details["uid"] = u.UID
	details["alreadyMember"] = st.ActorFound
	change.Audit = []tenancy.AuditEntry{auditEntry(ctx, tenancy.AuditMemberJoined, actor, now, details, before, after)}
	tenantAfter := t.Tenant
	tenantAfter.SeatsUsed, tenantAfter.PendingInvitations = change.SeatsUsed, change.PendingInvitations
	return change, tenancy.Membership{Tenant: tenantAfter, Role: role}
}

// admit adds to change u's membership with the invitation's role, in a seat of its own, and
// records it in the audit entry's before and after.
func admit(change *InvitationChange, st InvitationState, u User, before, after map[string]any) {
	inv, t, at := st.Invitation, st.Tenant, change.At
	change.AddMember = &tenancy.Member{TenantID: t.ID, UID: u.UID, Email: u.Email, Role: inv.Role, JoinedAt: at, AppRoles: inv.AppRoles}
	change.SeatsUsed = t.SeatsUsed + 1
	membersBefore := map[string]map[string]any{}
	membersAfter := map[string]map[string]any{u.UID: {"email": u.Email, "role": string(inv.Role)}}
	if len(inv.AppRoles) > 0 {
		membersAfter[u.UID]["appRoles"] = inv.AppRoles
	}
	if inv.Role == rules.RoleOwner {
		// Only provisioning issues owner invitations (a sales contract names its admin;
		// inviteMember refuses the role). A tenant has exactly one owner, so when an evaluation
		// tenant converted to a contract already has one, that owner steps down to admin, as
		// with transferOwnership, in this same transaction.
		for _, o := range st.Owners {
			if o.UID != u.UID {
				o.Role = rules.RoleAdmin
				change.SetRole = append(change.SetRole, o)
				membersBefore[o.UID] = map[string]any{"role": string(rules.RoleOwner)}
				membersAfter[o.UID] = map[string]any{"role": string(rules.RoleAdmin)}
			}
		}
	}
	if len(membersBefore) > 0 {
		before["members"] = memberFields(membersBefore)["members"]
	}
	after["members"] = memberFields(membersAfter)["members"]
}

// SignupResult says what the signup logic did for one user.
type SignupResult struct {
	Accepted []tenancy.Membership // invitations accepted by this run
	// Skipped counts pending invitations to the email that were not accepted (expired,
	// organization unavailable).
	Skipped int
}

// OnSignup is the one signup function, for a new or returning user, whichever way it is reached
// (the blocking functions, the user.create background function, or the first authenticated
// request). It accepts every pending invitation addressed to the user's verified email, each in
// its own transaction, then routes the user by the email's domain (domain capture, when plugged
// in: SetDomainEnroller), then records users/{uid}. It is idempotent: a replay finds the invitations
// accepted by this user and changes nothing. An unverified email accepts nothing, because anyone
// can sign up with any address: the invitation waits until the address is verified (the next
// sign-in, or the next request, runs this again).
func (s *Service) OnSignup(ctx context.Context, u User) (SignupResult, error) {
	if u.UID == "" {
		return SignupResult{}, errs.Invalid("uid", "the user record has no uid")
	}
	if u.Email != "" {
		email, err := validate.Email(u.Email)
		if err != nil {
			// A phone or anonymous user, or an address we would never have invited: nothing to
			// accept, but the user is still recorded.
			u.Email, u.EmailVerified = "", false
		} else {
			u.Email = email
		}
	}
	var res SignupResult
	var problems []error
	if u.EmailVerified && u.Email != "" {
		invs, err := s.store.PendingInvitationsTo(ctx, u.Email, signupLimit)
		if err != nil {
			return res, fmt.Errorf("signup of %s: list invitations: %w", u.UID, err)
		}
		for _, inv := range invs {
			m, err := s.accept(ctx, InvitationKey{TenantID: inv.TenantID, ID: inv.ID}, u, "")
			switch {
			case err == nil:
				res.Accepted = append(res.Accepted, m)
			case errors.Is(err, errs.ErrInvalidInput), errors.Is(err, errs.ErrTenantSuspended), errors.Is(err, errs.ErrNotFound):
				res.Skipped++ // expired, revoked meanwhile, or the organization is closed
			default:
				problems = append(problems, fmt.Errorf("accept invitation %s: %w", inv.ID, err))
			}
		}
		if err := s.enrollByDomain(ctx, u); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		// Not recorded as done: the next sign-in or request tries again.
		return res, fmt.Errorf("signup of %s: %w", u.UID, errors.Join(problems...))
	}
	if err := s.store.RecordSignup(ctx, u, s.clock.Now()); err != nil {
		return res, fmt.Errorf("signup of %s: record user: %w", u.UID, err)
	}
	if len(res.Accepted) > 0 {
		slog.InfoContext(ctx, "signup accepted invitations", "uid", u.UID, "accepted", len(res.Accepted), "skipped", res.Skipped)
	}
	return res, nil
}

// SignupNeeded reports whether OnSignup still has work for u: it never ran for the user, or it ran
// before the email was verified and the email is verified now.
func (s *Service) SignupNeeded(ctx context.Context, u User) (bool, error) {
	recorded, verified, err := s.store.SignupState(ctx, u.UID)
	if err != nil {
		return false, err
	}
	return !recorded || (u.EmailVerified && !verified), nil
}
