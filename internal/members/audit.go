package members

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// signupSystem is the actor of an invitation accepted by the signup logic (OnSignup), whichever
// way it was reached.
const signupSystem = "signup"

// Member changes are recorded in tenants/{id}/audit in the transaction that makes them, in the
// format of the lifecycle's entries (tenancy.AuditEntry). Before and After name their subject in
// the field: "members.<uid>.role", "invitations.<email>.status", so Tenant.auditLog's changes say
// whom a change concerned. An entry never holds an invitation token or its hash.

// callerActor is the signed-in caller as an audit actor; a service token is the system
// "service-token:<id>", as in the data import's entries.
func callerActor(ctx context.Context) tenancy.Actor {
	if svc, ok := auth.ServiceFromContext(ctx); ok {
		return tenancy.Actor{System: serviceInviter(svc)}
	}
	p, _ := auth.FromContext(ctx)
	return tenancy.Actor{UID: p.UID, PlatformRole: p.PlatformRole}
}

// auditEntry is one audit entry of a member change made at at, with the request id of ctx.
func auditEntry(ctx context.Context, action string, actor tenancy.Actor, at time.Time, details, before, after map[string]any) tenancy.AuditEntry {
	return tenancy.AuditEntry{
		Action: action, Actor: actor, RequestID: reqctx.RequestID(ctx), At: at,
		Details: details, Before: before, After: after,
	}
}

// invitationFields is the audited state of an invitation under "invitations.<email>".
func invitationFields(email string, fields map[string]any) map[string]any {
	return map[string]any{"invitations": map[string]any{email: fields}}
}

// memberFields is the audited state of memberships under "members.<uid>".
func memberFields(byUID map[string]map[string]any) map[string]any {
	m := make(map[string]any, len(byUID))
	for uid, f := range byUID {
		m[uid] = f
	}
	return map[string]any{"members": m}
}

// invitationDetails identifies an invitation in an audit entry (never its token or hash).
func invitationDetails(inv Invitation) map[string]any {
	return map[string]any{"invitationId": inv.ID, "email": inv.Email, "role": string(inv.Role)}
}
