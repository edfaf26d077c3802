package members

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// InviteRequest is one invitation to send.
type InviteRequest struct {
	Email string
	Role  rules.Role
	// AppRoles are granted with the membership on acceptance; declared ones only, and only by
	// those who manage members.
	AppRoles []string
}

// InviteResult is one invitation as the call left it.
type InviteResult struct {
	Invitation Invitation
	// Existing is true when the email already had a pending invitation, which is returned as is
	// (same role and expiry, no new email): inviting twice is not an error, and costs no seat.
	Existing bool
}

// Invite invites one email into a tenant (inviteMember).
func (s *Service) Invite(ctx context.Context, tenantID string, req InviteRequest) (InviteResult, error) {
	res, err := s.invite(ctx, tenantID, []InviteRequest{req}, "")
	if err != nil {
		return InviteResult{}, err
	}
	return res[0], nil
}

// InviteMany invites several emails into a tenant in one transaction (inviteMembers): all of them
// or none. Every email is validated first; an email that already has a pending invitation gets it
// back (Existing) and needs no seat; the others need one seat each, and the whole batch is refused
// with SEAT_LIMIT_REACHED or INVITATION_LIMIT_REACHED when they do not all fit. One transaction
// for the batch means one write to the tenant document, the contention point: N single
// invitations are N serialized transactions on it.
func (s *Service) InviteMany(ctx context.Context, tenantID string, reqs []InviteRequest) ([]InviteResult, error) {
	if len(reqs) == 0 {
		return nil, errs.Invalid("emails", "give at least one email address")
	}
	if len(reqs) > s.cfg.MaxBatch {
		return nil, errs.Invalid("emails", fmt.Sprintf("give at most %d email addresses per call; split the list into several calls", s.cfg.MaxBatch))
	}
	return s.invite(ctx, tenantID, reqs, "emails")
}

// inviteCall is one inviteMember or inviteMembers call, normalized.
type inviteCall struct {
	// key names the call to the rate limiters: decide may run again when its transaction
	// retries, and spends the call's emails once.
	key string
	// inviterID is who the invitations are from, on them (invitedBy) and to the per-inviter
	// rate limiter: a member's uid, or "service-token:<id>".
	inviterID    string
	inviterEmail string   // quoted by the email; "" for a service token
	inviterName  string   // quoted by the email when there is no inviterEmail
	emails       []string // deduplicated, in the caller's order
	roles        map[string]rules.Role
	appRoles     map[string][]string // normalized (appRolesIn)
	fields       map[string]string   // each email's input field, for errors
	isMember     map[string]bool
	// strict is importMembers: an address that belongs to a member, has a pending invitation or
	// has had its share of emails rejects its row (rows), and with static (rows refused before
	// the transaction) the whole call, instead of being an error or returned as it is.
	strict bool
	rows   map[string]int // each email's row index
	static []Rejection
}

// invite is the one invitation function: single invitations are batches of one. field names the
// list input in errors ("" for the single form, whose field is "email").
func (s *Service) invite(ctx context.Context, tenantID string, reqs []InviteRequest, field string) ([]InviteResult, error) {
	p, err := principalFor(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := requireVerifiedSender(p); err != nil {
		return nil, err
	}
	call, order, err := s.normalizeInvites(reqs, field)
	if err != nil {
		return nil, err
	}
	call.key, call.inviterEmail = s.newID(), p.Email
	// Who is a member already is read before the transaction (a query inside it would lock far
	// more than it returns); it is shown only to callers the transaction finds allowed to invite.
	if call.isMember, err = s.store.MemberEmails(ctx, tenantID, call.emails); err != nil {
		return nil, fmt.Errorf("invite into %s: %w", tenantID, err)
	}
	var out []InviteResult
	read := InviteRead{TenantID: tenantID, InviterUID: p.UID, Emails: call.emails, Now: s.clock.Now()}
	err = s.store.Invite(ctx, read, func(st InviteState) (InvitePlan, error) {
		plan, res, err := s.decideInvite(ctx, st, call)
		out = res // a call with nothing to write (errNoop) has its answer too
		return plan, err
	})
	if err != nil {
		return nil, err
	}
	byEmail := make(map[string]InviteResult, len(out))
	for _, r := range out {
		byEmail[r.Invitation.Email] = r
	}
	answer := make([]InviteResult, len(order))
	for i, e := range order {
		answer[i] = byEmail[e]
	}
	return answer, nil
}

// normalizeInvites validates and deduplicates the requests, and returns the normalized email of
// each request in the caller's order.
func (s *Service) normalizeInvites(reqs []InviteRequest, field string) (inviteCall, []string, error) {
	call := inviteCall{
		emails:   make([]string, 0, len(reqs)),
		roles:    make(map[string]rules.Role, len(reqs)),
		appRoles: make(map[string][]string, len(reqs)),
		fields:   make(map[string]string, len(reqs)),
	}
	order := make([]string, len(reqs))
	for i, r := range reqs {
		name := validate.FieldEmail
		if field != "" {
			name = field + "[" + strconv.Itoa(i) + "]"
		}
		email, err := validate.Email(r.Email)
		if err != nil {
			return inviteCall{}, nil, errs.Invalid(name, reasonOf(err))
		}
		if !rules.ValidRole(r.Role) {
			return inviteCall{}, nil, errs.Invalid("role", "use one of ADMIN, MANAGER, MEMBER, VIEWER")
		}
		appRoles, err := s.appRolesIn(r.AppRoles)
		if err != nil {
			return inviteCall{}, nil, err
		}
		prev, dup := call.roles[email]
		if dup && (prev != r.Role || !slices.Equal(call.appRoles[email], appRoles)) {
			return inviteCall{}, nil, errs.Invalid(name, "this address appears twice with different roles or app roles; list it once")
		}
		if !dup {
			call.emails = append(call.emails, email)
			call.fields[email] = name
		}
		call.roles[email], call.appRoles[email] = r.Role, appRoles
		order[i] = email
	}
	return call, order, nil
}

// decideInvite applies the policy, the caps and the limits on emails to what the transaction
// read. It runs on every attempt of the transaction and only computes, except that it spends the
// call's emails from the rate limiters, once per call (call.key). A call that finds
// every address with its pending invitation has nothing to write (errNoop), and its results.
func (s *Service) decideInvite(ctx context.Context, st InviteState, call inviteCall) (InvitePlan, []InviteResult, error) {
	now := s.clock.Now()
	if err := checkInviter(ctx, st, call, now); err != nil {
		return InvitePlan{}, nil, err
	}
	call.inviterID = st.Inviter.UID
	return s.planInvites(ctx, st, call, now)
}

// planInvites is an allowed call's plan: the expired invitations closed, the caps checked, the
// new invitations with their emails, the emails spent from the rate limiters.
func (s *Service) planInvites(ctx context.Context, st InviteState, call inviteCall, now time.Time) (InvitePlan, []InviteResult, error) {
	t := st.Tenant
	plan := InvitePlan{At: now}
	// Counts never include an expired invitation: the ones past their expiry are closed in this
	// same transaction before the caps are checked.
	var floor time.Time
	plan.Expire, floor = closeExpired(st, now)
	pending, res, fresh := splitAddresses(st, call, plan.Expire, now)
	if call.strict {
		if err := s.rejectRows(st, call, res, fresh, now); err != nil {
			return InvitePlan{}, nil, err
		}
	}
	if err := s.checkCaps(t, pending, len(fresh)); err != nil {
		return InvitePlan{}, nil, err
	}
	if pending == 0 {
		floor = time.Time{} // nothing pending: the new invitations alone set the floor
	}
	created, err := s.newInvitations(st, call, fresh, now)
	if err != nil {
		return InvitePlan{}, nil, err
	}
	// Spent last, so that no refusal above costs the inviter any of their budget.
	if err := s.spendSends(ctx, call.key, t.ID, call.inviterID, len(fresh), now); err != nil {
		return InvitePlan{}, nil, err
	}
	for _, n := range created {
		floor = tenancy.ExpiryFloorWith(floor, pending, n.Invitation.ExpiresAt)
		pending++
		res = append(res, InviteResult{Invitation: n.Invitation})
	}
	plan.Create, plan.Audit = created, invitedAudit(ctx, st, created, now)
	plan.Expire = notReplaced(plan.Expire, created)
	plan.PendingInvitations, plan.PendingExpiryFloor = pending, floor
	if len(plan.Expire) == 0 && len(plan.Create) == 0 && pending == t.PendingInvitations {
		return plan, res, errNoop // every address already had its invitation
	}
	return plan, res, nil
}

// checkInviter refuses an inviter the policy does not let invite at now, a role they may not
// hand out, and the address of a member.
func checkInviter(ctx context.Context, st InviteState, call inviteCall, now time.Time) error {
	if !st.InviterFound {
		return notMember(ctx)
	}
	if err := rules.Check(st.Tenant.AccessStatus(now), st.Inviter.Role, rules.InviteMembers); err != nil {
		return inviteCheckError(err)
	}
	for _, e := range call.emails {
		if !canGrant(st.Inviter.Role, call.roles[e]) {
			return grantError(st.Inviter.Role, call.roles[e])
		}
		if len(call.appRoles[e]) > 0 && !mayGrantAppRoles(st.Inviter.Role) {
			return appRolesGrantError()
		}
		if call.isMember[e] {
			return errs.Invalid(call.fields[e], "this address already belongs to a member of the organization; change their role instead of inviting them")
		}
	}
	return nil
}

// splitAddresses sorts the call's addresses into those whose pending invitation is returned as it
// is (kept) and the fresh ones that need a new invitation, and counts the invitations that stay
// pending once closed (the expired ones closeExpired found) are closed.
func splitAddresses(st InviteState, call inviteCall, closed []Invitation, now time.Time) (pending int, kept []InviteResult, fresh []string) {
	expired := map[string]bool{}
	for _, inv := range closed {
		expired[inv.ID] = true
	}
	pending = max(0, st.Tenant.PendingInvitations-len(closed))
	for _, e := range call.emails {
		inv, ok := st.Existing[e]
		if ok && inv.Status == StatusPending && !expired[inv.ID] {
			if inv.EffectiveStatus(now) == StatusPending {
				kept = append(kept, InviteResult{Invitation: inv, Existing: true})
				continue
			}
			// Past its expiry but not scanned (the floor was unknown or stale): it is replaced,
			// and stops counting now.
			pending = max(0, pending-1)
		}
		fresh = append(fresh, e)
	}
	return pending, kept, fresh
}

// notReplaced is closed without the invitations that created replaces: a document is written
// once per commit, so an expired invitation being replaced is not also marked expired.
func notReplaced(closed []Invitation, created []NewInvitation) []Invitation {
	replaced := map[string]bool{}
	for _, n := range created {
		replaced[n.Invitation.ID] = true
	}
	out := closed[:0]
	for _, inv := range closed {
		if !replaced[inv.ID] {
			out = append(out, inv)
		}
	}
	return out
}

// closeExpired marks expired the pending invitations the transaction listed (st.Earliest, oldest
// expiry first) that are past their expiry, and returns them with the tenant's new expiry floor,
// which says when the next transaction must scan at all.
func closeExpired(st InviteState, now time.Time) ([]Invitation, time.Time) {
	if !st.Scanned {
		return nil, st.Tenant.PendingExpiryFloor
	}
	var closed []Invitation
	var floor time.Time
	for i, inv := range st.Earliest {
		if inv.Status == StatusPending && !now.Before(inv.ExpiresAt) {
			inv.Status, inv.ClosedAt = StatusExpired, now
			closed = append(closed, inv)
			if i == len(st.Earliest)-1 && len(st.Earliest) >= ScanLimit {
				floor = inv.ExpiresAt // more may be due: the next transaction scans again
			}
			continue
		}
		floor = inv.ExpiresAt
		break
	}
	return closed, floor
}

// checkCaps refuses n new invitations that would not fit the seat cap or the plan's limit on
// pending invitations, with pending already pending.
func (s *Service) checkCaps(t TenantState, pending, n int) error {
	if n == 0 {
		return nil
	}
	if t.SeatsUsed+pending+n > t.SeatCap {
		return s.seatLimit(t, pending, n)
	}
	if limit := s.pendingLimit(t); pending+n > limit {
		return errs.Detail(errs.ErrInvitationLimitReached,
			"the plan allows %d pending invitations and %d are pending; revoke an invitation, wait for one to be accepted, or upgrade the plan",
			limit, pending)
	}
	return nil
}

// seatLimit is the SEAT_LIMIT_REACHED error for n invitations that do not fit t's seat cap: how
// many seats are in use against the cap, and what to do. On a per-seat plan the cap is the seats
// bought, which may be fewer than those in use (nobody is removed): buy seats, or free some.
func (s *Service) seatLimit(t TenantState, pending, n int) error {
	remedy := "remove a member, revoke an invitation or upgrade the plan"
	if p, ok := s.plans.Get(t.PlanID); ok && p.PerSeat {
		remedy = "buy more seats in the billing portal, or remove a member or revoke an invitation"
	}
	if inUse := t.SeatsUsed + pending; inUse > t.SeatCap {
		return errs.Detail(errs.ErrSeatLimitReached,
			"%d seats are in use (%d members, %d pending invitations) but the seat cap is %d, so nobody can be invited; nobody was removed. To invite %d more, %s",
			inUse, t.SeatsUsed, pending, t.SeatCap, n, remedy)
	}
	return errs.Detail(errs.ErrSeatLimitReached,
		"all seats are taken (%d of %d in use, %d held by pending invitations; %d needed, %d free); %s",
		t.SeatsUsed, t.SeatCap, pending, n, t.SeatCap-t.SeatsUsed-pending, remedy)
}

// newInvitations builds the invitations of fresh, each with its token and email, refusing the
// call when one of the addresses has had its share of emails from this tenant. The address's
// earlier invitation, in any status, hands its send times on.
func (s *Service) newInvitations(st InviteState, call inviteCall, fresh []string, now time.Time) ([]NewInvitation, error) {
	t := st.Tenant
	expiry := s.expiryFor(t)
	out := make([]NewInvitation, 0, len(fresh))
	for _, e := range fresh {
		sends, err := s.admitSend(e, st.Existing[e], now)
		if err != nil {
			return nil, err
		}
		token, err := s.newToken()
		if err != nil {
			return nil, err
		}
		inv := Invitation{
			ID: InvitationID(t.ID, e), TenantID: t.ID, Email: e, Role: call.roles[e], AppRoles: call.appRoles[e],
			Status: StatusPending, ExpiresAt: now.Add(expiry), TokenHash: HashToken(token),
			InvitedBy: call.inviterID, CreatedAt: now, SentAt: now, Sends: sends,
		}
		out = append(out, NewInvitation{Invitation: inv, Email: invitationEmail(t, inv, token, call.inviterEmail, call.inviterName, now)})
	}
	return out, nil
}

// invitedAudit is one audit entry per created invitation: with the invitation, its token index
// and its email that is four writes per address, 400 for the largest batch (MaxBatch, at most
// 100), plus the tenant and at most ScanLimit expired invitations: within a commit's 500 writes.
func invitedAudit(ctx context.Context, st InviteState, created []NewInvitation, now time.Time) []tenancy.AuditEntry {
	out := make([]tenancy.AuditEntry, 0, len(created))
	for _, n := range created {
		inv := n.Invitation
		var before map[string]any
		if prev, ok := st.Existing[inv.Email]; ok {
			before = invitationFields(inv.Email, map[string]any{"status": string(prev.EffectiveStatus(now))})
		}
		after := map[string]any{"role": string(inv.Role), "status": string(inv.Status), "expiresAt": inv.ExpiresAt}
		if len(inv.AppRoles) > 0 {
			after["appRoles"] = inv.AppRoles
		}
		out = append(out, auditEntry(ctx, tenancy.AuditMemberInvited, callerActor(ctx), now, invitationDetails(inv), before,
			invitationFields(inv.Email, after)))
	}
	return out
}

// inviteCheckError words the policy's refusal for an inviter.
func inviteCheckError(err error) error {
	switch {
	case errors.Is(err, errs.ErrTenantReadOnly):
		return errs.Detail(errs.ErrTenantReadOnly, "the organization is read-only, so nobody can be invited; an owner can upgrade or update the payment method to reopen it")
	case errors.Is(err, errs.ErrTenantSuspended):
		return errs.Detail(errs.ErrTenantSuspended, "the organization is not available, so nobody can be invited; contact support")
	case errors.Is(err, errs.ErrForbidden):
		return errs.Detail(errs.ErrForbidden, "your role cannot invite people; ask an owner, admin or manager of the organization")
	}
	return err
}

// invitationEmail is the outbox entry that sends an invitation's link (see
// tenancy.InvitationEmailEntry).
// inviterName names the inviter when there is no inviterEmail (a service token).
func invitationEmail(t TenantState, inv Invitation, token, inviterEmail, inviterName string, now time.Time) tenancy.OutboxEntry {
	return tenancy.InvitationEmailEntry(t.ID, kinds.InvitationEmail{
		To: []string{inv.Email}, InvitationID: inv.ID, OrganizationName: t.Name, Role: inv.Role,
		ExpiresAt: inv.ExpiresAt, InviterEmail: inviterEmail, InviterName: inviterName, Token: token,
	}, now)
}

// reasonOf is a validation error's reason without its field name.
func reasonOf(err error) string {
	var ve *errs.ValidationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return err.Error()
}
