package importclient

import (
	"fmt"
	"strings"
)

// Summary is what `tenantry import` prints at the end.
func (r Result) Summary(o Options) string {
	var b strings.Builder
	mode := "imported"
	if r.DryRun {
		mode = "checked (dry run: nothing written)"
	}
	rate := 0.0
	if s := r.Elapsed.Seconds(); s > 0 {
		rate = float64(r.Records) / s
	}
	fmt.Fprintf(&b, "%s %s into %s of tenant %s: %d records, %d calls", o.File, mode, o.Collection, o.TenantID, r.Records, r.Calls)
	if resumed := r.Calls - r.Sent; resumed > 0 {
		fmt.Fprintf(&b, " (%d completed before this run resumed)", resumed)
	}
	fmt.Fprintf(&b, ", %.1fs, %.0f records/s\n", r.Elapsed.Seconds(), rate)
	fmt.Fprintf(&b, "  accepted          %d\n", r.Accepted)
	fmt.Fprintf(&b, "  already imported  %d\n", r.AlreadyImported)
	fmt.Fprintf(&b, "  rejected          %d\n", r.Rejected)
	if r.RejectionsFile != "" {
		fmt.Fprintf(&b, "The rejected records are in %s, each with the reason in %q: fix them and import that file.\n", r.RejectionsFile, ErrorField)
	}
	return b.String()
}
