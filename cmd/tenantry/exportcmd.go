package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/export"
)

const exportUsage = `usage: tenantry export --tenant ID [--out FILE]

Exports every document of the tenant (as exportTenant does, with the same exclusions) into one
tar.gz in TENANTRY_EXPORT_BUCKET, here and now rather than through the outbox, showing the walk's
progress. The owners get the email with the download link (from the outbox, sent by serve);
--out also saves the archive to FILE. Runs with the server's credentials: for staff only. The
export is recorded in the tenant's audit log (tenant.export_requested, by "cli").`

// exportCmd runs an export through the domain, as the other staff commands do.
func exportCmd(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("export", flag.ContinueOnError)
	fl.SetOutput(stderr)
	tenantID := fl.String("tenant", "", "the tenant's id")
	out := fl.String("out", "", "also save the archive to this file")
	if err := fl.Parse(args); err != nil || fl.NArg() > 0 || *tenantID == "" {
		fmt.Fprintln(stderr, exportUsage)
		return 2
	}
	needBucket := func(c config.Config) error {
		if !c.ExportsEnabled() {
			return errors.New("TENANTRY_EXPORT_BUCKET is not set: name the Cloud Storage bucket that holds the exports (docs/operations.md)")
		}
		return nil
	}
	return withApp(stderr, needBucket, func(ctx context.Context, cfg config.Config, a *app.App) int {
		e, err := runExport(ctx, a.Export, *tenantID, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "tenantry export: %v; running it again is safe (it rewrites the same archive)\n", err)
			return 1
		}
		printExport(stdout, cfg, a.Export, e)
		if *out != "" {
			if err := saveArchive(ctx, a.Export, e, *out); err != nil {
				fmt.Fprintf(stderr, "tenantry export: save the archive to %s: %v\n", *out, err)
				return 1
			}
			fmt.Fprintf(stdout, "Saved to %s.\n", *out)
		}
		return 0
	})
}

// runExport records the export (or joins the one already pending) and builds it with a progress
// bar of the documents read.
func runExport(ctx context.Context, x *export.Service, tenantID string, stderr io.Writer) (export.Export, error) {
	e, err := x.RequestDirect(ctx, tenantID, "cli")
	if err != nil {
		return export.Export{}, err
	}
	bar := documentsBar(stderr)
	bar.Describe("export " + tenantID)
	done, err := x.Run(ctx, tenantID, e.ID, func(n int) { _ = bar.Set(n) })
	_ = bar.Finish()
	fmt.Fprintln(stderr)
	if err == nil && done.Status == export.StatusFailed {
		err = errors.New(done.Failure)
	}
	return done, err
}

// printExport says what the export did.
func printExport(w io.Writer, cfg config.Config, x *export.Service, e export.Export) {
	fmt.Fprintf(w, "Exported tenant %s: export %s, %d documents, %d bytes, gs://%s/%s\n",
		e.TenantID, e.ID, e.Documents, e.SizeBytes, cfg.ExportBucket, e.Object)
	names := make([]string, 0, len(e.Counts))
	for c := range e.Counts {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		fmt.Fprintf(w, "  %-40s %d\n", c+".ndjson", e.Counts[c])
	}
	if cfg.ExportSigningKey == "" {
		fmt.Fprintln(w, "No TENANTRY_EXPORT_SIGNING_KEY here: the owners' link is signed by this process and will not work; use --out, or run with the server's key.")
		return
	}
	fmt.Fprintf(w, "Download link (until %s): %s\n", e.ExpiresAt.UTC().Format(time.RFC3339), x.DownloadURL(e))
}

func saveArchive(ctx context.Context, x *export.Service, e export.Export, path string) error {
	body, err := x.Archive(ctx, e)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
