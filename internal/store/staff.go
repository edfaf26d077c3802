package store

import (
	"context"
	"fmt"
	"slices"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// ListTenants implements tenancy.StaffStore. Every filter combination orders by createdAt then
// document id, both descending, so a cursor (the last tenant's createdAt and id) continues any of
// them exactly. Production Firestore needs a composite index per combination of the equality
// filters (status, source) and searchTokens (array-contains) with createdAt descending; they are
// declared in firestore.indexes.json (the emulator needs none).
func (s *Store) ListTenants(ctx context.Context, q tenancy.TenantQuery, after tenancy.TenantCursor, limit int) ([]tenancy.Tenant, error) {
	query := s.fs.Collection(colTenants).Query
	if q.Status != "" {
		query = query.Where("status", "==", string(q.Status))
	}
	if q.Source != "" {
		query = query.Where("source", "==", string(q.Source))
	}
	if q.SearchToken != "" {
		query = query.Where("searchTokens", "array-contains", q.SearchToken)
	}
	query = query.OrderBy("createdAt", firestore.Desc).OrderBy(firestore.DocumentID, firestore.Desc)
	if after.ID != "" {
		query = query.StartAfter(after.CreatedAt, after.ID)
	}
	snaps, err := query.Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	out := make([]tenancy.Tenant, 0, len(snaps))
	for _, snap := range snaps {
		var d tenantDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		out = append(out, toTenant(snap.Ref.ID, d))
	}
	return out, nil
}

// AuditLog implements tenancy.StaffStore.
func (s *Store) AuditLog(ctx context.Context, tenantID string, limit int) ([]tenancy.AuditEntry, error) {
	snaps, err := s.fs.Collection(colTenants).Doc(tenantID).Collection(colAudit).
		OrderBy("at", firestore.Desc).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list audit entries of %s: %w", tenantID, err)
	}
	out := make([]tenancy.AuditEntry, 0, len(snaps))
	for _, snap := range snaps {
		var d auditDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		out = append(out, toAudit(snap.Ref.ID, d))
	}
	return out, nil
}

// reindexPage is how many tenants ReindexSearchTokens reads per query.
const reindexPage = 300

// ReindexSearchTokens implements tenancy.StaffStore: it pages through every tenant by id, and
// rewrites searchTokens where tokens(name, subdomain, contract reference) differs. Each update is
// conditional on the document's update time, so a tenant changed meanwhile (converted, say,
// which writes its own tokens) is left to that change.
func (s *Store) ReindexSearchTokens(ctx context.Context, tokens func(values ...string) []string, progress func(scanned, updated int)) (int, int, error) {
	scanned, updated := 0, 0
	var last *firestore.DocumentSnapshot
	for {
		q := s.fs.Collection(colTenants).OrderBy(firestore.DocumentID, firestore.Asc).
			Select("name", "subdomain", "contract.reference", "searchTokens").Limit(reindexPage)
		if last != nil {
			q = q.StartAfter(last)
		}
		snaps, err := q.Documents(ctx).GetAll()
		if err != nil {
			return scanned, updated, fmt.Errorf("list tenants after %d: %w", scanned, err)
		}
		if len(snaps) == 0 {
			return scanned, updated, nil
		}
		bw := s.fs.BulkWriter(ctx)
		var jobs []*firestore.BulkWriterJob
		for _, snap := range snaps {
			var d struct {
				Name      string   `firestore:"name"`
				Subdomain *string  `firestore:"subdomain"`
				Tokens    []string `firestore:"searchTokens"`
				Contract  *struct {
					Reference string `firestore:"reference"`
				} `firestore:"contract"`
			}
			if err := snap.DataTo(&d); err != nil {
				bw.End()
				return scanned, updated, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
			}
			sub, ref := "", ""
			if d.Subdomain != nil {
				sub = *d.Subdomain
			}
			if d.Contract != nil {
				ref = d.Contract.Reference
			}
			want := tokens(d.Name, sub, ref)
			if slices.Equal(want, d.Tokens) {
				continue
			}
			j, err := bw.Update(snap.Ref, []firestore.Update{{Path: "searchTokens", Value: want}}, firestore.LastUpdateTime(snap.UpdateTime))
			if err != nil {
				bw.End()
				return scanned, updated, fmt.Errorf("queue update of %s: %w", snap.Ref.Path, err)
			}
			jobs = append(jobs, j)
		}
		bw.End()
		for _, j := range jobs {
			if _, err := j.Results(); err == nil {
				updated++
			} else if status.Code(err) != codes.FailedPrecondition {
				return scanned, updated, fmt.Errorf("update search tokens: %w", err)
			}
		}
		scanned += len(snaps)
		last = snaps[len(snaps)-1]
		if progress != nil {
			progress(scanned, updated)
		}
		if len(snaps) < reindexPage {
			return scanned, updated, nil
		}
	}
}
