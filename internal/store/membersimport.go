package store

import (
	"fmt"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// membersImportDoc is idempotencyRecords/{id} for an importMembers call: idempotencyDoc's fields
// (uid holds the caller: "user:<uid>" or "service-token:<id>") and the report the call answered.
// It lives with the other idempotency records, so purge-idempotency-records removes it too.
type membersImportDoc struct {
	idempotencyDoc
	Report membersImportReportDoc `firestore:"report"`
}

type membersImportReportDoc struct {
	Received      int      `firestore:"received"`
	Invited       int      `firestore:"invited"`
	InvitationIDs []string `firestore:"invitationIds"`
}

// toDBMembersImport stores a recorded call; only calls that invited are recorded, so the report
// has no rejections to keep.
func toDBMembersImport(r members.ImportRecord) membersImportDoc {
	ids := r.Report.InvitationIDs
	if ids == nil {
		ids = []string{}
	}
	return membersImportDoc{
		idempotencyDoc: toDBIdempotency(tenancy.IdempotencyRecord{
			UID: r.Caller, Operation: "importMembers", ParamsHash: r.ParamsHash, TenantID: r.TenantID,
			CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		}),
		Report: membersImportReportDoc{Received: r.Report.Received, Invited: r.Report.Invited, InvitationIDs: ids},
	}
}

// membersImportIn decodes an importMembers record read in a transaction; nil when there is none.
func membersImportIn(snap *firestore.DocumentSnapshot) (*members.ImportRecord, error) {
	var d membersImportDoc
	found, err := decodeFound(snap, &d)
	if err != nil || !found {
		return nil, err
	}
	if d.Operation != "importMembers" {
		return nil, fmt.Errorf("idempotency record %s belongs to %s", snap.Ref.ID, d.Operation)
	}
	return &members.ImportRecord{
		ID: snap.Ref.ID, Caller: d.UID, ParamsHash: d.ParamsHash, TenantID: d.TenantID,
		CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt,
		Report: members.ImportReport{Received: d.Report.Received, Invited: d.Report.Invited, InvitationIDs: d.Report.InvitationIDs},
	}, nil
}
