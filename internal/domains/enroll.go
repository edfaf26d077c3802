package domains

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// AuditJoinRequested is the audit action of a join request made at signup.
const AuditJoinRequested = "domain.join_requested"

// signupActor is the audit actor of a join by domain: the signup logic, as for invitations.
const signupActor = "signup"

// JoinRequest is a verified signup at a domain waiting for an owner or admin, stored at
// joinRequests/{tenantId}_{uid}.
type JoinRequest struct {
	TenantID, UID, Email, Domain string
	// Reason is "approval" (the domain's enrollment is REQUEST) or "seat_limit" (AUTOMATIC, but
	// the organization had no free seat).
	Reason    string
	CreatedAt time.Time
}

// EnrollState is what the enrollment transaction reads: the tenant, and whether the user is a
// member already or has a join request (Request, when Requested).
type EnrollState struct {
	Tenant    tenancy.Tenant
	Member    bool
	Requested bool
	Request   JoinRequest
}

// EnrollChange is what it writes: a membership (with the tenant's new seat count) or a join
// request, with their audit entry and emails.
type EnrollChange struct {
	At        time.Time
	AddMember *tenancy.Member
	SeatsUsed int
	Request   *JoinRequest
	// CloseRequest deletes the user's join request (approved or declined).
	CloseRequest bool
	Audit        []tenancy.AuditEntry
	Outbox       []tenancy.OutboxEntry
}

// EnrollAtSignup routes a signup by its email's domain; the signup logic (members.OnSignup)
// calls it for verified emails only, and only then does it act: at a VERIFIED domain, AUTOMATIC
// joins the owning organization as a member if a seat is free and otherwise files a join request
// and tells the owners; REQUEST files a join request; SUGGEST does nothing (signupRouting tells
// the SPA). It is idempotent: a member, or a user with a request, changes nothing.
func (s *Service) EnrollAtSignup(ctx context.Context, uid, email string, verified bool) error {
	name := OfEmail(email)
	if !verified || name == "" {
		return nil
	}
	d, err := s.store.Domain(ctx, name)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("domain of %s: %w", uid, err)
	}
	if d.Status != StatusVerified || d.Enrollment == EnrollSuggest {
		return nil
	}
	err = s.store.ChangeEnrollment(ctx, d.TenantID, uid, func(st EnrollState) (EnrollChange, error) {
		return s.decideEnroll(ctx, d, uid, email, st)
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil // the organization is gone
	}
	return err
}

// decideEnroll decides one enrollment in the transaction that read st. The seat check counts
// pending invitations, which hold seats, as inviteMember does.
func (s *Service) decideEnroll(ctx context.Context, d Domain, uid, email string, st EnrollState) (EnrollChange, error) {
	now := s.clock.Now()
	t := st.Tenant
	if st.Member || st.Requested || rules.Check(t.AccessStatus(now), rules.RoleMember, rules.ReadData) != nil {
		return EnrollChange{}, errNoop // joined already, waiting, or the organization is closed
	}
	details := map[string]any{"domain": d.Name, "uid": uid, "email": email}
	actor := tenancy.Actor{System: signupActor}
	if d.Enrollment == EnrollAutomatic && t.SeatsUsed+t.PendingInvitations < t.SeatCap {
		m := tenancy.Member{TenantID: t.ID, UID: uid, Email: email, Role: rules.RoleMember, JoinedAt: now}
		after := map[string]any{"members": map[string]any{uid: map[string]any{"email": email, "role": string(rules.RoleMember)}}}
		a := tenancy.AuditEntry{Action: tenancy.AuditMemberJoined, Actor: actor, RequestID: reqctx.RequestID(ctx), At: now, Details: details, After: after}
		return EnrollChange{At: now, AddMember: &m, SeatsUsed: t.SeatsUsed + 1, Audit: []tenancy.AuditEntry{a}}, nil
	}
	reason := "approval"
	if d.Enrollment == EnrollAutomatic {
		reason = "seat_limit"
	}
	details["reason"] = reason
	req := JoinRequest{TenantID: t.ID, UID: uid, Email: email, Domain: d.Name, Reason: reason, CreatedAt: now}
	mail := kinds.JoinRequestEmail{Domain: d.Name, Requester: email, SeatLimit: reason == "seat_limit"}
	return EnrollChange{
		At: now, SeatsUsed: t.SeatsUsed, Request: &req,
		Audit:  []tenancy.AuditEntry{{Action: AuditJoinRequested, Actor: actor, RequestID: reqctx.RequestID(ctx), At: now, Details: details}},
		Outbox: []tenancy.OutboxEntry{tenancy.NewOutboxEntry(t.ID, mail, t.ID+"-"+uid, now)},
	}, nil
}
