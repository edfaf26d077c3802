// Package importclient is `tenantry import`: it reads an NDJSON or CSV file, sends its records to
// the API's importRecords (never to the database) in calls of at most 500, shows a progress bar,
// resumes an interrupted import where it stopped, and writes the rejected records to a file a
// person can fix and import again. It is a client of the HTTP API, like any integration.
package importclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tenantry/tenantry/internal/appdecl"
)

// Defaults and limits.
const (
	// MaxBatch is the API's limit on records per call (dataimport.MaxRecords).
	MaxBatch = 500
	// DefaultMaxCallBytes bounds a call's records as JSON, under the server's default
	// TENANTRY_IMPORT_MAX_BODY_BYTES (16 MiB).
	DefaultMaxCallBytes = 8 << 20
	defaultAttempts     = 6
	defaultBackoff      = 500 * time.Millisecond
)

// Options are an import's settings.
type Options struct {
	File       string
	Collection string
	TenantID   string
	Token      string // a service token (tnt_…) or an owner's or admin's ID token; never printed
	URL        string // the GraphQL endpoint, e.g. http://127.0.0.1:8080/graphql
	DryRun     bool
	// Batch is the records per call, 1 to MaxBatch (0: MaxBatch); MaxCallBytes bounds a call's
	// records as JSON (0: DefaultMaxCallBytes).
	Batch        int
	MaxCallBytes int
	// Declaration types CSV columns by the collection's schema; nil: every CSV cell is a string.
	Declaration *appdecl.Declaration
	HTTPClient  *http.Client // nil: http.DefaultClient
	Progress    io.Writer    // where the progress bar goes; nil: no bar
	// Attempts and Backoff bound the retries of a call (0: 6 attempts from 500 ms, doubling).
	Attempts int
	Backoff  time.Duration
}

// Totals count an import's records.
type Totals struct {
	Records         int `json:"records"`
	Accepted        int `json:"accepted"`
	AlreadyImported int `json:"alreadyImported"`
	Rejected        int `json:"rejected"`
}

// Result is what an import did, resumed calls included.
type Result struct {
	Totals
	Calls          int    // calls of the import, all of them
	Sent           int    // calls sent by this process (the others completed before it resumed)
	RejectionsFile string // "" when no record was rejected
	Elapsed        time.Duration
	DryRun         bool
}

// Run imports o.File. It returns when every call is answered, or at the first error that a
// retry cannot fix (the API's refusal, or ctx cancelled): the state file then lets the next Run
// with the same options resume after the last completed call.
func Run(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	p, err := prepare(o)
	if err != nil {
		return Result{}, err
	}
	defer p.rejections.close()
	bar := p.progressBar()
	res := Result{Calls: len(p.calls), DryRun: o.DryRun}
	for i := p.st.CallsDone; i < len(p.calls); i++ {
		if err := p.send(ctx, i); err != nil {
			res.Totals, res.Elapsed = p.st.Totals, time.Since(start)
			return res, fmt.Errorf("call %d of %d: %w (run the same command again to resume)", i+1, len(p.calls), err)
		}
		res.Sent++
		if bar != nil {
			_ = bar.Add(len(p.calls[i]))
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	res.Totals, res.Elapsed = p.st.Totals, time.Since(start)
	if res.Rejected > 0 {
		res.RejectionsFile = p.rejections.path
	}
	return res, p.done()
}

// importRun is one prepared import: its input cut into calls, its state and its rejections.
type importRun struct {
	o          Options
	in         input
	calls      [][]int // indices into in.items of each call's records
	st         state
	statePath  string
	rejections *rejections
	api        api
}

// prepare reads the input, cuts it into calls and resumes the state, or starts a new one.
func prepare(o Options) (*importRun, error) {
	if o.Batch <= 0 || o.Batch > MaxBatch {
		o.Batch = MaxBatch
	}
	if o.MaxCallBytes <= 0 {
		o.MaxCallBytes = DefaultMaxCallBytes
	}
	if o.Attempts <= 0 {
		o.Attempts, o.Backoff = defaultAttempts, defaultBackoff
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	format, err := FormatOf(o.File)
	if err != nil {
		return nil, err
	}
	in, err := readInput(o.File, format, columnTypes(o.Declaration, o.Collection))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", o.File, err)
	}
	hash, err := fileHash(o.File)
	if err != nil {
		return nil, err
	}
	p := &importRun{o: o, in: in, statePath: StatePath(o.File), api: api{url: o.URL, token: o.Token, http: o.HTTPClient}}
	p.calls = cut(in.items, o.Batch, o.MaxCallBytes)
	fresh := state{Version: stateVersion, Run: newRun(), InputHash: hash, Collection: o.Collection, TenantID: o.TenantID, Batch: o.Batch, MaxBytes: o.MaxCallBytes}
	if err := p.resume(fresh); err != nil {
		return nil, err
	}
	return p, nil
}

// resume continues the state an interrupted import of the same input left, or starts fresh
// (a dry run always does, and keeps no state).
func (p *importRun) resume(fresh state) error {
	var err error
	p.rejections, err = openRejections(p.o.File, p.in)
	if err != nil {
		return err
	}
	if !p.o.DryRun {
		old, ok, err := loadState(p.statePath)
		if err != nil {
			return err
		}
		if ok && old.sameImport(fresh) {
			p.st = old
			return p.rejections.truncate(old.RejectionsSize)
		}
	}
	// A new run: the rejections file starts over, with the records that cannot be sent at all.
	p.st = fresh
	p.st.Totals.Records = len(p.in.items)
	if err := p.rejections.reset(); err != nil {
		return err
	}
	for i := range p.in.items {
		if it := p.in.items[i]; it.bad != "" {
			if err := p.rejections.add(it, "", it.bad); err != nil {
				return err
			}
			p.st.Totals.Rejected++
		}
	}
	return p.checkpoint()
}

// send sends call i and records its answer.
func (p *importRun) send(ctx context.Context, i int) error {
	records := make([]any, len(p.calls[i]))
	for k, idx := range p.calls[i] {
		records[k] = p.in.items[idx].record
	}
	rep, err := p.api.callWithRetries(ctx, map[string]any{
		"tenantId": p.o.TenantID, "collection": p.o.Collection, "records": records,
		"idempotencyKey": fmt.Sprintf("%s-%d", p.st.Run, i), "dryRun": p.o.DryRun,
	}, p.o.Attempts, p.o.Backoff)
	if err != nil {
		return err
	}
	for _, r := range rep.Rejected {
		if r.Index < 0 || r.Index >= len(p.calls[i]) {
			return fmt.Errorf("the API rejected record %d of a call of %d", r.Index, len(p.calls[i]))
		}
		field := ""
		if r.Field != nil {
			field = *r.Field
		}
		if err := p.rejections.add(p.in.items[p.calls[i][r.Index]], field, r.Reason); err != nil {
			return err
		}
	}
	p.st.Totals.Accepted += rep.Accepted
	p.st.Totals.AlreadyImported += rep.AlreadyImported
	p.st.Totals.Rejected += len(rep.Rejected)
	p.st.CallsDone = i + 1
	return p.checkpoint()
}

// checkpoint makes the rejections durable, then records the state (never for a dry run).
func (p *importRun) checkpoint() error {
	size, err := p.rejections.sync()
	if err != nil {
		return err
	}
	p.st.RejectionsSize = size
	if p.o.DryRun {
		return nil
	}
	return p.st.save(p.statePath)
}

// done ends a completed import: its state goes (the next run of the file starts a new import),
// and so does an empty rejections file.
func (p *importRun) done() error {
	if !p.o.DryRun {
		if err := os.Remove(p.statePath); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if p.st.Totals.Rejected == 0 {
		return p.rejections.remove()
	}
	return nil
}

// progressBar shows records sent of the file's, records per second and the time left.
func (p *importRun) progressBar() *progressbar.ProgressBar {
	if p.o.Progress == nil {
		return nil
	}
	total := 0
	for _, c := range p.calls {
		total += len(c)
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.o.Progress),
		progressbar.OptionSetDescription(p.o.Collection),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.o.Progress) }),
	)
	done := 0
	for _, c := range p.calls[:p.st.CallsDone] {
		done += len(c)
	}
	_ = bar.Set(done)
	return bar
}

// cut splits the sendable items into calls of at most batch records and maxBytes of JSON; the
// same input always gives the same calls, which resuming relies on.
func cut(items []item, batch, maxBytes int) [][]int {
	var calls [][]int
	var cur []int
	size := 0
	for i, it := range items {
		if it.bad != "" {
			continue
		}
		b, _ := json.Marshal(it.record)
		if len(cur) > 0 && (len(cur) == batch || size+len(b) > maxBytes) {
			calls, cur, size = append(calls, cur), nil, 0
		}
		cur = append(cur, i)
		size += len(b)
	}
	if len(cur) > 0 {
		calls = append(calls, cur)
	}
	return calls
}

// columnTypes are the JSON Schema types of the collection's top-level fields, for CSV cells.
func columnTypes(d *appdecl.Declaration, collection string) map[string]string {
	types := map[string]string{}
	if d == nil {
		return types
	}
	col, ok := d.Collection(collection)
	if !ok || col.Schema == nil {
		return types
	}
	for _, prop := range col.Schema.Properties {
		if prop.Schema != nil {
			types[prop.Name] = prop.Schema.Type
		}
	}
	return types
}
