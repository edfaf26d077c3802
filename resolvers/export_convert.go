package resolvers

import (
	"sort"
	"strings"

	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/export"
)

// toGraphExport converts an export; the download link is the domain's, present only while it works.
func (r *Resolver) toGraphExport(e export.Export) *model.Export {
	out := &model.Export{
		ID: e.ID, Status: model.ExportStatus(strings.ToUpper(string(e.Status))), RequestedAt: e.RequestedAt,
		CompletedAt: optionalTime(e.CompletedAt), ExpiresAt: optionalTime(e.ExpiresAt),
		Counts: make([]*model.ExportCount, 0, len(e.Counts)), Documents: e.Documents, SizeBytes: int(e.SizeBytes),
	}
	for c, n := range e.Counts {
		out.Counts = append(out.Counts, &model.ExportCount{Collection: c, Count: n})
	}
	sort.Slice(out.Counts, func(i, j int) bool { return out.Counts[i].Collection < out.Counts[j].Collection })
	if u := r.Export.DownloadURL(e); u != "" {
		out.DownloadURL = &u
	}
	if e.Failure != "" {
		out.FailureReason = &e.Failure
	}
	return out
}
