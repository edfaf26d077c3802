package store

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/genproto/googleapis/type/latlng"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/export"
	"github.com/tenantry/tenantry/internal/fstree"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// colExports is tenants/{id}/exports/{exportId}: export.Export. Server-owned (the rules open no
// path to it), and left out of the archives.
//
// Queries and their indexes: the pending exports of a tenant (status ==, single-field,
// automatic) and the newest exports (requestedAt desc, single-field, automatic).
const colExports = "exports"

// Exports implements export.Store on Firestore.
type Exports struct {
	fs    *firestore.Client
	locks *tenantLocks
}

// Exports returns the exports' persistence on the same client, whose transactions queue per
// tenant with all of s's (see tenantLocks).
func (s *Store) Exports() *Exports { return &Exports{fs: s.fs, locks: s.locks} }

var _ export.Store = (*Exports)(nil)

type exportDoc struct {
	Status            string         `firestore:"status"`
	RequestedAt       time.Time      `firestore:"requestedAt"`
	RequestedByUID    string         `firestore:"requestedByUid,omitempty"`
	RequestedByRole   string         `firestore:"requestedByPlatformRole,omitempty"`
	RequestedBySystem string         `firestore:"requestedBySystem,omitempty"`
	CompletedAt       *time.Time     `firestore:"completedAt,omitempty"`
	ExpiresAt         *time.Time     `firestore:"expiresAt,omitempty"`
	Counts            map[string]int `firestore:"counts,omitempty"`
	Documents         int            `firestore:"documents"`
	SizeBytes         int64          `firestore:"sizeBytes"`
	Object            string         `firestore:"object,omitempty"`
	Failure           string         `firestore:"failure,omitempty"`
}

func toDBExport(e export.Export) exportDoc {
	return exportDoc{
		Status: string(e.Status), RequestedAt: e.RequestedAt, RequestedByUID: e.RequestedBy.UID,
		RequestedByRole: string(e.RequestedBy.PlatformRole), RequestedBySystem: e.RequestedBy.System,
		CompletedAt: optionalTime(e.CompletedAt), ExpiresAt: optionalTime(e.ExpiresAt), Counts: e.Counts,
		Documents: e.Documents, SizeBytes: e.SizeBytes, Object: e.Object, Failure: e.Failure,
	}
}

func toExport(tenantID string) func(id string, d exportDoc) export.Export {
	return func(id string, d exportDoc) export.Export {
		return export.Export{
			ID: id, TenantID: tenantID, Status: export.Status(d.Status), RequestedAt: d.RequestedAt,
			RequestedBy: tenancy.Actor{UID: d.RequestedByUID, PlatformRole: auth.PlatformRole(d.RequestedByRole), System: d.RequestedBySystem},
			CompletedAt: timeOf(d.CompletedAt), ExpiresAt: timeOf(d.ExpiresAt), Counts: d.Counts,
			Documents: d.Documents, SizeBytes: d.SizeBytes, Object: d.Object, Failure: d.Failure,
		}
	}
}

func (x *Exports) col(tenantID string) *firestore.CollectionRef {
	return x.fs.Collection(colTenants).Doc(tenantID).Collection(colExports)
}

// Request implements export.Store.
func (x *Exports) Request(ctx context.Context, e export.Export, busyAfter time.Time, audit tenancy.AuditEntry, entries ...tenancy.OutboxEntry) (export.Export, bool, error) {
	tenant := x.fs.Collection(colTenants).Doc(e.TenantID)
	var out export.Export
	var created bool
	err := x.locks.runTransaction(ctx, x.fs, e.TenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		if _, err := tx.Get(tenant); err != nil {
			return decodeRead(tenant, nil, err, nil)
		}
		// One field only, so no composite index: stuck exports are few (the last failed attempt
		// marks an export failed), and those requested before busyAfter no longer count.
		q := x.col(e.TenantID).Where("status", "==", string(export.StatusPending)).Limit(20)
		pending, err := decodeAll(tx.Documents(q), decodeWith(toExport(e.TenantID)), "pending exports of "+e.TenantID)
		if err != nil {
			return err
		}
		for _, p := range pending {
			if p.RequestedAt.After(busyAfter) {
				out, created = p, false
				return nil
			}
		}
		if err := tx.Create(x.col(e.TenantID).Doc(e.ID), toDBExport(e)); err != nil {
			return fmt.Errorf("create export %s: %w", e.ID, err)
		}
		if err := createAudit(tx, tenant, audit); err != nil {
			return err
		}
		out, created = e, true
		return createOutbox(ctx, tx, x.fs, entries...)
	})
	return out, created, err
}

// Export implements export.Store.
func (x *Exports) Export(ctx context.Context, tenantID, id string) (export.Export, error) {
	var d exportDoc
	if err := get(ctx, x.col(tenantID).Doc(id), &d); err != nil {
		return export.Export{}, err
	}
	return toExport(tenantID)(id, d), nil
}

// Exports implements export.Store.
func (x *Exports) Exports(ctx context.Context, tenantID string, limit int) ([]export.Export, error) {
	q := x.col(tenantID).OrderBy("requestedAt", firestore.Desc).Limit(limit)
	return queryAll(ctx, decodeWith(toExport(tenantID)), q, "exports of "+tenantID)
}

// Finish implements export.Store.
func (x *Exports) Finish(ctx context.Context, e export.Export, entries ...tenancy.OutboxEntry) (export.Export, error) {
	ref := x.col(e.TenantID).Doc(e.ID)
	var out export.Export
	err := x.locks.runTransaction(ctx, x.fs, e.TenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		var d exportDoc
		if err := txGet(tx, ref, &d); err != nil {
			return err
		}
		out = toExport(e.TenantID)(e.ID, d)
		if out.Status != export.StatusPending {
			return nil
		}
		nd := toDBExport(e)
		nd.RequestedAt, nd.RequestedByUID, nd.RequestedByRole, nd.RequestedBySystem = d.RequestedAt, d.RequestedByUID, d.RequestedByRole, d.RequestedBySystem
		if err := tx.Set(ref, nd); err != nil {
			return fmt.Errorf("write export %s: %w", e.ID, err)
		}
		out = toExport(e.TenantID)(e.ID, nd)
		return createOutbox(ctx, tx, x.fs, entries...)
	})
	return out, err
}

// TenantDocument implements export.Store.
func (x *Exports) TenantDocument(ctx context.Context, tenantID string) (map[string]any, error) {
	ref := x.fs.Collection(colTenants).Doc(tenantID)
	snap, err := ref.Get(ctx)
	if err != nil {
		return nil, decodeRead(ref, nil, err, nil)
	}
	return plainMap(snap.Data()), nil
}

// What an export leaves out (see package export): whole collections right under the tenant, and
// fields of the documents of a collection.
var (
	exportSkipped = map[string]string{
		colPrivate: "private/*: the staff-only record (CRM reference, search tokens, who provisioned the organization), which is the operator's data, not the organization's",
		colExports: "exports/*: the records of the exports themselves",
	}
	exportSecretFields = map[string][]string{
		colInvitations: {"tokenHash"},
	}
)

// Excluded implements export.Store.
func (x *Exports) Excluded() []string {
	return []string{
		exportSkipped[colPrivate],
		exportSkipped[colExports],
		"invitations: tokenHash, the hash of a pending invitation's secret (enough to check a guessed token offline)",
		"service tokens and their hashes, and the invitation-token index: they are kept outside the organization's documents",
	}
}

// Walk implements export.Store.
func (x *Exports) Walk(ctx context.Context, tenantID string, visit func(collection string, docs []export.Document) error) error {
	root := x.fs.Collection(colTenants).Doc(tenantID)
	skip := func(p []string) bool { _, ok := exportSkipped[p[0]]; return ok && len(p) == 1 }
	return fstree.Walk(ctx, root, fstree.Options{Skip: skip}, func(pattern []string, refs []*firestore.DocumentRef) error {
		snaps, err := x.fs.GetAll(ctx, refs)
		if err != nil {
			return fmt.Errorf("read %d documents of %s: %w", len(refs), strings.Join(pattern, "/"), err)
		}
		collection := strings.Join(pattern, "/")
		docs := make([]export.Document, 0, len(snaps))
		for _, snap := range snaps {
			if !snap.Exists() {
				continue
			}
			data := plainMap(snap.Data())
			for _, f := range exportSecretFields[collection] {
				delete(data, f)
			}
			docs = append(docs, export.Document{Path: strings.TrimPrefix(snap.Ref.Path, root.Path+"/"), Data: data})
		}
		if len(docs) == 0 {
			return nil
		}
		return visit(collection, docs)
	})
}

// plainMap converts a document's fields to values JSON can hold: a reference becomes its path
// below the database ("tenants/t1/clients/c1"), a geo point {latitude, longitude}, a NaN or an
// infinity its name ("NaN", "+Inf"); everything else the client already returns as plain values.
func plainMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = plainValue(v)
	}
	return out
}

func plainValue(v any) any {
	switch x := v.(type) {
	case *firestore.DocumentRef:
		if x == nil {
			return nil
		}
		return x.Path[strings.Index(x.Path, "/documents/")+len("/documents/"):]
	case *latlng.LatLng:
		return map[string]any{"latitude": x.GetLatitude(), "longitude": x.GetLongitude()}
	case float64:
		// JSON has no NaN or infinities, which Firestore doubles may hold.
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case map[string]any:
		return plainMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	}
	return v
}
