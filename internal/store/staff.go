package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// ListTenants implements tenancy.StaffStore. Every filter combination orders by createdAt then
// document id, both descending, so a cursor (the last tenant's createdAt and id) continues any of
// them exactly. A search runs on the staff records instead (searchTenants). Production Firestore
// needs a composite index per combination of the equality filters (status, source) with
// createdAt descending, and of those with searchTokens (array-contains) on the collection group
// private; they are declared in firestore.indexes.json (the emulator needs none).
func (s *Store) ListTenants(ctx context.Context, q tenancy.TenantQuery, after tenancy.TenantCursor, limit int) ([]tenancy.Tenant, error) {
	if q.SearchToken != "" {
		return s.searchTenants(ctx, q, after, limit)
	}
	query := s.fs.Collection(colTenants).Query
	query = filterNewestFirst(query, q)
	if after.ID != "" {
		query = query.StartAfter(after.CreatedAt, after.ID)
	}
	snaps, err := query.Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return decodeTenants(snaps, q)
}

// filterNewestFirst applies the staff listing's filters (status, source) and its order, newest
// first, to a query on tenants or on their staff records (which copy both fields).
func filterNewestFirst(query firestore.Query, q tenancy.TenantQuery) firestore.Query {
	if q.Status != "" {
		query = query.Where("status", "==", string(q.Status))
	}
	if q.Source != "" {
		query = query.Where("source", "==", string(q.Source))
	}
	return query.OrderBy("createdAt", firestore.Desc).OrderBy(firestore.DocumentID, firestore.Desc)
}

// searchTenants finds the staff records whose searchTokens contain the term (with their copies of
// status and source as the filters), in the tenants' order, then reads their tenants. The
// records' paths (tenants/{id}/private/staff) order as their tenants' ids do.
func (s *Store) searchTenants(ctx context.Context, q tenancy.TenantQuery, after tenancy.TenantCursor, limit int) ([]tenancy.Tenant, error) {
	query := s.fs.CollectionGroup(colPrivate).Where("searchTokens", "array-contains", q.SearchToken)
	query = filterNewestFirst(query, q)
	if after.ID != "" {
		query = query.StartAfter(after.CreatedAt, staffRef(s.fs.Collection(colTenants).Doc(after.ID)))
	}
	found, err := query.Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("search tenants: %w", err)
	}
	refs := make([]*firestore.DocumentRef, 0, len(found))
	for _, snap := range found {
		refs = append(refs, snap.Ref.Parent.Parent)
	}
	snaps, err := s.fs.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read the tenants found: %w", err)
	}
	return decodeTenants(snaps, q)
}

// decodeTenants decodes the tenants of a page. A missing tenant (deleted since its staff record
// was found), or one whose status no longer matches (a copy not yet repaired by reindex-search,
// after a change by hand), is left out.
func decodeTenants(snaps []*firestore.DocumentSnapshot, q tenancy.TenantQuery) ([]tenancy.Tenant, error) {
	out := make([]tenancy.Tenant, 0, len(snaps))
	for _, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		var d tenantDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
		}
		if q.Status != "" && d.Status != string(q.Status) {
			continue
		}
		out = append(out, toTenant(snap.Ref.ID, d))
	}
	return out, nil
}

// StaffRecord implements tenancy.StaffStore. A tenant that reindex-search has not migrated yet
// still has its fields on the tenant document; they answer where the staff record has none.
func (s *Store) StaffRecord(ctx context.Context, tenantID string) (tenancy.StaffRecord, error) {
	tref := s.fs.Collection(colTenants).Doc(tenantID)
	snaps, err := s.fs.GetAll(ctx, []*firestore.DocumentRef{staffRef(tref), tref})
	if err != nil {
		return tenancy.StaffRecord{}, fmt.Errorf("read the staff record of %s: %w", tenantID, err)
	}
	var d staffDoc
	if snaps[0].Exists() {
		if err := snaps[0].DataTo(&d); err != nil {
			return tenancy.StaffRecord{}, fmt.Errorf("decode %s: %w", snaps[0].Ref.Path, err)
		}
	}
	if snaps[1].Exists() {
		withLegacy(&d, snaps[1].Data())
	}
	return toStaffRecord(d), nil
}

// withLegacy fills what d lacks from the fields an older version kept on the tenant document
// (tenant is its data).
func withLegacy(d *staffDoc, tenant map[string]any) {
	if by, _ := tenant[legacyCreatedBy].(string); by != "" && d.CreatedBy == "" {
		d.CreatedBy = by
	}
	c, _ := tenant["contract"].(map[string]any)
	ref, _ := c["reference"].(string)
	if ref != "" && d.Contract == nil {
		by, _ := c["provisionedBy"].(map[string]any)
		d.Contract = &contractEntryDoc{Reference: ref}
		d.Contract.ProvisionedBy.UID, _ = by["uid"].(string)
		d.Contract.ProvisionedBy.Email, _ = by["email"].(string)
		d.Contract.ProvisionedBy.PlatformRole, _ = by["platformRole"].(string)
	}
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

// ReindexSearchTokens implements tenancy.StaffStore: it pages through every tenant by id and brings
// its staff record up to date: the search tokens of (name, subdomain, contract reference), the
// copies of status, source and createdAt, and the fields older versions kept on the tenant
// document (createdBy, searchTokens, contract.reference and contract.provisionedBy), which it
// moves into the record. A tenant that needs a change gets one short transaction that reads both
// documents again and writes both, so nothing moved is lost on the way, and a tenant changed
// meanwhile is written from its new state.
func (s *Store) ReindexSearchTokens(ctx context.Context, tokens func(values ...string) []string, progress func(scanned, updated int)) (int, int, error) {
	scanned, updated := 0, 0
	var last *firestore.DocumentSnapshot
	for {
		q := s.fs.Collection(colTenants).OrderBy(firestore.DocumentID, firestore.Asc).
			Select("name", "subdomain", "status", "source", "createdAt",
				legacyCreatedBy, legacySearchTokens, legacyContractRef, legacyContractActor).Limit(reindexPage)
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
		refs := make([]*firestore.DocumentRef, len(snaps))
		for i, snap := range snaps {
			refs[i] = staffRef(snap.Ref)
		}
		records, err := s.fs.GetAll(ctx, refs)
		if err != nil {
			return scanned, updated, fmt.Errorf("read staff records after %d: %w", scanned, err)
		}
		for i, snap := range snaps {
			staff, err := decodeStaff(records[i])
			if err != nil {
				return scanned, updated, err
			}
			if set, drop := reindexStaff(snap.Data(), staff, tokens); len(set) == 0 && len(drop) == 0 {
				continue
			}
			changed, err := s.reindexTenant(ctx, snap.Ref, tokens)
			if err != nil {
				return scanned, updated, err
			}
			if changed {
				updated++
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

// reindexTenant brings one tenant's staff record up to date in a transaction; changed is false
// when there was nothing to do (anymore).
func (s *Store) reindexTenant(ctx context.Context, tref *firestore.DocumentRef, tokens func(values ...string) []string) (bool, error) {
	changed := false
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		changed = false
		sref := staffRef(tref)
		snaps, err := tx.GetAll([]*firestore.DocumentRef{tref, sref})
		if err != nil {
			return err
		}
		if !snaps[0].Exists() {
			return nil // removed meanwhile
		}
		staff, err := decodeStaff(snaps[1])
		if err != nil {
			return err
		}
		set, drop := reindexStaff(snaps[0].Data(), staff, tokens)
		if len(set) > 0 {
			if err := tx.Set(sref, set, firestore.MergeAll); err != nil {
				return err
			}
		}
		if len(drop) > 0 {
			if err := tx.Update(tref, drop); err != nil {
				return err
			}
		}
		changed = len(set) > 0 || len(drop) > 0
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reindex %s: %w", tref.Path, err)
	}
	return changed, nil
}

func decodeStaff(snap *firestore.DocumentSnapshot) (staffDoc, error) {
	var d staffDoc
	if !snap.Exists() {
		return d, nil
	}
	if err := snap.DataTo(&d); err != nil {
		return d, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	return d, nil
}

// reindexStaff compares a tenant (its data) with its staff record and returns the fields to merge
// into the record and the tenant's legacy fields to delete; both are empty when it is up to date.
func reindexStaff(tenant map[string]any, staff staffDoc, tokens func(values ...string) []string) (map[string]any, []firestore.Update) {
	want := staff
	withLegacy(&want, tenant)
	set := map[string]any{}
	if want.CreatedBy != staff.CreatedBy {
		set["createdBy"] = want.CreatedBy
	}
	ref := ""
	if want.Contract != nil {
		ref = want.Contract.Reference
		if staff.Contract == nil {
			set["contract"] = *want.Contract
		}
	}
	name, _ := tenant["name"].(string)
	sub, _ := tenant["subdomain"].(string)
	if toks := tokens(name, sub, ref); !slices.Equal(toks, staff.SearchTokens) {
		set["searchTokens"] = toks
	}
	if v, _ := tenant["status"].(string); v != "" && v != staff.Status {
		set["status"] = v
	}
	if v, _ := tenant["source"].(string); v != "" && v != staff.Source {
		set["source"] = v
	}
	if at, ok := tenant["createdAt"].(time.Time); ok && (staff.CreatedAt == nil || !staff.CreatedAt.Equal(at)) {
		set["createdAt"] = at
	}
	var drop []firestore.Update
	for _, f := range []string{legacyCreatedBy, legacySearchTokens} {
		if _, ok := tenant[f]; ok {
			drop = append(drop, firestore.Update{Path: f, Value: firestore.Delete})
		}
	}
	contract, _ := tenant["contract"].(map[string]any)
	for _, f := range []string{legacyContractRef, legacyContractActor} {
		if _, ok := contract[strings.TrimPrefix(f, "contract.")]; ok {
			drop = append(drop, firestore.Update{Path: f, Value: firestore.Delete})
		}
	}
	return set, drop
}
