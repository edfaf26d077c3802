package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/reqctx"
)

type (
	requestIDKey       struct{}
	clientRequestIDKey struct{}
)

// RequestID returns the request's id, which the server made, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// ClientRequestID returns the X-Request-Id the client (or a proxy) sent, when it was sane, or "".
// It only correlates: anyone can send any value, so it is never the request's id.
func ClientRequestID(ctx context.Context) string {
	id, _ := ctx.Value(clientRequestIDKey{}).(string)
	return id
}

// ClientRequestIDHeader echoes a client's accepted X-Request-Id; X-Request-Id itself always
// answers with the server's id, the one recorded in history and audit entries and quoted in
// INTERNAL errors.
const ClientRequestIDHeader = "X-Client-Request-Id"

var validClientRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// withRequestID gives every request an id of the server's own, which the domain records in
// history and audit entries (reqctx), so an operator can trust it: a client cannot choose it. A
// sane X-Request-Id from the client or a proxy is kept as a correlation id beside it (logged as
// client_request_id and echoed in X-Client-Request-Id); anything else is dropped. The peer's
// address goes along too (reqctx.ClientIP), for the limits on public operations.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := rand.Text()[:16]
		ctx := reqctx.WithRequestID(context.WithValue(r.Context(), requestIDKey{}, id), id)
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ctx = reqctx.WithClientIP(ctx, host)
		}
		w.Header().Set("X-Request-Id", id)
		markRequest(ctx, id)
		if client := r.Header.Get("X-Request-Id"); validClientRequestID.MatchString(client) {
			ctx = context.WithValue(ctx, clientRequestIDKey{}, client)
			w.Header().Set(ClientRequestIDHeader, client)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ContextHandler adds the request id of the record's context to every log line, so every line
// of a request can be found by the id the client was given, and the client's own id beside it.
type ContextHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if id := ClientRequestID(ctx); id != "" {
		r.AddAttrs(slog.String("client_request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// withAccessLog logs one line per request (never headers or bodies: they carry tokens) and
// recovers panics outside GraphQL execution.
func withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				slog.ErrorContext(r.Context(), "panic in HTTP handler", "panic", p, "stack", stack())
				if rec.status == 0 {
					writeError(rec, http.StatusInternalServerError, CodeInternal, "Something went wrong on our side. Try again; if it keeps failing, contact support and quote request id "+RequestID(r.Context())+".")
				}
			}
			slog.InfoContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
}

func stack() string { return string(debug.Stack()) }

// writeError answers outside GraphQL execution in the GraphQL response shape, so clients
// handle every failure the same way.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"data":   nil,
		"errors": []map[string]any{{"message": message, "extensions": map[string]any{"code": code}}},
	})
}

// bodyLimits bound request bodies: max for every request; bulk, when larger, for an
// authenticated caller's request whose every root field is one of bulkOps (importRecords takes
// up to 500 records a call).
type bodyLimits struct {
	max     int64
	bulk    int64
	bulkOps []string
}

// readLimit is how much of r's body may be read: bulk for an authenticated caller (a service
// token or a verified ID token), so an anonymous request never costs more than max.
func (l bodyLimits) readLimit(r *http.Request) int64 {
	_, user := auth.FromContext(r.Context())
	_, service := auth.ServiceFromContext(r.Context())
	if l.bulk > l.max && (user || service) {
		return l.bulk
	}
	return l.max
}

// allows reports whether a body of this size may go on: up to max always, beyond only when
// every root field of every operation in it is a bulk operation.
func (l bodyLimits) allows(body []byte) bool {
	if int64(len(body)) <= l.max {
		return true
	}
	var req struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(body, &req) != nil {
		return false
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil || len(doc.Operations) == 0 {
		return false
	}
	for _, op := range doc.Operations {
		for _, sel := range op.SelectionSet {
			f, ok := sel.(*ast.Field)
			if !ok || !slices.Contains(l.bulkOps, f.Name) {
				return false
			}
		}
	}
	return true
}

// withJSONBody bounds the body and rejects what is not a JSON value before gqlgen sees it, so an
// oversized or malformed request gets a clear, coded answer and costs no more than the limit.
func withJSONBody(limits bodyLimits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		switch ct := r.Header.Get("Content-Type"); {
		case ct == "":
			// curl and some fetch wrappers omit it; the body is checked to be JSON below.
			r.Header.Set("Content-Type", "application/json")
		case !strings.HasPrefix(strings.ToLower(ct), "application/json"):
			writeError(w, http.StatusUnsupportedMediaType, CodeBadUserInput, "Send the request with Content-Type application/json.")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limits.readLimit(r)))
		if err == nil && !limits.allows(body) {
			err = &http.MaxBytesError{Limit: limits.max}
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, http.StatusRequestEntityTooLarge, CodeBadUserInput,
					"The request body is larger than the server accepts; send smaller requests (split batches).")
				return
			}
			writeError(w, http.StatusBadRequest, CodeBadUserInput, "The request body could not be read; send it again.")
			return
		}
		if !json.Valid(body) {
			writeError(w, http.StatusBadRequest, CodeBadUserInput,
				`The request body is not valid JSON; send {"query": "...", "variables": {...}} with Content-Type application/json.`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
