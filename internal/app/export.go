package app

import (
	"context"
	"crypto/rand"
	"log/slog"

	"github.com/tenantry/tenantry/internal/bucket"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/export"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// wireExport builds the export domain; with TENANTRY_EXPORT_BUCKET unset it has no bucket, lists
// exports and refuses new ones. The returned bucket (nil without one) is closed with the app.
func wireExport(ctx context.Context, cfg config.Config, st *store.Store, ten *tenancy.Service, clk clock.Clock) (*export.Service, *bucket.Bucket, error) {
	ecfg := export.Config{
		LinkTTL: cfg.ExportLinkTTL, SigningKey: []byte(cfg.ExportSigningKey), BaseURL: cfg.ExportBaseURL(),
		MaxAttempts: cfg.OutboxMaxAttempts,
	}
	if !cfg.ExportsEnabled() {
		return export.NewService(st.Exports(), nil, ten, clk, ecfg), nil, nil
	}
	b, err := bucket.New(ctx, cfg.ExportBucket)
	if err != nil {
		return nil, nil, err
	}
	if len(ecfg.SigningKey) == 0 {
		// Config refuses this in production; in development links then last as long as the process.
		ecfg.SigningKey = []byte(rand.Text() + rand.Text())
		slog.Warn("TENANTRY_EXPORT_SIGNING_KEY is not set: export download links are signed with a key made for this process and stop working when it restarts")
	}
	if cfg.StorageEmulatorHost != "" {
		// The emulator starts empty; a real bucket is created once, with its lifecycle rules.
		ecfg.Prepare = func(ctx context.Context) error { return b.EnsureExists(ctx, cfg.Project) }
	}
	return export.NewService(st.Exports(), b, ten, clk, ecfg), b, nil
}

// registerExport makes d build exports when a bucket is set; without one, export entries stay
// pending, known, until a dispatcher with a bucket runs.
func registerExport(cfg config.Config, d *outbox.Dispatcher, x *export.Service) {
	if !cfg.ExportsEnabled() {
		d.Know(export.Kinds...)
		return
	}
	x.Register(d)
}
