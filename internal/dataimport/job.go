package dataimport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// operation names importRecords in idempotency records, so a key used for another operation
// never answers an import.
const operation = "importRecords"

// job is one importRecords call on its way: who, where, and the report so far.
type job struct {
	caller     caller
	tenantID   string
	collection string
	key        string
	recordID   string
	paramsHash string
	at         time.Time
	retention  time.Duration
	report     Report
}

func newJob(c caller, in Input, at time.Time, retention time.Duration) (*job, error) {
	// encoding/json sorts map keys and writes json.Number as sent, so equal calls hash alike.
	b, err := json.Marshal(map[string]any{
		"tenantId": in.TenantID, "collection": in.Collection, "dryRun": in.DryRun, "records": in.Records,
	})
	if err != nil {
		return nil, errs.Invalid("records", "the records are not plain JSON")
	}
	sum := sha256.Sum256(b)
	return &job{
		caller: c, tenantID: in.TenantID, collection: in.Collection, key: in.IdempotencyKey,
		recordID:   tenancy.IdempotencyRecordID(c.key, operation+"\x00"+in.IdempotencyKey),
		paramsHash: hex.EncodeToString(sum[:]), at: at, retention: retention,
		report: Report{Collection: in.Collection, Received: len(in.Records), DryRun: in.DryRun},
	}, nil
}

// matches checks that a stored record answers this call: same caller and parameters.
func (j *job) matches(rec Stored) error {
	if rec.Caller != j.caller.key || rec.ParamsHash != j.paramsHash {
		return errs.ErrIdempotencyKeyReused
	}
	return nil
}

// audit is the call's one audit entry, with its counts (never the records).
func (j *job) audit(ctx context.Context) tenancy.AuditEntry {
	r := j.report
	action, verb := AuditImported, "imported"
	if r.DryRun {
		action, verb = AuditDryRun, "checked (dry run)"
	}
	details := map[string]any{
		"collection": r.Collection, "received": r.Received, "accepted": r.Accepted,
		"alreadyImported": r.AlreadyImported, "rejected": len(r.Rejected), "dryRun": r.DryRun,
		"idempotencyKey": j.key,
	}
	if svc := j.caller.service; svc != nil {
		details["serviceTokenId"], details["serviceTokenName"] = svc.TokenID, svc.TokenName
	}
	return tenancy.AuditEntry{
		Action: action, Actor: j.caller.actor, RequestID: reqctx.RequestID(ctx), At: j.at, Details: details,
		Reason: fmt.Sprintf("%s %d records into %s: %d accepted, %d already imported, %d rejected",
			verb, r.Received, r.Collection, r.Accepted, r.AlreadyImported, len(r.Rejected)),
	}
}

// write creates the records that passed every check, a transaction per chunk. Each transaction
// checks the policy again on the tenant as it reads it, and reads the documents under the
// chunk's ids: absent ones are created, equal ones count as already imported, and a different
// one rejects its record (an import never overwrites). A dry run decides the same and writes
// nothing. Chunks that committed before a failure stay written: a retry finds them already
// imported.
func (s *Service) write(ctx context.Context, j *job, recs []Record) error {
	for _, chunk := range chunks(recs) {
		ids := make([]string, len(chunk))
		for i, r := range chunk {
			ids[i] = r.ID
		}
		var out chunkOutcome
		err := s.store.WriteRecords(ctx, j.tenantID, j.caller.uid, j.collection, ids, func(st ChunkState) (map[string]map[string]any, error) {
			if err := s.check(j.caller, st.Access); err != nil {
				return nil, err
			}
			out = classify(chunk, st.Existing)
			if j.report.DryRun {
				return nil, nil
			}
			return out.create, nil
		})
		if err != nil {
			return err
		}
		j.report.Accepted += len(out.create)
		j.report.AlreadyImported += out.same
		j.report.Rejected = append(j.report.Rejected, out.rejected...)
	}
	sort.SliceStable(j.report.Rejected, func(a, b int) bool { return j.report.Rejected[a].Index < j.report.Rejected[b].Index })
	return nil
}

// chunkOutcome is what one chunk's transaction decided.
type chunkOutcome struct {
	create   map[string]map[string]any
	same     int
	rejected []Rejection
}

// classify sorts a chunk's records against the documents already there.
func classify(chunk []Record, existing map[string]map[string]any) chunkOutcome {
	out := chunkOutcome{create: map[string]map[string]any{}}
	for _, r := range chunk {
		stored, found := existing[r.ID]
		switch {
		case !found:
			out.create[r.ID] = r.Fields
		case sameDocument(stored, r.Fields):
			out.same++
		default:
			out.rejected = append(out.rejected, Rejection{Index: r.Index, Field: IDField,
				Reason: "a different document with this id exists; an import never overwrites: change the id, or update the document in the application"})
		}
	}
	return out
}

// chunks splits records into transactions of at most maxCommitWrites records and
// maxCommitBytes of JSON.
func chunks(recs []Record) [][]Record {
	var out [][]Record
	start, bytes := 0, 0
	for i, r := range recs {
		if i > start && (i-start == maxCommitWrites || bytes+r.Bytes > maxCommitBytes) {
			out = append(out, recs[start:i])
			start, bytes = i, 0
		}
		bytes += r.Bytes
	}
	if start < len(recs) {
		out = append(out, recs[start:])
	}
	return out
}
