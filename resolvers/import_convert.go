package resolvers

import (
	"time"

	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/dataimport"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/servicetokens"
)

// Converters of the service tokens' and the import's domains.

func toGraphServiceToken(t servicetokens.Token) *model.ServiceToken {
	return &model.ServiceToken{
		ID: t.ID, Name: t.Name, Scopes: t.Scopes, CreatedAt: t.CreatedAt,
		ExpiresAt: optionalTime(t.ExpiresAt), LastUsedAt: optionalTime(t.LastUsedAt), RevokedAt: optionalTime(t.RevokedAt),
	}
}

func toGraphImportReport(r dataimport.Report) *model.ImportReport {
	out := &model.ImportReport{
		Collection: r.Collection, Received: r.Received, Accepted: r.Accepted, AlreadyImported: r.AlreadyImported,
		DryRun: r.DryRun, Rejected: make([]*model.ImportRejection, 0, len(r.Rejected)),
	}
	for _, x := range r.Rejected {
		out.Rejected = append(out.Rejected, toGraphRejection(x.Index, x.Field, x.Reason))
	}
	return out
}

// toGraphRejection is a rejected record or row; field "" is null.
func toGraphRejection(index int, field, reason string) *model.ImportRejection {
	g := &model.ImportRejection{Index: index, Reason: reason}
	if field != "" {
		g.Field = &field
	}
	return g
}

func fromGraphImportMembers(in model.ImportMembersInput) members.ImportInput {
	out := members.ImportInput{TenantID: in.TenantID, IdempotencyKey: in.IdempotencyKey, Rows: make([]members.ImportRow, 0, len(in.Members))}
	for _, m := range in.Members {
		out.Rows = append(out.Rows, members.ImportRow{Email: m.Email, Role: fromGraphRole(m.Role), AppRoles: m.AppRoles})
	}
	return out
}

func toGraphImportMembersReport(r members.ImportReport) *model.ImportMembersReport {
	out := &model.ImportMembersReport{
		Received: r.Received, Invited: r.Invited, Replayed: r.Replayed,
		InvitationIds: append(make([]string, 0, len(r.InvitationIDs)), r.InvitationIDs...),
		Rejected:      make([]*model.ImportRejection, 0, len(r.Rejected)),
	}
	for _, x := range r.Rejected {
		out.Rejected = append(out.Rejected, toGraphRejection(x.Index, x.Field, x.Reason))
	}
	return out
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
