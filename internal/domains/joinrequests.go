package domains

import (
	"context"
	"strings"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// AuditJoinDeclined is the audit action of a declined join request.
const AuditJoinDeclined = "domain.join_declined"

// ID is the join request's id, "<tenantId>_<uid>" (its document id).
func (r JoinRequest) ID() string { return r.TenantID + "_" + r.UID }

// JoinRequests lists a tenant's join requests (Tenant.joinRequests), for owners and admins.
func (s *Service) JoinRequests(ctx context.Context, tenantID string) ([]JoinRequest, error) {
	if _, err := s.manager(ctx, tenantID); err != nil {
		return nil, err
	}
	return s.store.JoinRequests(ctx, tenantID)
}

// ApproveJoinRequest lets the requester in as a member (approveJoinRequest; owners and admins),
// in one transaction that checks the seat cap as inviteMember does (SEAT_LIMIT_REACHED).
func (s *Service) ApproveJoinRequest(ctx context.Context, id string) (tenancy.Member, error) {
	var out tenancy.Member
	err := s.closeJoinRequest(ctx, id, func(st EnrollState, actor tenancy.Actor) (EnrollChange, error) {
		now, t, r := s.clock.Now(), st.Tenant, st.Request
		if t.SeatsUsed+t.PendingInvitations >= t.SeatCap {
			return EnrollChange{}, errs.Detail(errs.ErrSeatLimitReached, "all seats are taken; remove a member, revoke an invitation or upgrade the plan, then approve again")
		}
		out = tenancy.Member{TenantID: t.ID, UID: r.UID, Email: r.Email, Role: rules.RoleMember, JoinedAt: now}
		after := map[string]any{"members": map[string]any{r.UID: map[string]any{"email": r.Email, "role": string(rules.RoleMember)}}}
		a := tenancy.AuditEntry{Action: tenancy.AuditMemberJoined, Actor: actor, RequestID: reqctx.RequestID(ctx), At: now,
			Details: map[string]any{"domain": r.Domain, "uid": r.UID, "joinRequest": true}, After: after}
		return EnrollChange{At: now, AddMember: &out, SeatsUsed: t.SeatsUsed + 1, CloseRequest: true, Audit: []tenancy.AuditEntry{a}}, nil
	})
	if err == nil && out.UID == "" {
		return out, errs.Invalid("id", "this person joined another way meanwhile; the request is closed")
	}
	return out, err
}

// DeclineJoinRequest deletes a join request (declineJoinRequest; owners and admins).
func (s *Service) DeclineJoinRequest(ctx context.Context, id string) (bool, error) {
	err := s.closeJoinRequest(ctx, id, func(st EnrollState, actor tenancy.Actor) (EnrollChange, error) {
		a := tenancy.AuditEntry{Action: AuditJoinDeclined, Actor: actor, RequestID: reqctx.RequestID(ctx), At: s.clock.Now(),
			Details: map[string]any{"domain": st.Request.Domain, "uid": st.Request.UID, "email": st.Request.Email}}
		return EnrollChange{At: a.At, SeatsUsed: st.Tenant.SeatsUsed, CloseRequest: true, Audit: []tenancy.AuditEntry{a}}, nil
	})
	return err == nil, err
}

// closeJoinRequest runs decide on the join request id for an owner or admin of its tenant. A
// request that does not exist (or was settled meanwhile) is NOT_FOUND.
func (s *Service) closeJoinRequest(ctx context.Context, id string, decide func(EnrollState, tenancy.Actor) (EnrollChange, error)) error {
	cut := strings.LastIndexByte(id, '_')
	if cut <= 0 || cut == len(id)-1 {
		return errs.ErrNotFound
	}
	tenantID, uid := id[:cut], id[cut+1:]
	p, err := s.manager(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.store.ChangeEnrollment(ctx, tenantID, uid, func(st EnrollState) (EnrollChange, error) {
		if !st.Requested {
			return EnrollChange{}, errs.Detail(errs.ErrNotFound, "no such join request; it may have been approved or declined already")
		}
		if st.Member {
			return EnrollChange{SeatsUsed: st.Tenant.SeatsUsed, CloseRequest: true}, nil // joined another way
		}
		return decide(st, callerActor(p))
	})
}
