package importclient

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrorField is the key (NDJSON) or column (CSV) that the rejections file adds to each record
// with the reason; reading a file drops it, so a fixed rejections file imports as it is.
const ErrorField = "_error"

// Format is an input file's format, from its extension.
type Format int

// Formats.
const (
	NDJSON Format = iota // .ndjson or .jsonl: one JSON object per line
	CSV                  // .csv: a header row of field names, then one record per row
)

// FormatOf picks the format from the file name.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ndjson", ".jsonl":
		return NDJSON, nil
	case ".csv":
		return CSV, nil
	}
	return 0, fmt.Errorf("%s: use a .ndjson (or .jsonl) file with one JSON object per line, or a .csv file with a header row", path)
}

// item is one record of the input file: where it is, what it says, and, when it cannot be sent,
// why.
type item struct {
	line   int            // 1-based line (NDJSON) or row (CSV, the header being row 1)
	record map[string]any // the record to send (numbers as json.Number)
	cells  []string       // CSV: the row as read (without the _error column)
	raw    string         // NDJSON: the line, for a line that is not a JSON object
	bad    string         // not "" when the record cannot be sent: the reason
}

// input is a parsed input file.
type input struct {
	format Format
	header []string // CSV: the header (without the _error column)
	items  []item
}

// readInput reads and parses the whole file; types gives CSV columns' JSON Schema types.
func readInput(path string, format Format, types map[string]string) (input, error) {
	f, err := os.Open(path)
	if err != nil {
		return input{}, err
	}
	defer f.Close()
	if format == CSV {
		return readCSV(f, types)
	}
	return readNDJSON(f)
}

func readNDJSON(r io.Reader) (input, error) {
	in := input{format: NDJSON}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		it := item{line: n, raw: line}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil || rec == nil || dec.More() {
			it.bad = fmt.Sprintf("line %d is not one JSON object; write each record as {\"id\": \"…\", …} on a line of its own", n)
		} else {
			delete(rec, ErrorField)
			it.record = rec
		}
		in.items = append(in.items, it)
	}
	return in, sc.Err()
}

func readCSV(r io.Reader, types map[string]string) (input, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return input{format: CSV}, nil
	}
	if err != nil {
		return input{}, fmt.Errorf("read the CSV header: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // a spreadsheet's byte order mark
	skip := -1
	for i, h := range header {
		if h == ErrorField {
			skip = i
		}
	}
	in := input{format: CSV, header: without(header, skip)}
	for row := 2; ; row++ {
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return in, nil
		}
		it := item{line: row}
		if err != nil {
			it.bad = fmt.Sprintf("row %d is not valid CSV: %v", row, err)
			in.items = append(in.items, it)
			continue
		}
		it.cells = without(cells, skip)
		it.record, it.bad = csvRecord(in.header, it.cells, types, row)
		in.items = append(in.items, it)
	}
}

func without(cells []string, i int) []string {
	if i < 0 || i >= len(cells) {
		return cells
	}
	return append(append([]string{}, cells[:i]...), cells[i+1:]...)
}

// csvRecord makes a record of a CSV row: an empty cell leaves its field out, and a column the
// collection's schema types as integer, number or boolean is sent as one when the cell reads as
// one (otherwise as the text, which the server then rejects with the schema's reason).
func csvRecord(header, cells []string, types map[string]string, row int) (map[string]any, string) {
	if len(cells) != len(header) {
		return nil, fmt.Sprintf("row %d has %d cells and the header %d; give every row one cell per column", row, len(cells), len(header))
	}
	rec := map[string]any{}
	for i, name := range header {
		if cells[i] == "" {
			continue
		}
		rec[name] = typedCell(cells[i], types[name])
	}
	return rec, ""
}

func typedCell(s, schemaType string) any {
	switch schemaType {
	case "integer", "number":
		if _, err := strconv.ParseFloat(s, 64); err == nil && json.Valid([]byte(s)) {
			return json.Number(s)
		}
	case "boolean":
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return s
}

// encodeRecord writes a record as one JSON line: "id" first, the other fields sorted, then the
// reason (for the rejections file) when not "".
func encodeRecord(rec map[string]any, reason string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	add := func(k string, v any) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	if id, ok := rec["id"]; ok {
		add("id", id)
	}
	for _, k := range slices.Sorted(maps.Keys(rec)) {
		if k != "id" {
			add(k, rec[k])
		}
	}
	if reason != "" {
		add(ErrorField, reason)
	}
	b.WriteByte('}')
	return b.Bytes()
}
