package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/tenantry/tenantry/internal/reqctx"
)

func TestSelectionDepth(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `
		type Query { a: A }
		type A { b: A, leaf: Int }`})
	for q, want := range map[string]int{
		`{ a { leaf } }`:                                2,
		`{ a { b { b { leaf } } } }`:                    4,
		`{ a { ...F } } fragment F on A { b { leaf } }`: 3,
		`{ a { ... on A { b { b { leaf } } } } }`:       4,
	} {
		doc, err := gqlparser.LoadQueryWithRules(schema, q, nil)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got := selectionDepth(doc.Operations[0].SelectionSet, doc.Fragments, 0); got != want {
			t.Errorf("%s: depth %d, want %d", q, got, want)
		}
	}
}

func TestJSONBodyGuard(t *testing.T) {
	var reached atomic.Int32
	h := withJSONBody(bodyLimits{max: 1024}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"ok", "application/json", `{"query":"{plans{id}}"}`, 200},
		{"no content type", "", `{"query":"{plans{id}}"}`, 200},
		{"too large", "application/json", `{"query":"` + strings.Repeat("x", 2000) + `"}`, http.StatusRequestEntityTooLarge},
		{"not json", "application/json", `{"query":`, http.StatusBadRequest},
		{"form", "application/x-www-form-urlencoded", `query=x`, http.StatusUnsupportedMediaType},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(tc.body))
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, rec.Code, tc.want, rec.Body)
		}
		if tc.want != 200 && !strings.Contains(rec.Body.String(), CodeBadUserInput) {
			t.Errorf("%s: body %s lacks the contract code", tc.name, rec.Body)
		}
	}
	if reached.Load() != 2 {
		t.Errorf("handler reached %d times, want 2", reached.Load())
	}
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond) // a slow provisioning call in flight during SIGTERM
		_, _ = w.Write([]byte("done"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, 5*time.Second) }()

	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-started
	cancel() // what SIGTERM does through signal.NotifyContext
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %+v, want 200 done", r)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

// The id a panic's INTERNAL answer quotes, and the one the domain records, is the server's own,
// never the client's X-Request-Id (issue 10, item 8).
func TestInternalErrorsQuoteTheServersRequestID(t *testing.T) {
	var recorded string
	h := withRequestID(withAccessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recorded = reqctx.RequestID(r.Context())
		panic("boom")
	})))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{}`))
	req.Header.Set("X-Request-Id", "forged-1234567")
	h.ServeHTTP(rec, req)

	id := rec.Header().Get("X-Request-Id")
	if id == "" || id == "forged-1234567" || recorded != id {
		t.Fatalf("X-Request-Id %q, recorded %q; want one id of the server's", id, recorded)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "quote request id "+id) || strings.Contains(body, "forged") {
		t.Errorf("INTERNAL answer %s; want it to quote %s and not the client's id", body, id)
	}
}
