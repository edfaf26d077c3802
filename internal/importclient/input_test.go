package importclient

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCSVTypesBySchema(t *testing.T) {
	csv := "\ufeffid,name,minutes,price,active,notes,_error\n" +
		"a-1,Ada,30,12.5,true,,clientId: old reason\n" +
		"a-2,Bea,thirty,1e3,maybe,\"a, b\",\n" +
		"a-3,short row\n"
	in, err := readCSV(strings.NewReader(csv), map[string]string{"minutes": "integer", "price": "number", "active": "boolean"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(in.header, ",") != "id,name,minutes,price,active,notes" || len(in.items) != 3 {
		t.Fatalf("header %v, %d items", in.header, len(in.items))
	}
	got, _ := json.Marshal(in.items[0].record)
	if string(got) != `{"active":true,"id":"a-1","minutes":30,"name":"Ada","price":12.5}` {
		t.Errorf("row 2: %s", got)
	}
	got, _ = json.Marshal(in.items[1].record)
	if string(got) != `{"active":"maybe","id":"a-2","minutes":"thirty","name":"Bea","notes":"a, b","price":1e3}` {
		t.Errorf("row 3 (cells that do not read as their type stay text): %s", got)
	}
	if in.items[2].bad == "" || in.items[2].line != 4 {
		t.Errorf("short row: %+v", in.items[2])
	}
}

func TestReadNDJSON(t *testing.T) {
	in, err := readNDJSON(strings.NewReader("{\"id\":\"a\",\"n\":1.50,\"_error\":\"x\"}\n\n[1]\n{\"id\":\"b\"} {\"id\":\"c\"}\nnot json\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.items) != 4 {
		t.Fatalf("%d items", len(in.items))
	}
	if got, _ := json.Marshal(in.items[0].record); string(got) != `{"id":"a","n":1.50}` {
		t.Errorf("line 1: %s (numbers as written, _error dropped)", got)
	}
	for _, it := range in.items[1:] {
		if it.bad == "" {
			t.Errorf("line %d accepted: %q", it.line, it.raw)
		}
	}
	if in.items[1].line != 3 {
		t.Errorf("line numbers skip blank lines wrongly: %d", in.items[1].line)
	}
}

func TestCut(t *testing.T) {
	var items []item
	for i := range 1203 {
		items = append(items, item{record: map[string]any{"id": strings.Repeat("x", i%7)}})
	}
	items[10].bad = "cannot be sent"
	calls := cut(items, 500, 1<<20)
	if len(calls) != 3 || len(calls[0]) != 500 || len(calls[2]) != 202 {
		t.Fatalf("calls of %d, %d, …", len(calls[0]), len(calls[1]))
	}
	for _, c := range calls {
		for _, i := range c {
			if i == 10 {
				t.Fatal("a record that cannot be sent was sent")
			}
		}
	}
	small := cut(items[:20], 500, 100)
	for _, c := range small {
		size := 0
		for _, i := range c {
			b, _ := json.Marshal(items[i].record)
			size += len(b)
		}
		if size > 100 && len(c) > 1 {
			t.Errorf("a call of %d bytes", size)
		}
	}
}

// A rejections file reads back as input: the reason is dropped and the record is as it was.
func TestRejectionsFileReadsBack(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"data.ndjson", "data.csv"} {
		src := filepath.Join(dir, name)
		body := "{\"id\":\"a-1\",\"minutes\":30,\"name\":\"Ada\"}\n"
		if strings.HasSuffix(name, ".csv") {
			body = "id,name,minutes\na-1,Ada,30\n"
		}
		if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		format, _ := FormatOf(src)
		types := map[string]string{"minutes": "integer"}
		in, err := readInput(src, format, types)
		if err != nil {
			t.Fatal(err)
		}
		r, err := openRejections(src, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.reset(); err != nil {
			t.Fatal(err)
		}
		if err := r.add(in.items[0], "clientId", "no clients document"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.sync(); err != nil {
			t.Fatal(err)
		}
		r.close()
		raw, _ := os.ReadFile(RejectionsPath(src))
		if !strings.Contains(string(raw), "clientId: no clients document") {
			t.Errorf("%s: %s lacks the reason", name, raw)
		}
		back, err := readInput(RejectionsPath(src), format, types)
		if err != nil || len(back.items) != 1 {
			t.Fatalf("%s: read back: %v", name, err)
		}
		a, _ := json.Marshal(in.items[0].record)
		b, _ := json.Marshal(back.items[0].record)
		if string(a) != string(b) {
			t.Errorf("%s: read back %s, want %s", name, b, a)
		}
	}
}

func TestStateSameImport(t *testing.T) {
	a := state{Version: stateVersion, Run: "r1", InputHash: "h", Collection: "c", TenantID: "t", Batch: 500, MaxBytes: 1}
	b := a
	b.Run, b.CallsDone = "r2", 3
	if !a.sameImport(b) {
		t.Error("the same import with another run")
	}
	b.InputHash = "changed"
	if a.sameImport(b) {
		t.Error("a changed input resumes")
	}
}
