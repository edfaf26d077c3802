// Package export is the tenant export: exportTenant (an owner, or staff) records an export and,
// in the same commit, an outbox entry whose handler (Run) walks every document under the tenant
// and streams one tar.gz archive into Cloud Storage: one NDJSON file per collection path
// (members.ndjson, audit.ndjson, clients/notes.ndjson, …) and manifest.json with the counts and
// the tenant document. Once the archive is written the export is ready, and the owners receive a
// time-limited link (link.go) that Tenantry itself serves.
//
// What is left out, and why (the store applies it, Store.Excluded describes it):
//   - tenants/{id}/private: the staff-only record (CRM reference, search tokens, who provisioned
//     the tenant), which is Tenantry's data about the customer, not the customer's data;
//   - tenants/{id}/exports: the export records themselves, bookkeeping of the archives;
//   - an invitation's tokenHash: the hash of a pending invitation's secret, enough to check a
//     guessed token offline;
//   - service tokens (their hashes included) and invitation-token indexes live outside the tenant
//     (serviceTokens/, invitationTokens/) and are never walked.
//
// The package knows no Firestore, Cloud Storage or HTTP: a Store and a Bucket stand for them.
package export

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Status is where an export is in its life.
type Status string

// Export statuses: pending until the archive is written, then ready (or failed, with a reason).
const (
	StatusPending Status = "pending"
	StatusReady   Status = "ready"
	StatusFailed  Status = "failed"
)

// AuditRequested is the audit action of an export request, in tenants/{id}/audit: an export hands
// out all of a tenant's data, so who asked for one is recorded.
const AuditRequested = "tenant.export_requested"

// Export is one export of a tenant, stored in tenants/{id}/exports/{exportId}.
type Export struct {
	ID          string
	TenantID    string
	Status      Status
	RequestedBy tenancy.Actor
	RequestedAt time.Time
	CompletedAt time.Time // ready or failed; zero while pending
	ExpiresAt   time.Time // ready: when the download link stops working
	Counts      map[string]int
	Documents   int   // the counts' sum
	SizeBytes   int64 // the archive's size
	Object      string
	Failure     string // failed: why, and what to do
}

// Document is one document of a tenant: its path below the tenant ("clients/c1/notes/n1") and
// its fields as plain Go values (time.Time, string, numbers, []any, map[string]any, []byte).
type Document struct {
	Path string
	Data map[string]any
}

// Store is the persistence of exports.
type Store interface {
	// Request runs one transaction: errs.ErrNotFound when the tenant is gone; the pending export
	// requested after busyAfter, if there is one, is returned with created false; otherwise e is
	// created with audit and the outbox entries.
	Request(ctx context.Context, e Export, busyAfter time.Time, audit tenancy.AuditEntry, entries ...tenancy.OutboxEntry) (Export, bool, error)
	// Export reads one export (errs.ErrNotFound when there is none).
	Export(ctx context.Context, tenantID, id string) (Export, error)
	// Exports lists up to limit exports of a tenant, newest first.
	Exports(ctx context.Context, tenantID string, limit int) ([]Export, error)
	// Finish writes e's outcome (ready or failed) and the entries, in one transaction, unless
	// the stored export is no longer pending (then it writes nothing and returns the stored one).
	Finish(ctx context.Context, e Export, entries ...tenancy.OutboxEntry) (Export, error)
	// TenantDocument reads the tenant document's fields (errs.ErrNotFound when it is gone).
	TenantDocument(ctx context.Context, tenantID string) (map[string]any, error)
	// Walk passes every exported document under the tenant to visit, a chunk at a time, under
	// its collection path ("clients/notes"); see the package comment for what it leaves out.
	Walk(ctx context.Context, tenantID string, visit func(collection string, docs []Document) error) error
	// Excluded says, one line each, what Walk leaves out and why (for the manifest).
	Excluded() []string
}

// Bucket holds the archives (package bucket is the Cloud Storage one).
type Bucket interface {
	// Create writes object name; it replaces the object only when Close succeeds.
	Create(ctx context.Context, name, contentType string) io.WriteCloser
	// Open reads object name (errs.ErrNotFound when it is missing) and gives its size.
	Open(ctx context.Context, name string) (io.ReadCloser, int64, error)
}

// Config tunes the export.
type Config struct {
	// LinkTTL is how long a download link works after the archive is written.
	LinkTTL time.Duration
	// SigningKey signs the download links (HMAC-SHA256); never logged.
	SigningKey []byte
	// BaseURL is Tenantry's public base URL, which download links start with.
	BaseURL string
	// MaxAttempts is the outbox's: when the last attempt fails, the export is marked failed.
	MaxAttempts int
	// BusyFor is how long a pending export keeps a new request from starting another (a request
	// retried after a timeout gets the running export back); after it, a stuck export no longer
	// blocks. Zero: DefaultBusyFor.
	BusyFor time.Duration
	// SpoolDir holds each collection's NDJSON while the walk runs ("": the system's temp dir).
	SpoolDir string
	// Prepare runs before each archive is written (the emulator's bucket is created there); nil:
	// nothing.
	Prepare func(context.Context) error
}

// DefaultBusyFor bounds how long a pending export blocks a new one.
const DefaultBusyFor = 6 * time.Hour

// listLimit bounds Tenant.exports.
const listLimit = 50

// staffRoles may export any tenant: a super admin, and support (a customer asking for their
// data back is a support request).
var staffRoles = []auth.PlatformRole{auth.PlatformSuperAdmin, auth.PlatformSupport}

// Service is the export domain.
type Service struct {
	store   Store
	bucket  Bucket // nil: exports are not set up (no TENANTRY_EXPORT_BUCKET)
	tenancy *tenancy.Service
	clock   clock.Clock
	cfg     Config
}

// NewService builds the domain; bucket may be nil when exports are not set up, which leaves
// listing working and refuses new exports.
func NewService(st Store, bucket Bucket, ten *tenancy.Service, clk clock.Clock, cfg Config) *Service {
	if cfg.BusyFor <= 0 {
		cfg.BusyFor = DefaultBusyFor
	}
	return &Service{store: st, bucket: bucket, tenancy: ten, clock: clk, cfg: cfg}
}

// errNotSetUp answers a request on a server without a bucket.
var errNotSetUp = errs.Detail(errs.ErrForbidden,
	"exports are not set up on this server: its operator must set TENANTRY_EXPORT_BUCKET (see docs/operations.md); contact support for your data meanwhile")

// Request is exportTenant: it records a pending export and the outbox entry that builds it, in
// one commit. While an export of the tenant is pending, a new request returns that one, so a
// retried request never starts a second walk.
func (s *Service) Request(ctx context.Context, tenantID string) (Export, error) {
	actor, err := s.authorize(ctx, tenantID, true)
	if err != nil {
		return Export{}, err
	}
	if s.bucket == nil {
		return Export{}, errNotSetUp
	}
	return s.request(ctx, tenantID, actor, true)
}

// RequestDirect records a pending export for the staff CLI, which then runs it itself (Run):
// no outbox entry. system names the caller in the audit log.
func (s *Service) RequestDirect(ctx context.Context, tenantID, system string) (Export, error) {
	if s.bucket == nil {
		return Export{}, errNotSetUp
	}
	return s.request(ctx, tenantID, tenancy.Actor{System: system}, false)
}

func (s *Service) request(ctx context.Context, tenantID string, actor tenancy.Actor, queue bool) (Export, error) {
	now := s.clock.Now()
	e := Export{ID: rand.Text(), TenantID: tenantID, Status: StatusPending, RequestedBy: actor, RequestedAt: now}
	audit := tenancy.AuditEntry{
		Action: AuditRequested, Actor: actor, RequestID: reqctx.RequestID(ctx), At: now,
		Details: map[string]any{"exportId": e.ID},
	}
	var entries []tenancy.OutboxEntry
	if queue {
		entries = append(entries, tenancy.NewOutboxEntry(tenantID, kinds.ExportRun{ExportID: e.ID}, tenantID+"-"+e.ID, now))
	}
	got, _, err := s.store.Request(ctx, e, now.Add(-s.cfg.BusyFor), audit, entries...)
	if err != nil {
		return Export{}, fmt.Errorf("request an export of tenant %s: %w", tenantID, err)
	}
	return got, nil
}

// List is Tenant.exports, newest first, for the tenant's owners and platform staff.
func (s *Service) List(ctx context.Context, tenantID string) ([]Export, error) {
	if _, err := s.authorize(ctx, tenantID, false); err != nil {
		return nil, err
	}
	list, err := s.store.Exports(ctx, tenantID, listLimit)
	if err != nil {
		return nil, fmt.Errorf("list the exports of tenant %s: %w", tenantID, err)
	}
	return list, nil
}

// authorize lets an owner export (or list the exports of) a tenant whose status leaves reads
// open, and platform staff any tenant: super admins and support to export (with a fresh sign-in,
// as every staff change), every platform role to list. Anyone else who is not a member gets
// errs.ErrNotFound, as for the tenant itself.
func (s *Service) authorize(ctx context.Context, tenantID string, export bool) (tenancy.Actor, error) {
	v, err := s.tenancy.Tenant(ctx, tenantID)
	if err != nil {
		return tenancy.Actor{}, err
	}
	p, _ := auth.FromContext(ctx)
	actor := tenancy.Actor{UID: p.UID, PlatformRole: p.PlatformRole}
	switch {
	case export && slices.Contains(staffRoles, p.PlatformRole):
		return actor, auth.RequireFresh(ctx)
	case !export && p.PlatformRole.IsStaff():
		return actor, nil
	case v.Staff:
		return tenancy.Actor{}, errs.Detail(errs.ErrForbidden, "exporting an organization needs the SUPER_ADMIN or SUPPORT platform role; ask a super admin")
	}
	if err := rules.CheckStatus(v.Tenant.AccessStatus(s.clock.Now()), rules.ReadData); err != nil {
		return tenancy.Actor{}, err
	}
	if v.Role != rules.RoleOwner {
		return tenancy.Actor{}, errs.Detail(errs.ErrForbidden, "only an owner of the organization can export its data or see its exports; ask an owner")
	}
	return actor, nil
}
