// Package reqctx carries the request id from the HTTP layer to the domain, which records it in
// history and audit entries. It exists so the domain can read the id without importing the
// server package (and net/http with it).
package reqctx

import "context"

type requestIDKey struct{}

// TraceAttribute is the span attribute that carries the request id (telemetry.RequestIDKey).
const TraceAttribute = "tenantry.request_id"

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id stored by WithRequestID, or "" (a job run or a test without one).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the client's address (the connection's peer), for the
// limits on public operations.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP returns the address stored by WithClientIP, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}
