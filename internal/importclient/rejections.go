package importclient

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// rejections is the file of rejected records, next to the input and in its format: each record
// as it was read, plus the reason in ErrorField ("field: reason"). Fix the records and import
// that file: ErrorField is dropped when it is read.
type rejections struct {
	path   string
	format Format
	header []string
	f      *os.File
	csv    *csv.Writer
}

// RejectionsPath is where the rejections of an import of path go: data.ndjson gives
// data.rejected.ndjson.
func RejectionsPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".rejected" + ext
}

func openRejections(input string, in input) (*rejections, error) {
	path := RejectionsPath(input)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	r := &rejections{path: path, format: in.format, header: in.header, f: f}
	if in.format == CSV {
		r.csv = csv.NewWriter(f)
	}
	return r, nil
}

// reset empties the file (a CSV file keeps a header row).
func (r *rejections) reset() error {
	if err := r.truncate(0); err != nil {
		return err
	}
	if r.format == CSV {
		return r.csv.Write(append(append([]string{}, r.header...), ErrorField))
	}
	return nil
}

// truncate cuts the file at size and appends from there.
func (r *rejections) truncate(size int64) error {
	if err := r.f.Truncate(size); err != nil {
		return err
	}
	_, err := r.f.Seek(size, io.SeekStart)
	return err
}

// add writes one rejected record with its reason.
func (r *rejections) add(it item, field, reason string) error {
	if field != "" {
		reason = field + ": " + reason
	}
	if r.format == CSV {
		return r.csv.Write(append(append([]string{}, it.cells...), reason))
	}
	rec := it.record
	if rec == nil {
		rec = map[string]any{"_raw": it.raw}
	}
	_, err := r.f.Write(append(encodeRecord(rec, reason), '\n'))
	return err
}

// sync makes what was added durable and returns the file's size.
func (r *rejections) sync() (int64, error) {
	if r.csv != nil {
		r.csv.Flush()
		if err := r.csv.Error(); err != nil {
			return 0, err
		}
	}
	if err := r.f.Sync(); err != nil {
		return 0, err
	}
	return r.f.Seek(0, io.SeekCurrent)
}

// remove deletes the file (nothing was rejected).
func (r *rejections) remove() error {
	r.close()
	if err := os.Remove(r.path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func (r *rejections) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}
