package export

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"
)

// ObjectName is where an export's archive lives in the bucket.
func ObjectName(tenantID, exportID string) string {
	return "exports/" + tenantID + "/" + exportID + ".tar.gz"
}

// Manifest is manifest.json, the archive's first file.
type Manifest struct {
	TenantID   string         `json:"tenantId"`
	ExportID   string         `json:"exportId"`
	CreatedAt  time.Time      `json:"createdAt"`
	Tenant     map[string]any `json:"tenant"`
	Counts     map[string]int `json:"counts"`
	Documents  int            `json:"documents"`
	Files      []string       `json:"files"`
	Excluded   []string       `json:"excluded"`
	LineFormat string         `json:"lineFormat"`
}

// line is one NDJSON line: a document's id, its path below the tenant, and its fields.
type line struct {
	ID   string         `json:"id"`
	Path string         `json:"path"`
	Data map[string]any `json:"data"`
}

// spool holds each collection's NDJSON in a temporary file while the walk runs: a tar entry's
// header carries its size, so a file cannot be streamed into the archive before it is complete.
// Memory stays bounded by one chunk of documents whatever the tenant's size; the archive itself
// is streamed into the bucket.
type spool struct {
	dir    string
	files  map[string]*spoolFile
	counts map[string]int
	total  int
}

type spoolFile struct {
	f *os.File
	w *bufio.Writer
}

func newSpool(parent string) (*spool, error) {
	dir, err := os.MkdirTemp(parent, "tenantry-export-*")
	if err != nil {
		return nil, fmt.Errorf("create the export's temporary directory: %w", err)
	}
	return &spool{dir: dir, files: map[string]*spoolFile{}, counts: map[string]int{}}, nil
}

// remove deletes the temporary files.
func (sp *spool) remove() {
	for _, f := range sp.files {
		_ = f.f.Close()
	}
	_ = os.RemoveAll(sp.dir)
}

// add appends docs to the collection's file.
func (sp *spool) add(collection string, docs []Document) error {
	sf, ok := sp.files[collection]
	if !ok {
		f, err := os.CreateTemp(sp.dir, "collection-*")
		if err != nil {
			return fmt.Errorf("spool %s: %w", collection, err)
		}
		sf = &spoolFile{f: f, w: bufio.NewWriter(f)}
		sp.files[collection] = sf
	}
	enc := json.NewEncoder(sf.w)
	for _, d := range docs {
		if err := enc.Encode(line{ID: path.Base(d.Path), Path: d.Path, Data: d.Data}); err != nil {
			return fmt.Errorf("spool %s: %w", d.Path, err)
		}
	}
	sp.counts[collection] += len(docs)
	sp.total += len(docs)
	return nil
}

// collections lists the spooled collections, sorted.
func (sp *spool) collections() []string {
	out := make([]string, 0, len(sp.files))
	for c := range sp.files {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// countingWriter counts the bytes that reach the bucket.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeArchive streams manifest.json, then one <collection>.ndjson per spooled collection, as a
// tar.gz into w; it returns the compressed size.
func (sp *spool) writeArchive(w io.Writer, m Manifest, at time.Time) (int64, error) {
	cw := &countingWriter{w: w}
	gz := gzip.NewWriter(cw)
	tw := tar.NewWriter(gz)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("encode the manifest: %w", err)
	}
	if err := writeEntry(tw, "manifest.json", int64(len(manifest)), at, bytes.NewReader(manifest)); err != nil {
		return 0, err
	}
	for _, c := range sp.collections() {
		if err := sp.copyCollection(tw, c, at); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, fmt.Errorf("finish the archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return 0, fmt.Errorf("finish the archive: %w", err)
	}
	return cw.n, nil
}

func (sp *spool) copyCollection(tw *tar.Writer, collection string, at time.Time) error {
	sf := sp.files[collection]
	if err := sf.w.Flush(); err != nil {
		return fmt.Errorf("spool %s: %w", collection, err)
	}
	size, err := sf.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("spool %s: %w", collection, err)
	}
	if _, err := sf.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool %s: %w", collection, err)
	}
	return writeEntry(tw, collection+".ndjson", size, at, sf.f)
}

func writeEntry(tw *tar.Writer, name string, size int64, at time.Time, r io.Reader) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s into the archive: %w", name, err)
	}
	if _, err := io.CopyN(tw, r, size); err != nil {
		return fmt.Errorf("write %s into the archive: %w", name, err)
	}
	return nil
}

// build walks the tenant into a spool and streams the archive into the bucket; it returns the
// export with its counts, size and object set. progress, if not nil, gets the documents read so far.
func (s *Service) build(ctx context.Context, e Export, progress func(docs int)) (Export, error) {
	tenantDoc, err := s.store.TenantDocument(ctx, e.TenantID)
	if err != nil {
		return Export{}, err
	}
	sp, err := newSpool(s.cfg.SpoolDir)
	if err != nil {
		return Export{}, err
	}
	defer sp.remove()
	err = s.store.Walk(ctx, e.TenantID, func(collection string, docs []Document) error {
		if err := sp.add(collection, docs); err != nil {
			return err
		}
		if progress != nil {
			progress(sp.total)
		}
		return nil
	})
	if err != nil {
		return Export{}, fmt.Errorf("read the documents of tenant %s: %w", e.TenantID, err)
	}
	now := s.clock.Now()
	m := Manifest{
		TenantID: e.TenantID, ExportID: e.ID, CreatedAt: now, Tenant: tenantDoc, Counts: sp.counts, Documents: sp.total,
		Excluded:   s.store.Excluded(),
		LineFormat: `one JSON object per line: {"id", "path" (below the tenant), "data" (the document's fields; timestamps as RFC 3339, references as paths)}`,
	}
	for _, c := range sp.collections() {
		m.Files = append(m.Files, c+".ndjson")
	}
	e.Object = ObjectName(e.TenantID, e.ID)
	if e.SizeBytes, err = s.upload(ctx, sp, e.Object, m, now); err != nil {
		return Export{}, err
	}
	e.Counts, e.Documents = sp.counts, sp.total
	return e, nil
}

// upload writes the archive to the bucket; the object is replaced only if everything succeeded,
// so a retried export overwrites the same object and never leaves half an archive.
func (s *Service) upload(ctx context.Context, sp *spool, object string, m Manifest, at time.Time) (int64, error) {
	if s.cfg.Prepare != nil {
		if err := s.cfg.Prepare(ctx); err != nil {
			return 0, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // abandons the upload when writing failed
	w := s.bucket.Create(ctx, object, "application/gzip")
	size, err := sp.writeArchive(w, m, at)
	if err != nil {
		cancel()
		_ = w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("store the archive %s: %w", object, err)
	}
	return size, nil
}
