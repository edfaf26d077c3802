package store

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/dataimport"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// Imports implements dataimport.Store on Firestore. The records are the application's
// documents, tenants/{t}/{collection}/{id}, written as the records' fields and nothing else (the
// rules check the same schema on the application's later writes). An import's idempotency record
// lives with the others in idempotencyRecords/{id}, so purge-idempotency-records removes it too.
type Imports struct {
	fs    *firestore.Client
	locks *tenantLocks
}

// Imports returns the import's persistence on the same client, whose transactions queue per
// tenant with all of s's (see tenantLocks).
func (s *Store) Imports() *Imports { return &Imports{fs: s.fs, locks: s.locks} }

var _ dataimport.Store = (*Imports)(nil)

// importRecordDoc is idempotencyRecords/{id} for an import: idempotencyDoc's fields (uid holds
// the caller: "user:<uid>" or "service-token:<id>") and the report the call answered.
type importRecordDoc struct {
	idempotencyDoc
	Report importReportDoc `firestore:"report"`
}

type importReportDoc struct {
	Collection      string               `firestore:"collection"`
	Received        int                  `firestore:"received"`
	Accepted        int                  `firestore:"accepted"`
	AlreadyImported int                  `firestore:"alreadyImported"`
	Rejected        []importRejectionDoc `firestore:"rejected"`
	DryRun          bool                 `firestore:"dryRun"`
}

type importRejectionDoc struct {
	Index  int    `firestore:"index"`
	Field  string `firestore:"field"`
	Reason string `firestore:"reason"`
}

func toDBImportRecord(r dataimport.Stored) importRecordDoc {
	rep := importReportDoc{
		Collection: r.Report.Collection, Received: r.Report.Received, Accepted: r.Report.Accepted,
		AlreadyImported: r.Report.AlreadyImported, DryRun: r.Report.DryRun, Rejected: []importRejectionDoc{},
	}
	for _, x := range r.Report.Rejected {
		rep.Rejected = append(rep.Rejected, importRejectionDoc(x))
	}
	return importRecordDoc{
		idempotencyDoc: toDBIdempotency(tenancy.IdempotencyRecord{
			UID: r.Caller, Operation: "importRecords", ParamsHash: r.ParamsHash, TenantID: r.TenantID,
			CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		}),
		Report: rep,
	}
}

func toImportRecord(id string, d importRecordDoc) dataimport.Stored {
	rep := dataimport.Report{
		Collection: d.Report.Collection, Received: d.Report.Received, Accepted: d.Report.Accepted,
		AlreadyImported: d.Report.AlreadyImported, DryRun: d.Report.DryRun,
	}
	for _, x := range d.Report.Rejected {
		rep.Rejected = append(rep.Rejected, dataimport.Rejection(x))
	}
	return dataimport.Stored{
		ID: id, Caller: d.UID, ParamsHash: d.ParamsHash, TenantID: d.TenantID, Report: rep,
		CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt,
	}
}

func (im *Imports) tenantRef(id string) *firestore.DocumentRef {
	return im.fs.Collection(colTenants).Doc(id)
}

// Access implements dataimport.Store.
func (im *Imports) Access(ctx context.Context, tenantID, uid string) (servicetokens.Access, error) {
	tref := im.tenantRef(tenantID)
	snaps, err := im.fs.GetAll(ctx, accessRefs(tref, uid))
	if err != nil {
		return servicetokens.Access{}, fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	a, err := decodeAccess(tref, uid, snaps)
	return servicetokens.Access{Tenant: a.tenant, Member: a.member, IsMember: a.isMember}, err
}

// ImportRecord implements dataimport.Store.
func (im *Imports) ImportRecord(ctx context.Context, id string) (dataimport.Stored, error) {
	var d importRecordDoc
	if err := get(ctx, im.fs.Collection(colIdempotency).Doc(id), &d); err != nil {
		return dataimport.Stored{}, err
	}
	return toImportRecord(id, d), nil
}

// Exists implements dataimport.Store with one GetAll.
func (im *Imports) Exists(ctx context.Context, tenantID string, refs []dataimport.DocRef) (map[dataimport.DocRef]bool, error) {
	out := make(map[dataimport.DocRef]bool, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	drefs := make([]*firestore.DocumentRef, len(refs))
	for i, r := range refs {
		drefs[i] = im.tenantRef(tenantID).Collection(r.Collection).Doc(r.ID)
	}
	snaps, err := im.fs.GetAll(ctx, drefs)
	if err != nil {
		return nil, fmt.Errorf("read %d referenced documents of %s: %w", len(refs), tenantID, err)
	}
	for i, snap := range snaps {
		out[refs[i]] = snap.Exists()
	}
	return out, nil
}

// WriteRecords implements dataimport.Store: one GetAll (tenant, membership, the chunk's
// documents) and one commit of create-only writes.
func (im *Imports) WriteRecords(ctx context.Context, tenantID, uid, collection string, ids []string, decide func(dataimport.ChunkState) (map[string]map[string]any, error)) error {
	tref := im.tenantRef(tenantID)
	col := tref.Collection(collection)
	return im.locks.runTransaction(ctx, im.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		a, err := txTenantAccess(tx, tref, uid)
		if err != nil {
			return err
		}
		existing, err := txExisting(tx, col, ids)
		if err != nil {
			return err
		}
		create, err := decide(dataimport.ChunkState{
			Access:   servicetokens.Access{Tenant: a.tenant, Member: a.member, IsMember: a.isMember},
			Existing: existing,
		})
		if err != nil {
			return err
		}
		for id, fields := range create {
			if err := tx.Create(col.Doc(id), fields); err != nil {
				return fmt.Errorf("write %s/%s: %w", collection, id, err)
			}
		}
		return nil
	})
}

// txExisting reads the documents of ids in col and returns the fields of those that exist.
func txExisting(tx *firestore.Transaction, col *firestore.CollectionRef, ids []string) (map[string]map[string]any, error) {
	refs := make([]*firestore.DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = col.Doc(id)
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return nil, fmt.Errorf("read %d documents of %s: %w", len(ids), col.Path, err)
	}
	out := map[string]map[string]any{}
	for _, snap := range snaps {
		if snap.Exists() {
			out[snap.Ref.ID] = snap.Data()
		}
	}
	return out, nil
}

// Finish implements dataimport.Store.
func (im *Imports) Finish(ctx context.Context, tenantID string, rec *dataimport.Stored, audit tenancy.AuditEntry, decide func(*dataimport.Stored) error) error {
	tref := im.tenantRef(tenantID)
	return im.locks.runTransaction(ctx, im.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		if rec != nil {
			ref := im.fs.Collection(colIdempotency).Doc(rec.ID)
			var d importRecordDoc
			err := txGet(tx, ref, &d)
			var existing *dataimport.Stored
			switch {
			case err == nil:
				found := toImportRecord(rec.ID, d)
				existing = &found
			case !errors.Is(err, errs.ErrNotFound):
				return err
			}
			if err := decide(existing); err != nil {
				return err
			}
			if err := tx.Create(ref, toDBImportRecord(*rec)); err != nil {
				return fmt.Errorf("write import idempotency record: %w", err)
			}
		}
		return createAudit(tx, tref, audit)
	})
}
