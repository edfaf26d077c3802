package resolvers

import (
	"time"

	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/dataimport"
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
		g := &model.ImportRejection{Index: x.Index, Reason: x.Reason}
		if x.Field != "" {
			g.Field = &x.Field
		}
		out.Rejected = append(out.Rejected, g)
	}
	return out
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
