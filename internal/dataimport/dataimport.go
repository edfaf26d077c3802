// Package dataimport is the data import's domain (importRecords): a migration writes an
// application's documents through the API, with the same checks the application's data gets
// everywhere else, instead of straight into the database. Each record is checked against its
// collection's JSON Schema and references from the application's declaration
// (tenantry.app.yaml, package appdecl); accepted records are created, never overwritten, so a
// rerun writes nothing twice and a crashed import resumes; an idempotency key makes a retried
// call answer the same report.
package dataimport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// Limits.
const (
	// MaxRecords bounds a call; `tenantry import` splits a file into calls of at most this many.
	MaxRecords = 500
	// MaxRecordBytes bounds a record as JSON: an application document, not a file store.
	MaxRecordBytes = 64 << 10
	// MaxIDBytes is Firestore's limit on a document id.
	MaxIDBytes = 1500
	// maxCommitBytes bounds the records of one transaction, under Firestore's 10 MiB per commit.
	maxCommitBytes = 9 << 20
	// maxCommitWrites is Firestore's limit on the writes of one commit.
	maxCommitWrites = 500
)

// Audit actions, one entry per importRecords call (never one per record).
const (
	AuditImported = "data.imported"
	AuditDryRun   = "data.import_dry_run"
)

// Input is importRecords' input.
type Input struct {
	TenantID       string
	Collection     string
	Records        []any // each decoded from JSON (numbers as json.Number)
	IdempotencyKey string
	DryRun         bool
}

// Report is importRecords' answer.
type Report struct {
	Collection      string
	Received        int
	Accepted        int // created by this call (or, in a dry run, that would be)
	AlreadyImported int // the same document was already there
	Rejected        []Rejection
	DryRun          bool
}

// Stored is an import's idempotency record: the report a call answered, under its caller and
// key, with the hash of its parameters.
type Stored struct {
	ID         string
	Caller     string
	ParamsHash string
	TenantID   string
	Report     Report
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// ChunkState is what one write transaction reads: the tenant with the caller's membership, and
// the documents already there under the chunk's ids (fields by id).
type ChunkState struct {
	Access   servicetokens.Access
	Existing map[string]map[string]any
}

// Store is the import's persistence.
type Store interface {
	// Access reads the tenant and uid's membership in it (the tenant alone when uid is ""), in
	// one round trip, outside any transaction; errs.ErrNotFound when the tenant does not exist.
	Access(ctx context.Context, tenantID, uid string) (servicetokens.Access, error)
	// ImportRecord reads an import's idempotency record (errs.ErrNotFound when there is none).
	ImportRecord(ctx context.Context, id string) (Stored, error)
	// Exists reads refs' documents under the tenant in one round trip and says which exist.
	Exists(ctx context.Context, tenantID string, refs []DocRef) (map[DocRef]bool, error)
	// WriteRecords runs one transaction: it reads the tenant, uid's membership (none when uid is
	// "") and the documents ids in the tenant's collection, then creates the documents decide
	// returns (create-only). decide may run more than once.
	WriteRecords(ctx context.Context, tenantID, uid, collection string, ids []string, decide func(ChunkState) (map[string]map[string]any, error)) error
	// Finish writes a call's audit entry and, when rec is not nil, its idempotency record
	// (create-only), in a transaction that first reads that record and hands it to decide (nil
	// when absent); decide's error aborts with nothing written.
	Finish(ctx context.Context, tenantID string, rec *Stored, audit tenancy.AuditEntry, decide func(existing *Stored) error) error
}

// Config tunes the domain.
type Config struct {
	// IdempotencyRetention is how long a call's report answers its retries.
	IdempotencyRetention time.Duration
}

// Service is the import's domain.
type Service struct {
	store Store
	decl  *appdecl.Declaration // nil without a declaration: the import then refuses every call
	clock clock.Clock
	cfg   Config
}

// NewService builds the domain for the application's declaration (nil when there is none).
func NewService(store Store, decl *appdecl.Declaration, clk clock.Clock, cfg Config) *Service {
	if cfg.IdempotencyRetention <= 0 {
		cfg.IdempotencyRetention = 48 * time.Hour
	}
	return &Service{store: store, decl: decl, clock: clk, cfg: cfg}
}

// Import is importRecords: for a service token with the import scope (or validate, for dry
// runs) in its own tenant, or an owner or admin signed in with an ID token, while the tenant is
// writable.
func (s *Service) Import(ctx context.Context, in Input) (Report, error) {
	c, err := callerOf(ctx, in)
	if err != nil {
		return Report{}, err
	}
	a, err := s.store.Access(ctx, in.TenantID, c.uid)
	if err != nil {
		return Report{}, err
	}
	if err := s.check(c, a); err != nil {
		return Report{}, err
	}
	col, err := s.validateInput(in)
	if err != nil {
		return Report{}, err
	}
	j, err := newJob(c, in, s.clock.Now(), s.cfg.IdempotencyRetention)
	if err != nil {
		return Report{}, err
	}
	if !in.DryRun {
		if r, replayed, err := s.replay(ctx, j); replayed || err != nil {
			return r, err
		}
	}
	recs, rejected := parseRecords(s.decl, col, in.Records)
	recs, dangling, err := s.checkReferences(ctx, in.TenantID, col, recs)
	if err != nil {
		return Report{}, err
	}
	j.report.Rejected = append(rejected, dangling...)
	if err := s.write(ctx, j, recs); err != nil {
		return Report{}, err
	}
	return s.finish(ctx, j)
}

// validateInput checks what the call asks for, before any record: a declaration, a declared
// collection, at most MaxRecords records and a usable idempotency key.
func (s *Service) validateInput(in Input) (rules.AppCollection, error) {
	if s.decl == nil {
		return rules.AppCollection{}, errs.Invalid("collection", "this server has no application declaration, so it has no schema to check records against: start it with TENANTRY_APP pointing at your tenantry.app.yaml")
	}
	col, ok := s.decl.Collection(in.Collection)
	if !ok {
		return rules.AppCollection{}, errs.Invalid("collection", fmt.Sprintf("%q is not a collection of %s; use one it declares", in.Collection, s.decl.File))
	}
	if len(in.Records) > MaxRecords {
		return rules.AppCollection{}, errs.Invalid("records", fmt.Sprintf("%d records in one call; send at most %d a call (tenantry import splits a file for you)", len(in.Records), MaxRecords))
	}
	if _, err := validate.IdempotencyKey(in.IdempotencyKey); err != nil {
		return rules.AppCollection{}, err
	}
	return col, nil
}

// replay answers a call whose key was used before by the same caller: the same report when the
// parameters are the same, IDEMPOTENCY_KEY_REUSED when not.
func (s *Service) replay(ctx context.Context, j *job) (Report, bool, error) {
	rec, err := s.store.ImportRecord(ctx, j.recordID)
	if errors.Is(err, errs.ErrNotFound) {
		return Report{}, false, nil
	}
	if err != nil {
		return Report{}, false, fmt.Errorf("read import idempotency record: %w", err)
	}
	if err := j.matches(rec); err != nil {
		return Report{}, false, err
	}
	return rec.Report, true, nil
}

// finish records the call: its audit entry and, unless it is a dry run, its report under the
// idempotency key. A concurrent call with the same key that finished first wins: its report is
// the answer to both.
func (s *Service) finish(ctx context.Context, j *job) (Report, error) {
	var rec *Stored
	if !j.report.DryRun {
		rec = &Stored{
			ID: j.recordID, Caller: j.caller.key, ParamsHash: j.paramsHash, TenantID: j.tenantID,
			Report: j.report, CreatedAt: j.at, ExpiresAt: j.at.Add(j.retention),
		}
	}
	var winner *Stored
	err := s.store.Finish(ctx, j.tenantID, rec, j.audit(ctx), func(existing *Stored) error {
		winner = existing
		if existing != nil {
			return errReplayed
		}
		return nil
	})
	if errors.Is(err, errReplayed) {
		if err := j.matches(*winner); err != nil {
			return Report{}, err
		}
		return winner.Report, nil
	}
	if err != nil {
		return Report{}, fmt.Errorf("record the import: %w", err)
	}
	return j.report, nil
}

// errReplayed aborts a Finish whose key another call recorded first.
var errReplayed = errors.New("import already recorded under this key")
