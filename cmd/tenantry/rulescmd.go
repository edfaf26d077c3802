package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/rules"
)

// rulesCmd prints the firestore.rules for the application's declaration (--app, else TENANTRY_APP,
// else tenantry.app.yaml in the working directory when present, else none). --explain lists
// instead what the declaration's schemas ask that the rules cannot check (the API checks it).
func rulesCmd(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("rules", flag.ContinueOnError)
	fl.SetOutput(stderr)
	file := fl.String("app", os.Getenv("TENANTRY_APP"), "the application declaration (tenantry.app.yaml)")
	explain := fl.Bool("explain", false, "list what the rules cannot check, instead of printing them")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "tenantry rules: unexpected argument %q; usage: tenantry rules [--app FILE] [--explain]\n", fl.Arg(0))
		return 2
	}
	d, err := appdecl.Find(*file)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry rules: the application declaration is invalid; fix it and run again:\n%v\n", err)
		return 1
	}
	if !*explain {
		fmt.Fprint(stdout, rules.FirestoreRulesFor(appdecl.AppOf(d)))
		return 0
	}
	switch {
	case d == nil:
		fmt.Fprintln(stdout, "No application declaration: application data follows Tenantry's access policy, all of it in the rules.")
	case len(d.Unenforced) == 0:
		fmt.Fprintf(stdout, "%s: the rules check everything its schemas ask.\n", d.File)
	default:
		fmt.Fprintf(stdout, "%s: what the rules cannot check, and the API does (the import, and every server-side write):\n", d.File)
		for _, u := range d.Unenforced {
			fmt.Fprintf(stdout, "  %s\n", u)
		}
	}
	return 0
}
