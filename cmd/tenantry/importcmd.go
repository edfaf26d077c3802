package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/importclient"
)

const importUsage = `usage: tenantry import --file data.ndjson|data.csv --collection C --tenant T --token tnt_… [--dry-run] [--url URL] [--app FILE] [--batch N]`

// importCmd imports a file through the API (importclient): calls of at most 500 records, a
// progress bar on stderr, resumable, with the rejected records written next to the file.
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("import", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var o importclient.Options
	fl.StringVar(&o.File, "file", "", "the records: .ndjson (one JSON object per line) or .csv (a header row of field names)")
	fl.StringVar(&o.Collection, "collection", "", "the collection of the application's declaration to import into")
	fl.StringVar(&o.TenantID, "tenant", "", "the tenant's id")
	fl.StringVar(&o.Token, "token", os.Getenv("TENANTRY_TOKEN"), "a service token (tnt_…) with the import scope, or an owner's or admin's ID token (default $TENANTRY_TOKEN)")
	fl.StringVar(&o.URL, "url", "http://127.0.0.1:8080/graphql", "the Tenantry GraphQL endpoint")
	fl.BoolVar(&o.DryRun, "dry-run", false, "check every record and write nothing")
	fl.IntVar(&o.Batch, "batch", importclient.MaxBatch, "records per call, 1 to 500")
	app := fl.String("app", os.Getenv("TENANTRY_APP"), "the application declaration, to type CSV columns by the schema (default $TENANTRY_APP, else tenantry.app.yaml here)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if o.File == "" || o.Collection == "" || o.TenantID == "" || o.Token == "" || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "tenantry import: --file, --collection, --tenant and --token (or TENANTRY_TOKEN) are required\n"+importUsage)
		return 2
	}
	decl, err := appdecl.Find(*app)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry import: the application declaration is invalid; fix it or leave --app out (CSV cells are then strings):\n%v\n", err)
		return 2
	}
	o.Declaration, o.Progress = decl, stderr
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	res, err := importclient.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "\ntenantry import: %v\n", err)
		if res.Calls > 0 {
			fmt.Fprint(stdout, res.Summary(o))
		}
		return 1
	}
	fmt.Fprint(stdout, res.Summary(o))
	return 0
}
