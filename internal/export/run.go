package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// Register makes d build exports (kinds.ExportRun).
func (s *Service) Register(d *outbox.Dispatcher) { kinds.Handle(d, s.handle) }

// Kinds lists the outbox kinds Register handles, for a dispatcher that only knows them.
var Kinds = kinds.Names(kinds.ExportRun{})

func (s *Service) handle(ctx context.Context, d outbox.Delivery, p kinds.ExportRun) error {
	tenantID := kinds.TenantOf(d.Entry)
	if tenantID == "" || p.ExportID == "" {
		return outbox.Permanentf("payload has no tenantId or exportId")
	}
	_, err := s.Run(ctx, tenantID, p.ExportID, nil)
	if err == nil || errors.Is(err, errNoRecord) || !(outbox.IsPermanent(err) || d.Attempt >= s.cfg.MaxAttempts) {
		return err
	}
	// The last attempt: the owner sees why in Tenant.exports, and may ask again. ctx may be
	// what ran out.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	reason := fmt.Sprintf("the archive could not be built after %d attempts; request a new export, and contact support if it fails again", d.Attempt)
	if _, ferr := s.fail(fctx, tenantID, p.ExportID, reason); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// errNoRecord: the export's record is gone (its tenant purged, say); there is nothing to mark.
var errNoRecord = errors.New("the export's record does not exist")

// Run builds a pending export's archive and marks it ready, with the owners' email carrying the
// download link and the export.ready event in the same commit. An export that is no longer pending is returned unchanged,
// so a retried run after that commit does nothing; a retry before it writes the same object
// again. progress, if not nil, gets the number of documents read so far.
func (s *Service) Run(ctx context.Context, tenantID, exportID string, progress func(docs int)) (Export, error) {
	e, err := s.store.Export(ctx, tenantID, exportID)
	if errors.Is(err, errs.ErrNotFound) {
		return Export{}, outbox.Permanent(fmt.Errorf("export %s of tenant %s: %w (the tenant may have been purged)", exportID, tenantID, errNoRecord))
	}
	if err != nil || e.Status != StatusPending {
		return e, err
	}
	if s.bucket == nil {
		return Export{}, errNotSetUp
	}
	built, err := s.build(ctx, e, progress)
	if errors.Is(err, errs.ErrNotFound) {
		return s.fail(ctx, tenantID, exportID, "the organization no longer exists, so there is nothing to export")
	}
	if err != nil {
		return Export{}, fmt.Errorf("build export %s of tenant %s: %w", exportID, tenantID, err)
	}
	now := s.clock.Now()
	built.Status, built.CompletedAt, built.ExpiresAt = StatusReady, now, now.Add(s.cfg.LinkTTL)
	mail := tenancy.NewOutboxEntry(tenantID, kinds.ExportReadyEmail{
		ExportID: exportID, URL: s.link(built), ExpiresAt: built.ExpiresAt,
	}, tenantID+"-"+exportID, now)
	entries := append([]tenancy.OutboxEntry{mail}, s.tenancy.Events().Emit(tenantID, tenancy.ExportReady{
		TenantID: tenantID, ExportID: exportID, Documents: built.Documents, SizeBytes: built.SizeBytes,
		CompletedAt: built.CompletedAt, ExpiresAt: built.ExpiresAt,
	}, now)...)
	done, err := s.store.Finish(ctx, built, entries...)
	if err != nil {
		return Export{}, fmt.Errorf("mark export %s of tenant %s ready: %w", exportID, tenantID, err)
	}
	return done, nil
}

// fail marks a pending export failed with reason, which the owner reads in Tenant.exports.
func (s *Service) fail(ctx context.Context, tenantID, exportID, reason string) (Export, error) {
	e := Export{ID: exportID, TenantID: tenantID, Status: StatusFailed, CompletedAt: s.clock.Now(), Failure: reason}
	done, err := s.store.Finish(ctx, e)
	if err != nil {
		return Export{}, fmt.Errorf("mark export %s of tenant %s failed: %w", exportID, tenantID, err)
	}
	return done, nil
}
